"""The Sessions page and the session editor, used as a person would: keyboard first."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QApplication
from sqlalchemy import func, select

from srcdesk.models import Session
from srcdesk.services import sessions as session_service
from srcdesk.ui import session_dialog as session_dialog_module
from srcdesk.ui.pages.sessions import ANY_DATE, SessionsPage
from srcdesk.ui.session_dialog import KIND_ROLE, CancelSessionDialog, SessionDialog, qdate

from .conftest import DEMO_TODAY

WAIT = 5000


pytestmark = pytest.mark.usefixtures("demo_today")


@pytest.fixture
def page(qtbot, open_demo):  # noqa: ANN001, ANN201
    ctx = open_demo("rita")
    page = SessionsPage(ctx)
    qtbot.addWidget(page)
    page.resize(1200, 700)
    page.show()
    with qtbot.waitSignal(page.model.loaded, timeout=WAIT):
        page.activate()
    qtbot.waitUntil(lambda: page.what.count() > 1 and page.facilitator.count() > 1, timeout=WAIT)
    qtbot.waitUntil(lambda: not page.model.loading, timeout=WAIT)
    yield page
    for name in ("session_dialog", "cancel_dialog", "register_dialog"):
        dialog = getattr(page, name, None)
        try:
            if dialog is not None and dialog.isVisible():
                dialog._closing = True  # noqa: SLF001 - no "discard changes?" on teardown
                dialog.done(0)
        except RuntimeError:  # already deleted (WA_DeleteOnClose)
            pass


def _wait_reloaded(qtbot, page: SessionsPage) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: not page._timer.isActive() and not page.model.loading  # noqa: SLF001
                    and page.model.loaded_once, timeout=WAIT)


def _open_new(qtbot, page: SessionsPage) -> SessionDialog:  # noqa: ANN001
    before = getattr(page, "session_dialog", None)
    page.activateWindow()
    page.table.setFocus()
    qtbot.waitUntil(page.table.hasFocus, timeout=WAIT)
    qtbot.keyClick(page.table, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    dialog = page.session_dialog
    assert dialog is not before, "Ctrl+N did not open a new session"
    assert isinstance(dialog, SessionDialog) and dialog.session_id is None
    qtbot.waitUntil(lambda: dialog.ready, timeout=WAIT)
    return dialog


def _type_into(qtbot, edit, text: str) -> None:  # noqa: ANN001
    """Type a date or time as a person does after tabbing in: the first part is selected, each
    part moves on to the next when it is full ("21102026" is 21/10/2026, "1830" is 18:30)."""
    edit.setFocus()
    qtbot.wait(1)
    edit.setSelectedSection(edit.sectionAt(0))
    qtbot.keyClicks(edit, text)


_type_time = _type_date = _type_into


def _choose_what(qtbot, dialog: SessionDialog, typed: str, expected: str) -> None:  # noqa: ANN001
    """Type part of a module's or activity's name, pick the first suggestion with Down, Enter."""
    dialog.what.setFocus()
    qtbot.keyClicks(dialog.what, typed)
    popup = dialog.what.completer().popup()
    qtbot.waitUntil(popup.isVisible, timeout=WAIT)
    suggestions = dialog.what.completer().completionModel()
    position = next(i for i in range(suggestions.rowCount()) if suggestions.index(i, 0).data() == expected)
    for _ in range(position + 1):  # down to the wanted suggestion, as a person would
        qtbot.keyClick(popup, Qt.Key.Key_Down)
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    assert dialog.what.currentText() == expected
    assert dialog.what.itemText(dialog.what.currentIndex()) == expected


def _add_facilitator(qtbot, dialog: SessionDialog, name: str) -> None:  # noqa: ANN001
    picker = dialog.facilitators
    qtbot.keyClicks(picker.search, name)
    qtbot.waitUntil(lambda: not picker._timer.isActive() and not picker.results_model.loading  # noqa: SLF001
                    and picker.results_model.rowCount() > 0, timeout=WAIT)
    before = len(picker.people)
    qtbot.keyClick(picker.search, Qt.Key.Key_Return)
    assert len(picker.people) == before + 1


def test_record_a_session_by_keyboard(qtbot, page: SessionsPage, qtmodeltester) -> None:  # noqa: ANN001
    dialog = _open_new(qtbot, page)
    qtbot.waitUntil(dialog.what.hasFocus, timeout=WAIT)
    _choose_what(qtbot, dialog, "mutual", "Mutual-aid meeting")
    _type_date(qtbot, dialog.date, "21102026")
    assert dialog.date.date() == qdate(dt.date(2026, 10, 21))
    assert "Wednesday 21 October 2026" in dialog.weekday.text()
    _type_time(qtbot, dialog.start, "1830")
    assert dialog.end.time().toString("HH:mm") == "19:30"  # moved with the start
    _type_time(qtbot, dialog.end, "2000")
    qtbot.keyClicks(dialog.location, "Chapel")
    from srcdesk.services.people import search_people

    staff = next(p for p in search_people(page.ctx, "", limit=1000).items if p.kind == "sps_staff")
    first_name = staff.display_name.split()[0]  # one of the demo's SPS staff
    _add_facilitator(qtbot, dialog, first_name)
    qtmodeltester.check(dialog.what_model)
    qtmodeltester.check(dialog.facilitators.results_model)
    qtmodeltester.check(dialog.facilitators.chosen_model)
    with qtbot.waitSignal(dialog.saved, timeout=WAIT) as saved:
        qtbot.keyClick(dialog.location, Qt.Key.Key_Return)  # Enter presses the default button (Save)
    record = saved.args[0]
    assert (record.date, record.start_time, record.end_time, record.location) == (
        dt.date(2026, 10, 21), "18:30", "20:00", "Chapel")
    qtbot.waitUntil(lambda: page.model.find(lambda r: r.id == record.id) >= 0, timeout=WAIT)
    row = page.model.row(page.model.find(lambda r: r.id == record.id))
    assert row.what == "Mutual-aid meeting" and row.facilitators.startswith(first_name)
    assert "Recorded the session on 21 Oct 2026 at 18:30" in page.status.text()
    qtmodeltester.check(page.model)


def test_end_before_start_is_shown_under_the_end_time(qtbot, page: SessionsPage) -> None:  # noqa: ANN001
    dialog = _open_new(qtbot, page)
    _choose_what(qtbot, dialog, "recovery caf", "Recovery café")  # QTest types ASCII only
    _type_time(qtbot, dialog.start, "1400")
    _type_time(qtbot, dialog.end, "1300")
    qtbot.keyClick(dialog.location, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.end_error.isVisible(), timeout=WAIT)
    assert dialog.end_error.message == "A session can't end before it starts."
    assert dialog.isVisible() and not dialog.general_error.isVisible()
    assert dialog.focusWidget() is dialog.end  # the focus goes to the field to correct
    same_day = session_service.list_sessions(page.ctx, date_from=DEMO_TODAY, date_to=DEMO_TODAY).items
    assert all(r.start_time != "14:00" for r in same_day)  # nothing was saved


def test_choosing_nothing_says_so_under_what(qtbot, page: SessionsPage) -> None:  # noqa: ANN001
    dialog = _open_new(qtbot, page)
    qtbot.keyClick(dialog.location, Qt.Key.Key_Return)
    assert dialog.what_error.isVisible() and "Choose the module or the activity" in dialog.what_error.message


def test_edit_a_session(qtbot, page: SessionsPage) -> None:  # noqa: ANN001
    page.table.setFocus()
    page.table.setCurrentIndex(page.model.index(0, 0))
    first = page.model.row(0)
    qtbot.mouseClick(page.edit_button, Qt.MouseButton.LeftButton)
    dialog = page.session_dialog
    qtbot.waitUntil(lambda: dialog.ready, timeout=WAIT)
    assert dialog.session_id == first.id and dialog.location.text() == (first.location or "")
    assert dialog.what.currentText() == first.what or dialog.title_edit.text() == first.what
    assert not dialog.repeat_row.isVisible()
    dialog.location.selectAll()
    qtbot.keyClicks(dialog.location, "Gym hall 2")
    with qtbot.waitSignal(dialog.saved, timeout=WAIT):
        qtbot.keyClick(dialog.location, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.model.rowCount() and page.model.row(
        max(0, page.model.find(lambda r: r.id == first.id))).location == "Gym hall 2", timeout=WAIT)
    assert "Saved the session" in page.status.text()


def test_escape_with_changes_asks_before_discarding(qtbot, page: SessionsPage, monkeypatch) -> None:  # noqa: ANN001
    asked = []
    monkeypatch.setattr(session_dialog_module, "ask",
                        lambda parent, title, text, yes, no, on_yes: asked.append(on_yes))
    dialog = _open_new(qtbot, page)
    qtbot.keyClick(dialog.location, Qt.Key.Key_Escape)
    assert not dialog.isVisible() and asked == []  # nothing typed: closes at once

    dialog = _open_new(qtbot, page)
    qtbot.keyClicks(dialog.location, "Library")
    qtbot.keyClick(dialog.location, Qt.Key.Key_Escape)
    assert len(asked) == 1 and dialog.isVisible()
    asked[0]()  # "Discard changes"
    assert not dialog.isVisible()


def test_cancel_a_session_with_a_reason(qtbot, page: SessionsPage) -> None:  # noqa: ANN001
    row_number = page.model.find(lambda r: not r.cancelled)
    page.table.setCurrentIndex(page.model.index(row_number, 0))
    target = page.model.row(row_number)
    assert page.cancel_button.isEnabled()
    qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)
    dialog = page.cancel_dialog
    assert isinstance(dialog, CancelSessionDialog)
    qtbot.waitUntil(dialog.reason.hasFocus, timeout=WAIT)
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)  # no reason given
    qtbot.waitUntil(lambda: dialog.error.isVisible(), timeout=WAIT)
    assert dialog.error.message == "Reason is required."
    qtbot.keyClicks(dialog.reason, "Lockdown")
    with qtbot.waitSignal(dialog.cancelled, timeout=WAIT):
        qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)

    def shown_cancelled() -> bool:
        n = page.model.find(lambda r: r.id == target.id)
        return n >= 0 and page.model.row(n).cancelled

    qtbot.waitUntil(shown_cancelled, timeout=WAIT)
    n = page.model.find(lambda r: r.id == target.id)
    status_col = page.model.columnCount() - 1
    assert page.model.data(page.model.index(n, status_col)) == "Cancelled"
    assert page.model.data(page.model.index(n, 0), Qt.ItemDataRole.ForegroundRole) is not None
    assert page.model.data(page.model.index(n, 0), Qt.ItemDataRole.ToolTipRole) == "Cancelled: Lockdown"
    page.table.setCurrentIndex(page.model.index(n, 0))
    assert not page.cancel_button.isEnabled()
    assert "Cancelled the session" in page.status.text()


def test_cancel_from_the_editor(qtbot, page: SessionsPage) -> None:  # noqa: ANN001
    row_number = page.model.find(lambda r: not r.cancelled)
    page.table.setCurrentIndex(page.model.index(row_number, 0))
    target = page.model.row(row_number)
    dialog = page.edit_session()
    qtbot.waitUntil(lambda: dialog.ready, timeout=WAIT)
    qtbot.mouseClick(dialog.cancel_session_button, Qt.MouseButton.LeftButton)
    cancel = dialog.cancel_dialog
    qtbot.keyClicks(cancel.reason, "Facilitator off sick")
    with qtbot.waitSignal(dialog.saved, timeout=WAIT):
        qtbot.keyClick(cancel.reason, Qt.Key.Key_Return)
    assert not dialog.isVisible()
    record = session_service.get_session(page.ctx, target.id)
    assert record.cancelled and record.cancelled_reason == "Facilitator off sick"


def test_repeat_weekly_until_a_date(qtbot, page: SessionsPage) -> None:  # noqa: ANN001
    dialog = _open_new(qtbot, page)
    _choose_what(qtbot, dialog, "awareness", "Recovery awareness for new recruits")
    assert dialog.what.currentData(KIND_ROLE)[2] == "RAT" and dialog.cohort_box.isEnabled()
    dialog.cohort.setFocus()
    dialog.cohort.setCurrentIndex(dialog.cohort.count() - 1)  # "New cohort…"
    assert dialog.cohort_name.isVisible() and dialog.cohort_name.text().startswith("PER recruits")
    dialog.cohort_name.selectAll()
    qtbot.keyClicks(dialog.cohort_name, "PER recruits November 2026")
    _type_date(qtbot, dialog.date, "04112026")
    _type_time(qtbot, dialog.start, "0900")
    _type_time(qtbot, dialog.end, "1200")
    qtbot.keyClick(dialog.repeat, Qt.Key.Key_Space)
    assert dialog.repeat.isChecked()
    assert dialog.focusWidget() is dialog.repeat_until
    _type_date(qtbot, dialog.repeat_until, "02122026")
    assert dialog.repeat_note.text().startswith("5 sessions in all, every Wednesday")
    with qtbot.waitSignal(dialog.saved, timeout=WAIT):
        qtbot.keyClick(dialog.location, Qt.Key.Key_Return)
    made = session_service.list_sessions(page.ctx, date_from="2026-11-04", date_to="2026-12-02",
                                         search="Recovery awareness").items
    assert sorted(r.date for r in made) == [dt.date(2026, 11, 4) + dt.timedelta(weeks=w) for w in range(5)]
    assert len({session_service.get_session(page.ctx, r.id).recruit_cohort_id for r in made}) == 1
    assert dialog.outcome.cohort.name == "PER recruits November 2026"
    assert "(4 more)" in page.status.text()


def test_filters_and_search_narrow_the_list(qtbot, page: SessionsPage, qtmodeltester) -> None:  # noqa: ANN001
    everything = page.model.rowCount()
    with page.ctx.read() as s:  # the demo's sessions, all in the last three months
        demo_sessions = s.scalar(select(func.count()).select_from(Session).where(Session.deleted_hlc.is_(None)))
    assert everything == demo_sessions > 20
    qtmodeltester.check(page.what_model)

    page.what.setFocus()
    page.what.setCurrentIndex(page.what.findText("Recovery community meeting"))
    _wait_reloaded(qtbot, page)
    rows = page.model.rows
    assert 0 < len(rows) < everything and {r.what for r in rows} == {"Recovery community meeting"}

    page.what.setCurrentIndex(0)
    _wait_reloaded(qtbot, page)
    name = page.facilitator.itemText(1)
    page.facilitator.setCurrentIndex(1)
    _wait_reloaded(qtbot, page)
    rows = page.model.rows
    assert 0 < len(rows) < everything and all(name in r.facilitators for r in rows)
    page.facilitator.setCurrentIndex(0)
    _wait_reloaded(qtbot, page)

    qtbot.keyClicks(page.search, "caf")  # QTest types ASCII only
    _wait_reloaded(qtbot, page)
    rows = page.model.rows
    assert 0 < len(rows) < everything and all("café" in r.what.casefold() for r in rows)
    page.search.clear()
    _wait_reloaded(qtbot, page)

    if not any(r.cancelled for r in page.model.rows):  # (the demo may have none: cancel one)
        session_service.cancel_session(page.ctx, page.model.rows[-1].id, "Lockdown")
        qtbot.waitUntil(lambda: any(r.cancelled for r in page.model.rows), timeout=WAIT)
    cancelled = sum(r.cancelled for r in page.model.rows)
    assert cancelled > 0 and page.model.rowCount() == everything
    qtbot.mouseClick(page.show_cancelled, Qt.MouseButton.LeftButton)
    _wait_reloaded(qtbot, page)
    assert page.model.rowCount() == everything - cancelled and not any(r.cancelled for r in page.model.rows)

    _type_date(qtbot, page.date_from, "01102026")
    _type_date(qtbot, page.date_to, "15102026")
    _wait_reloaded(qtbot, page)
    rows = page.model.rows
    assert rows and all(dt.date(2026, 10, 1) <= r.date <= dt.date(2026, 10, 15) for r in rows)

    qtbot.mouseClick(page.clear_button, Qt.MouseButton.LeftButton)
    _wait_reloaded(qtbot, page)
    assert page.date_from.date() == ANY_DATE and page.model.rowCount() == everything
    qtmodeltester.check(page.model)


def test_enter_on_a_session_takes_its_register(qtbot, page: SessionsPage) -> None:  # noqa: ANN001
    page.table.setFocus()
    page.table.setCurrentIndex(page.model.index(2, 0))
    session_id = page.model.row(2).id
    with qtbot.waitSignal(page.registerRequested, timeout=WAIT) as requested:
        qtbot.keyClick(page.table, Qt.Key.Key_Return)
    assert requested.args == [session_id]
    dialog = page.register_dialog
    assert dialog is not None and dialog.isVisible()
    assert type(dialog).__name__ == "RegisterDialog"
    qtbot.waitUntil(lambda: QApplication.instance() is not None and not page.model.loading, timeout=WAIT)
    dialog.close()

    with qtbot.waitSignal(page.registerRequested, timeout=WAIT) as requested:
        qtbot.mouseClick(page.register_button, Qt.MouseButton.LeftButton)
    assert requested.args == [session_id]
    page.register_dialog.close()


def test_buttons_follow_the_selection(qtbot, page: SessionsPage) -> None:  # noqa: ANN001
    page.table.clearSelection()
    page.table.setCurrentIndex(QModelIndex())
    assert not page.edit_button.isEnabled() and not page.register_button.isEnabled()
    page.table.setCurrentIndex(page.model.index(0, 0))
    assert page.edit_button.isEnabled() and page.register_button.isEnabled()


def test_the_office_chooses_the_establishment(qtbot, office_data) -> None:  # noqa: ANN001
    from srcdesk.services.setup import open_installation
    from srcdesk.services.users import authenticate

    ctx = open_installation(office_data)
    try:
        ctx = ctx.signed_in(authenticate(ctx.db, "phr", "password123"))
        page = SessionsPage(ctx)
        qtbot.addWidget(page)
        page.show()
        with qtbot.waitSignal(page.model.loaded, timeout=WAIT):
            page.activate()
        assert [page.model.headerData(i, Qt.Orientation.Horizontal) for i in range(3)] == [
            "Date", "Time", "Establishment"]
        dialog = page.new_session()
        qtbot.waitUntil(lambda: dialog.ready, timeout=WAIT)
        assert dialog.establishment.isVisible() and dialog.establishment.count() > 10
        _choose_what(qtbot, dialog, "steering", "Recovery Strategy Steering Group meeting")
        qtbot.keyClick(dialog.location, Qt.Key.Key_Return)
        assert dialog.establishment_error.message == "Choose the establishment where the session took place."
        dialog.establishment.setCurrentIndex(dialog.establishment.findText("HMP Perth (PER)"))
        with qtbot.waitSignal(dialog.saved, timeout=WAIT) as saved:
            qtbot.keyClick(dialog.location, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=WAIT)
        assert page.model.row(0).establishment_code == "PER" and saved.args[0].id == page.model.row(0).id
    finally:
        qtbot.waitUntil(lambda: not page.model.loading, timeout=WAIT)
        from PySide6.QtCore import QThreadPool
        QThreadPool.globalInstance().waitForDone(WAIT)
        QApplication.processEvents()
        ctx.db.close()
