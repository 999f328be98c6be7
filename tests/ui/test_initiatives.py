"""The Pathways page's Initiatives tab: the list with its detail pane and sessions, the add dialog
by keyboard, reviews, delete for coordinators only (with a reason and a question), and at the
office the national map with its gaps marked in colour and in words."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt

from srcdesk.services import community, sessions
from srcdesk.ui.initiatives import (
    GAP_BACKGROUND,
    DeleteInitiativeDialog,
    InitiativeDialog,
    InitiativesView,
    ReviewDialog,
)

from ..conftest import as_role
from .conftest import WAIT_MS, mnemonics

TODAY = dt.date.today()
DAY = dt.timedelta(days=1)


def _view(qtbot, ctx) -> InitiativesView:  # noqa: ANN001
    view = InitiativesView(ctx)
    qtbot.addWidget(view)
    view.resize(1100, 600)
    with qtbot.waitSignal(view.loaded, timeout=WAIT_MS):
        view.show()
        view.refresh()
    return view


def _texts(view: InitiativesView, row: int) -> list[str]:
    return [view.model.index(row, c).data() for c in range(view.model.columnCount())]


def test_the_list_its_sessions_and_adding_by_keyboard(qtbot, recorder) -> None:  # noqa: ANN001
    cafe = community.create_initiative(recorder, kind="recovery_cafe", name="Perth Recovery Café", run_by="peers",
                                       meeting_pattern="Tuesdays 14:00", started_on=dt.date(2024, 5, 1),
                                       review_due_on=TODAY - 2 * DAY)
    sessions.create_session(recorder, date=TODAY - DAY, start_time="14:00", end_time="15:00",
                            activity_type_id="act-cafe", initiative_id=cafe.id)
    view = _view(qtbot, recorder)
    assert not view.mode_row.isVisible() and not view.establishment_filter.isVisible()  # (the office's)
    texts = _texts(view, 0)
    assert texts[:5] + texts[6:] == ["Perth Recovery Café", "Recovery café", "Running since 1 May 2024", "Peers",
                                     "Tuesdays 14:00", "1"]
    assert _texts(view, 0)[5].startswith("⚠ ")
    assert view.model.index(0, 5).data(Qt.ItemDataRole.ToolTipRole) == "The review is overdue."
    # Choosing it: the detail pane and the sessions that belong to it.
    with qtbot.waitSignal(view.sessions_loaded, timeout=WAIT_MS):
        view.table.selectRow(0)
    assert "Perth Recovery Café" in view.detail.text() and "overdue" in view.detail.text()
    assert view.sessions_model.rowCount() == 1 and view.sessions_model.index(0, 2).data() == "0 of 0"
    # A recorder may not delete: the button says why.
    assert not view.delete_button.isEnabled() and "Only a coordinator" in view.delete_button.toolTip()
    assert view.add_button.isVisible() and not view.read_only_note.isVisible()
    # Mnemonics are unique, with the page's tabs and the menus (Alt+F/G/H, Alt+I/O/R).
    keys = mnemonics(view) + ["f", "g", "h", "i", "o", "r"]
    assert len(keys) == len(set(keys)), keys

    # Add by keyboard: Alt+A, type, Enter.
    view.activateWindow()
    view.table.setFocus()
    qtbot.keyClick(view.table, Qt.Key.Key_A, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: isinstance(view.dialog, InitiativeDialog), timeout=WAIT_MS)
    dialog = view.dialog
    qtbot.waitUntil(dialog.name.hasFocus, timeout=WAIT_MS)
    keys = mnemonics(dialog)
    assert len(keys) == len(set(keys)), keys
    qtbot.keyClicks(dialog.name, "SMART Recovery")
    qtbot.keyClick(dialog.name, Qt.Key.Key_Tab)
    assert dialog.kind.hasFocus()
    qtbot.keyClicks(dialog.kind, "Mutual")
    assert dialog.kind.currentData() == "mutual_aid"
    dialog.meeting.setFocus()
    qtbot.keyClicks(dialog.meeting, "Thursdays 18:00")
    with qtbot.waitSignal(view.loaded, timeout=WAIT_MS):
        qtbot.keyClick(dialog.meeting, Qt.Key.Key_Return)
    rows = {r.name: r for r in view.model.rows}
    assert rows["SMART Recovery"].kind == "mutual_aid" and rows["SMART Recovery"].meeting_pattern == "Thursdays 18:00"
    assert "Added SMART Recovery." in view.status.text()

    # Bad input is shown under its field, nothing lost.
    view.table.selectRow(view.model.find(lambda r: r.name == "SMART Recovery"))
    view.edit_button.click()
    dialog = view.findChild(InitiativeDialog)
    dialog.status_combo.setCurrentIndex(dialog.status_combo.findData("ended"))
    dialog.ended.setText("01/01/2099")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: bool(dialog.errors["ended_on"].text()), timeout=WAIT_MS)
    assert "in the future" in dialog.errors["ended_on"].text()
    assert dialog.isVisible() and dialog.ended.text() == "01/01/2099"
    dialog.close()


def test_overdue_is_judged_on_the_date_the_app_shows_as_today(qtbot, recorder, monkeypatch) -> None:  # noqa: ANN001
    from srcdesk.ui.pages import today as today_page

    shown = TODAY - 30 * DAY  # the Today page's date (tests and screenshots freeze it inside the data)
    monkeypatch.setattr(today_page, "today", lambda: shown)
    community.create_initiative(recorder, kind="recovery_cafe", name="Perth Recovery Café", run_by="peers",
                                started_on=dt.date(2024, 5, 1), review_due_on=TODAY - 2 * DAY)
    view = _view(qtbot, recorder)
    assert view.today() == shown
    assert not _texts(view, 0)[5].startswith("⚠ ")  # due 28 days after the date shown: not overdue yet
    assert view.model.index(0, 5).data(Qt.ItemDataRole.ToolTipRole) is None


def test_recording_a_review(qtbot, recorder) -> None:  # noqa: ANN001
    community.create_initiative(recorder, kind="recovery_community", name="Perth RC")
    view = _view(qtbot, recorder)
    view.table.selectRow(0)
    view.review_button.click()
    dialog = view.findChild(ReviewDialog)
    dialog.findings.setPlainText("Going well.")
    with qtbot.waitSignal(view.loaded, timeout=WAIT_MS):
        dialog.save_button.click()
    r = view.model.row(0)
    assert (r.last_reviewed_on, r.review_notes) == (TODAY, "Going well.") and r.review_due_on > TODAY


def test_a_coordinator_deletes_with_a_reason_and_a_question(qtbot, coordinator) -> None:  # noqa: ANN001
    community.create_initiative(coordinator, kind="recovery_cafe", name="Entered twice")
    view = _view(qtbot, coordinator)
    view.table.selectRow(0)
    assert view.delete_button.isEnabled()
    view.delete_button.click()
    dialog = view.findChild(DeleteInitiativeDialog)
    dialog.save_button.click()  # no reason: asked for one
    assert "Say why" in dialog.errors["reason"].text()
    dialog.reason.setText("Entered twice")
    dialog.save_button.click()
    box = dialog.question_box
    assert box is not None and "Delete Entered twice" in box.text()
    with qtbot.waitSignal(view.loaded, timeout=WAIT_MS):
        box.findChild(type(dialog.save_button), "confirmYes").click()
    assert view.model.rowCount() == 0 and community.list_initiatives(coordinator) == []


def test_the_office_map_highlights_gaps(qtbot, office) -> None:  # noqa: ANN001
    o = as_role(office, "recorder", "otto")
    community.create_initiative(o, kind="recovery_cafe", name="Perth café", establishment_id="est-per",
                                review_due_on=TODAY - DAY)
    community.create_initiative(o, kind="recovery_cafe", name="Barlinnie café", establishment_id="est-bar")
    view = _view(qtbot, o)
    assert view.mode_row.isVisible() and view.establishment_filter.isVisible()
    keys = mnemonics(view) + ["f", "g", "h", "i", "o", "r"]
    assert len(keys) == len(set(keys)), keys
    assert [r.establishment_code for r in view.model.rows] == ["BAR", "PER"]
    view.show_map.click()
    assert view.stack.currentIndex() == 1 and view.map_table.hasFocus()
    m = view.map_model
    per = next(i for i in range(m.rowCount()) if m.row(i).code == "PER")
    cafe_col = 1 + m.kinds.index("recovery_cafe")
    rc_col = 1 + m.kinds.index("recovery_community")
    cafe, gap = m.index(per, cafe_col), m.index(per, rc_col)
    assert cafe.data() == "1" and "Perth café" in cafe.data(Qt.ItemDataRole.ToolTipRole)
    assert cafe.data(Qt.ItemDataRole.BackgroundRole) is None
    assert gap.data() == "Gap" and gap.data(Qt.ItemDataRole.BackgroundRole) == GAP_BACKGROUND
    assert m.index(per, m.columnCount() - 1).data().startswith("⚠ ")  # the review overdue
    assert "gaps" in view.map_summary.text()
    keys = mnemonics(view) + ["f", "g", "h", "i", "o", "r"]
    assert len(keys) == len(set(keys)) and "n" in keys, keys
    # Enter on a cell lists that establishment's initiatives of that type.
    view.map_table.setCurrentIndex(cafe)
    with qtbot.waitSignal(view.loaded, timeout=WAIT_MS):
        qtbot.keyClick(view.map_table, Qt.Key.Key_Return)
    assert view.stack.currentIndex() == 0
    assert [r.name for r in view.model.rows] == ["Perth café"]
    assert view.kind_filter.currentData() == "recovery_cafe" and view.establishment_filter.currentData() == "est-per"


def test_the_session_dialog_offers_the_establishments_initiatives(qtbot, recorder) -> None:  # noqa: ANN001
    from srcdesk.ui.session_dialog import SessionDialog

    cafe = community.create_initiative(recorder, kind="recovery_cafe", name="Perth Recovery Café")
    community.create_initiative(recorder, kind="mutual_aid", name="AA", status="ended",
                                started_on=TODAY - 30 * DAY, ended_on=TODAY - 3 * DAY)
    s = sessions.create_session(recorder, date=TODAY - DAY, start_time="14:00", end_time="15:00",
                                activity_type_id="act-cafe")
    dialog = SessionDialog(recorder, s.id)  # (deleted when it closes)
    with qtbot.waitSignal(dialog.loaded, timeout=WAIT_MS):
        dialog.show()
    items = [dialog.initiative.itemText(i) for i in range(dialog.initiative.count())]
    assert items[0] == "None" and "Perth Recovery Café" in items and any(t.startswith("AA (ended ") for t in items)
    assert dialog.initiative.currentData() is None
    dialog.initiative.setCurrentIndex(dialog.initiative.findText("Perth Recovery Café"))
    with qtbot.waitSignal(dialog.saved, timeout=WAIT_MS):
        dialog.save_button.click()
    assert sessions.get_session(recorder, s.id).initiative_id == cafe.id
    # The ended one, for a session after it ended: refused under the field, nothing lost.
    dialog = SessionDialog(recorder, s.id)  # (deleted when it closes)
    with qtbot.waitSignal(dialog.loaded, timeout=WAIT_MS):
        dialog.show()
    assert dialog.initiative.currentData() == cafe.id
    dialog.initiative.setCurrentIndex(next(i for i, t in enumerate(items) if t.startswith("AA")))
    dialog.save_button.click()
    qtbot.waitUntil(lambda: bool(dialog.initiative_error.text()), timeout=WAIT_MS)
    assert "before this session's date" in dialog.initiative_error.text()
    assert sessions.get_session(recorder, s.id).initiative_id == cafe.id
    dialog.deleteLater()
