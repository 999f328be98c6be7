"""The People page: search as you type, a person's page, editing, transfer and deletion."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QLineEdit, QPushButton, QWidget

from srcdesk.services import ladder
from srcdesk.services.people import attendance_history, get_person, search_people
from srcdesk.ui import person_dialog
from srcdesk.ui.pages import people as people_page
from srcdesk.ui.pages.people import PeoplePage
from srcdesk.ui.person_dialog import DeletePersonDialog, PersonDialog
from srcdesk.ui.transfer_dialog import TransferDialog

WAIT = 5000


def open_page(qtbot, ctx) -> PeoplePage:  # noqa: ANN001
    page = PeoplePage(ctx)
    qtbot.addWidget(page)
    page.resize(1100, 700)
    page.show()
    with qtbot.waitSignal(page.model.loaded, timeout=WAIT):
        page.activate()
    return page


def host(qtbot):  # noqa: ANN001, ANN201
    """A parent for a dialog that deletes itself on close (pytest-qt closes the parent)."""
    widget = QWidget()
    qtbot.addWidget(widget)
    return widget


def everyone(ctx) -> list:  # noqa: ANN001
    return search_people(ctx, "", limit=1000).items


def open_person(qtbot, page: PeoplePage, person_id: str) -> None:
    with qtbot.waitSignal(page.person_view.loaded, timeout=WAIT):
        page.show_person(person_id)
    qtbot.waitUntil(lambda: not page.person_view.attendance_model.loading, timeout=WAIT)


def row_names(page: PeoplePage) -> list[str]:
    return [r.display_name for r in page.model.rows]


def test_search_narrows_as_you_type_and_pages_on_scroll(qtbot, qtmodeltester, open_demo, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(people_page, "PAGE_SIZE", 20)
    ctx = open_demo("rita")
    page = open_page(qtbot, ctx)
    total = len(everyone(ctx))
    assert total == 83 and page.model.rowCount() == 20 and page.model.canFetchMore(QModelIndex())
    assert "more appear as you scroll" in page.count.text()
    qtmodeltester.check(page.model)
    # Scrolling to the bottom fetches the next page.
    with qtbot.waitSignal(page.model.loaded, timeout=WAIT):
        page.table.scrollToBottom()
    qtbot.waitUntil(lambda: page.model.rowCount() > 20, timeout=WAIT)

    target = everyone(ctx)[40]
    typed = ""
    counts = []
    for letter in target.family_name[:3]:
        typed += letter
        with qtbot.waitSignal(page.model.loaded, timeout=WAIT):
            qtbot.keyClicks(page.search, letter)
        counts.append(page.model.rowCount())
        assert all(any(w.casefold().startswith(typed.casefold()) for w in r.display_name.split())
                   or (r.external_ref or "").casefold().startswith(typed.casefold()) for r in page.model.rows)
    assert counts == sorted(counts, reverse=True) and counts[-1] < 20
    assert target.display_name in row_names(page)
    with qtbot.waitSignal(page.model.loaded, timeout=WAIT):
        qtbot.keyClicks(page.search, " zzzz")
    assert page.model.rowCount() == 0 and page.count.text() == "No one matches."


def test_search_by_reference_and_kind_filter(qtbot, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    page = open_page(qtbot, ctx)
    with_ref = next(p for p in everyone(ctx) if p.external_ref)
    with qtbot.waitSignal(page.model.loaded, timeout=WAIT):
        qtbot.keyClicks(page.search, with_ref.external_ref[:6])
    assert with_ref.display_name in row_names(page)
    page.search.clear()
    qtbot.waitUntil(lambda: page.model.rowCount() == 83, timeout=WAIT)
    staff = [p for p in everyone(ctx) if p.kind == "sps_staff"]
    assert staff
    with qtbot.waitSignal(page.model.loaded, timeout=WAIT):
        page.kind.setCurrentIndex(page.kind.findData("sps_staff"))
    assert sorted(row_names(page)) == sorted(p.display_name for p in staff)


def test_open_a_person_by_keyboard_and_come_back(qtbot, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    page = open_page(qtbot, ctx)
    target = everyone(ctx)[10]
    with qtbot.waitSignal(page.model.loaded, timeout=WAIT):
        qtbot.keyClicks(page.search, target.display_name)
    assert row_names(page)[0] == target.display_name
    page.search.setFocus()
    qtbot.keyClick(page.search, Qt.Key.Key_Down)
    assert page.table.hasFocus() and page.table.currentIndex().row() == 0
    with qtbot.waitSignal(page.person_view.loaded, timeout=WAIT):
        qtbot.keyClick(page.table, Qt.Key.Key_Return)
    assert page.showing_person
    assert page.person_view.title.text() == target.display_name
    assert page.person_view.values["reference"].text() == (target.external_ref or "—")
    qtbot.keyClick(page.person_view.back_button, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    assert not page.showing_person and page.table.hasFocus()
    assert page.search.text() == target.display_name  # the list is where it was


def test_person_page_shows_consent_and_attendance(qtbot, qtmodeltester, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    candidates = [p for p in everyone(ctx) if p.kind == "prisoner"]
    busiest = max(candidates, key=lambda p: len(attendance_history(ctx, p.id, limit=1000).items))
    sessions = attendance_history(ctx, busiest.id, limit=1000).items
    record = get_person(ctx, busiest.id)
    assert sessions and record.consent_date is not None
    page = open_page(qtbot, ctx)
    open_person(qtbot, page, busiest.id)
    view = page.person_view
    assert view.values["consent_date"].text() == record.consent_date.strftime("%-d %b %Y")
    assert view.values["consent_scope"].text() == record.consent_scope
    assert view.values["consent_recorded"].text()  # who recorded it (or where it came from)
    model = view.attendance_model
    assert model.rowCount() == min(len(sessions), 100)
    assert model.rows[0].session_id == sessions[0].session_id  # newest first
    assert model.data(model.index(0, 0)) == sessions[0].date.strftime("%-d %b %Y")
    assert "sessions, newest first" in view.attendance_note.text()
    qtmodeltester.check(model)
    qtmodeltester.check(view.transfer_model)
    qtmodeltester.check(view.milestone_model)


def test_milestone_progress_is_shown(qtbot, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    holder = next(p for p in everyone(ctx)
                  if any(a.status == "active" for a in ladder.achievements(ctx, p.id)))
    levels = ladder.progress(ctx, holder.id)
    page = open_page(qtbot, ctx)
    open_person(qtbot, page, holder.id)
    view = page.person_view
    assert view.milestone_model.rowCount() == len(levels)
    states = [r.state for r in view.milestone_model.rows]
    assert states[0].startswith("Achieved ")
    not_yet = [r for r in view.milestone_model.rows if r.state == "Not yet"]
    assert all(r.missing for r in not_yet)


def test_edit_shows_a_validation_error_next_to_the_field_then_saves(qtbot, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    page = open_page(qtbot, ctx)
    target = everyone(ctx)[5]
    open_person(qtbot, page, target.id)
    view = page.person_view
    qtbot.mouseClick(view.edit_button, Qt.MouseButton.LeftButton)
    dialog = view.dialog
    assert isinstance(dialog, PersonDialog)
    qtbot.waitUntil(lambda: dialog.given_name.isEnabled() and dialog.given_name.text() == target.given_name,
                    timeout=WAIT)
    dialog.consent_date.clear()
    qtbot.keyClicks(dialog.consent_date, (dt.date.today() + dt.timedelta(days=3)).strftime("%d/%m/%Y"))
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    error = dialog.errors["consent_date"]
    qtbot.waitUntil(lambda: error.isVisible(), timeout=WAIT)
    assert error.text() == "The consent date can't be in the future."
    assert dialog.isVisible() and dialog.consent_date.hasFocus()
    dialog.consent_date.selectAll()
    qtbot.keyClicks(dialog.consent_date, "2/9/2026")
    dialog.given_name.selectAll()
    qtbot.keyClick(dialog.given_name, Qt.Key.Key_Delete)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.errors["given_name"].isVisible(), timeout=WAIT)
    assert dialog.errors["given_name"].text() == "Given name is required."
    assert not dialog.errors["consent_date"].isVisible()
    qtbot.keyClicks(dialog.given_name, "Jamie")
    with qtbot.waitSignal(dialog.saved, timeout=WAIT), qtbot.waitSignal(view.loaded, timeout=WAIT):
        qtbot.keyClick(dialog.family_name, Qt.Key.Key_Return)  # Save is the default button
    assert view.title.text() == f"Jamie {target.family_name}"
    assert view.values["consent_date"].text() == "2 Sep 2026"
    assert view.status.text() == f"Saved Jamie {target.family_name}."
    assert get_person(ctx, target.id).consent_date == dt.date(2026, 9, 2)
    qtbot.waitUntil(lambda: f"Jamie {target.family_name}" in row_names(page), timeout=WAIT)  # the list reloaded


def test_escape_with_unsaved_changes_asks_first(qtbot, open_demo, monkeypatch) -> None:  # noqa: ANN001
    asked = []

    def fake_confirm(parent, on_discard):  # noqa: ANN001, ANN202
        asked.append(parent)
        if len(asked) > 1:
            on_discard()

    monkeypatch.setattr(person_dialog, "confirm_discard", fake_confirm)
    ctx = open_demo("rita")
    owner = host(qtbot)
    dialog = PersonDialog(ctx, parent=owner)
    dialog.show()
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)  # nothing typed: closes at once
    assert not dialog.isVisible() and asked == []
    owner = host(qtbot)
    dialog = PersonDialog(ctx, parent=owner)
    dialog.show()
    qtbot.keyClicks(dialog.given_name, "Half")
    qtbot.keyClick(dialog.given_name, Qt.Key.Key_Escape)
    assert dialog.isVisible() and asked == [dialog]  # asked, and kept editing
    qtbot.keyClick(dialog.given_name, Qt.Key.Key_Escape)
    assert not dialog.isVisible() and len(asked) == 2  # asked again, discarded


def test_the_discard_question_can_be_answered_with_the_keyboard(qtbot, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    owner = host(qtbot)
    dialog = PersonDialog(ctx, parent=owner)
    dialog.show()
    qtbot.keyClicks(dialog.family_name, "Typed")
    dialog.reject()
    box = dialog.confirm_box
    assert box is not None and box.isVisible()
    assert box.defaultButton().objectName() == "confirmNo"
    qtbot.mouseClick(box.findChild(QPushButton, "confirmYes"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=WAIT)


def test_ctrl_n_registers_a_person_and_opens_their_page(qtbot, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    page = open_page(qtbot, ctx)
    page.search.setFocus()
    qtbot.keyClick(page.search, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    dialog = page.dialog
    assert isinstance(dialog, PersonDialog) and dialog.isVisible()
    qtbot.keyClicks(dialog.given_name, "Morag")
    qtbot.keyClicks(dialog.family_name, "Quinnell")
    qtbot.keyClicks(dialog.external_ref, "P-77001")
    dialog.consent_scope.setCurrentIndex(2)
    qtbot.keyClicks(dialog.consent_date, "1/10/2026")
    with qtbot.waitSignal(page.person_view.loaded, timeout=WAIT):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    view = page.person_view
    assert page.showing_person and view.title.text() == "Morag Quinnell"
    assert view.status.text() == "Registered Morag Quinnell."
    assert view.values["establishment"].text() == "HMP Perth (PER)"
    assert view.values["consent_recorded"].text().startswith("Rita Recorder, ")
    assert view.values["consent_scope"].text() == "Attendance only"
    qtbot.waitUntil(lambda: not view.attendance_model.loading, timeout=WAIT)
    assert view.attendance_note.text() == "Not on the register of any session yet."


def test_transfer_a_person_and_see_the_history_update(qtbot, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    page = open_page(qtbot, ctx)
    target = next(p for p in everyone(ctx) if p.establishment_code == "PER")
    open_person(qtbot, page, target.id)
    view = page.person_view
    before = view.transfer_model.rowCount()
    qtbot.mouseClick(view.transfer_button, Qt.MouseButton.LeftButton)
    dialog = view.dialog
    assert isinstance(dialog, TransferDialog)
    qtbot.waitUntil(lambda: dialog.destination.isEnabled(), timeout=WAIT)
    codes = [dialog.destination.itemText(i) for i in range(dialog.destination.count())]
    assert not any("(PER)" in c for c in codes)  # not where they already are
    assert not any("(CVA)" in c for c in codes)  # Cornton Vale closed
    qtbot.mouseClick(dialog.transfer_button, Qt.MouseButton.LeftButton)  # nothing chosen yet
    assert dialog.errors["to_establishment_id"].text() == "Choose where the person went."
    assert dialog.choose("BAR")
    qtbot.keyClicks(dialog.reason, "Closer to family")
    with qtbot.waitSignal(dialog.transferred, timeout=WAIT), qtbot.waitSignal(view.loaded, timeout=WAIT):
        qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    assert view.transfer_model.rowCount() == before + 1
    last = view.transfer_model.rows[-1]
    assert (last.from_code, last.to_code, last.reason) == ("PER", "BAR", "Closer to family")
    assert last.transferred_on == dt.date.today() and last.recorded_by == "Rita Recorder"
    assert view.values["establishment"].text() == "HMP Barlinnie (BAR)"
    assert view.status.text() == "Transfer recorded."
    qtbot.waitUntil(lambda: any(r.id == target.id and r.establishment_code == "BAR" for r in page.model.rows),
                    timeout=WAIT)


def test_transfer_errors_appear_under_the_field(qtbot, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    target = next(p for p in everyone(ctx) if p.establishment_code == "PER")
    owner = host(qtbot)
    dialog = TransferDialog(ctx, get_person(ctx, target.id), owner)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.destination.isEnabled(), timeout=WAIT)
    dialog.choose("BAR")
    dialog.reason.setText("x" * 1000)
    dialog.reason.setMaxLength(2000)
    dialog.reason.setText("x" * 1001)
    qtbot.mouseClick(dialog.transfer_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.errors["reason"].isVisible(), timeout=WAIT)
    assert "too long" in dialog.errors["reason"].text() and dialog.isVisible()


@pytest.mark.parametrize("user", ["colin", "rita"])
def test_delete_a_person_registered_in_error(qtbot, open_demo, user) -> None:  # noqa: ANN001
    ctx = open_demo(user)
    page = open_page(qtbot, ctx)
    target = everyone(ctx)[3]
    open_person(qtbot, page, target.id)
    view = page.person_view
    if user == "rita":
        assert not view.delete_button.isVisible()  # recorders can't delete people
        return
    assert view.delete_button.isVisible()
    qtbot.mouseClick(view.delete_button, Qt.MouseButton.LeftButton)
    dialog = view.dialog
    assert isinstance(dialog, DeletePersonDialog)
    assert dialog.cancel_button.isDefault()  # deleting is never what Enter does
    qtbot.mouseClick(dialog.delete_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.reason_error.isVisible(), timeout=WAIT)
    assert dialog.reason_error.text() == "Say why this is being deleted."
    qtbot.keyClicks(dialog.reason, "Registered twice")
    with qtbot.waitSignal(view.personDeleted, timeout=WAIT):
        qtbot.mouseClick(dialog.delete_button, Qt.MouseButton.LeftButton)
    assert not page.showing_person
    assert "deleted" in page.status.text()
    qtbot.waitUntil(lambda: page.model.rowCount() == 82, timeout=WAIT)
    assert target.id not in [r.id for r in page.model.rows]


def test_office_can_filter_by_establishment(qtbot, open_demo, tmp_path) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    ctx = dataclasses.replace(ctx, installation=type(ctx.installation)(ctx.installation.id, "office", None, None, "SRC office"))
    page = open_page(qtbot, ctx)
    assert page.establishment.isVisibleTo(page)
    qtbot.waitUntil(lambda: page.establishment.count() > 10, timeout=WAIT)
    index = next(i for i in range(page.establishment.count()) if "(PER)" in page.establishment.itemText(i))
    with qtbot.waitSignal(page.model.loaded, timeout=WAIT):
        page.establishment.setCurrentIndex(index)
    assert page.model.rowCount() > 0 and all(r.establishment_code == "PER" for r in page.model.rows)


def test_search_field_is_labelled_and_focused_first(qtbot, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    page = open_page(qtbot, ctx)
    assert page.focusProxy() is page.search
    for widget in page.findChildren(QLineEdit):
        if widget.isVisibleTo(page) and widget.objectName():
            assert widget.accessibleName()


def test_office_new_person_asks_where_then_remembers_the_last_choice(qtbot, office_data) -> None:  # noqa: ANN001
    from PySide6.QtCore import QCoreApplication, QThreadPool

    from srcdesk.services.setup import open_installation
    from srcdesk.services.users import authenticate

    from .conftest import PASSWORD

    ctx = open_installation(office_data)
    ctx = ctx.signed_in(authenticate(ctx.db, "phr", PASSWORD))
    try:
        def new_dialog() -> PersonDialog:
            dialog = PersonDialog(ctx, None)
            qtbot.addWidget(dialog)
            dialog.show()
            qtbot.waitUntil(dialog.establishment.isEnabled, timeout=WAIT)
            return dialog

        dialog = new_dialog()
        assert dialog.establishment.currentIndex() == -1  # nothing picked for the officer
        texts = [dialog.establishment.itemText(i) for i in range(dialog.establishment.count())]
        assert texts[-1] == "No establishment (community)" and "HMP Perth (PER)" in texts
        qtbot.keyClicks(dialog.given_name, "Ada")
        qtbot.keyClicks(dialog.family_name, "Lovelace")
        dialog.submit()
        assert "Choose where this person is" in dialog.errors["establishment_id"].message
        dialog.establishment.setCurrentIndex(dialog.establishment.findText("HMP Perth (PER)"))
        with qtbot.waitSignal(dialog.saved, timeout=WAIT) as saved:
            dialog.submit()
        perth = dialog.establishment.itemData(dialog.establishment.findText("HMP Perth (PER)"))
        assert saved.args[0].establishment_id == perth

        again = new_dialog()  # the last one picked
        assert again.establishment.currentText() == "HMP Perth (PER)"
        again._closing = True  # noqa: SLF001
        again.done(0)
    finally:
        QThreadPool.globalInstance().waitForDone(WAIT)
        QCoreApplication.processEvents()
        ctx.db.close()
