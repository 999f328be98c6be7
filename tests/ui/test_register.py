"""The register: taken by keyboard alone, as quickly as a paper sheet."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator

import pytest
import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtWidgets import QApplication, QComboBox, QMessageBox

from srcdesk.services import attendance, people, sessions
from srcdesk.services.attendance import RegisterEntry
from srcdesk.services.people import sort_key
from srcdesk.ui import register_dialog
from srcdesk.ui.bus import data_bus
from srcdesk.ui.register_dialog import RegisterDialog
from srcdesk.ui.register_model import CODE_ROLE, COL_ROLE, COL_STATUS, RegisterModel

from .conftest import shot

WAIT = 5000

def _session(ctx, day: str = "2026-11-03", **kw):  # noqa: ANN001, ANN202
    values = {"start_time": "10:00", "end_time": "11:30", "activity_type_id": "act-cafe", "location": "Dining hall"}
    values.update(kw)
    return sessions.create_session(ctx, date=day, **values)


def _demo_people(ctx, count: int) -> list:  # noqa: ANN001
    """People of the demo with a name no one else shares, so typing it finds them first."""
    rows = people.search_people(ctx, "", establishment_id=ctx.installation.establishment_id, limit=200).items
    names = [r.display_name for r in rows]
    return [r for r in rows if names.count(r.display_name) == 1][:count]


@pytest.fixture
def open_register(qtbot, monkeypatch) -> Iterator[Callable[..., RegisterDialog]]:  # noqa: ANN001
    """``open_register(ctx, session_id)``: the dialog shown and loaded; closed (discarding) afterwards."""
    opened: list[RegisterDialog] = []

    def open_(ctx, session_id: str) -> RegisterDialog:  # noqa: ANN001
        dialog = RegisterDialog(ctx, session_id)
        opened.append(dialog)
        dialog.resize(980, 640)
        dialog.show()
        qtbot.waitUntil(lambda: dialog.ready, timeout=WAIT)
        return dialog

    yield open_
    monkeypatch.setattr(register_dialog, "ask_unsaved", lambda parent, answer: answer("discard"))
    for dialog in opened:
        if shiboken6.isValid(dialog):
            dialog.close()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _type_and_add(qtbot, dialog: RegisterDialog, text: str) -> None:  # noqa: ANN001
    dialog.find.setFocus()
    qtbot.keyClicks(dialog.find, text)
    qtbot.keyClick(dialog.find, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.find.text() == "" or dialog.find_note.text() != "", timeout=WAIT)


def _codes(lines) -> list[tuple[str, str, str]]:  # noqa: ANN001
    return sorted((line.display_name, line.status, line.role) for line in lines)


# -- taking a register --------------------------------------------------------------------------


def test_take_a_register_by_keyboard_alone(qtbot, open_demo, open_register) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    session = _session(ctx)
    amy, ben, cal, dee = _demo_people(ctx, 4)
    dialog = open_register(ctx, session.id)
    assert dialog.find.hasFocus()  # an empty register: ready to find people
    assert "Recovery café" in dialog.title.text()
    assert "Dining hall" in dialog.what.text() and "HMP Perth (PER)" in dialog.what.text()

    for person in (amy, ben, cal, dee):
        _type_and_add(qtbot, dialog, person.display_name)
    assert [r.person_id for r in dialog.model.rows] == [amy.id, ben.id, cal.id, dee.id]
    assert dialog.find.hasFocus()  # several people in a row without leaving the field
    assert dialog.counts.text().startswith("4 present of 4 on the register")

    qtbot.keyClick(dialog.find, Qt.Key.Key_Return)  # Enter with nothing typed: to the roster
    assert dialog.table.hasFocus() and dialog.table.currentIndex().row() == 0
    for key in "PLA":  # each status key moves down a line
        qtbot.keyClick(dialog.table, key)
    assert dialog.table.currentIndex().row() == 3
    qtbot.keyClick(dialog.table, Qt.Key.Key_Up)
    qtbot.keyClick(dialog.table, "R")  # Cal's role: participant -> helper
    assert dialog.counts.text() == "3 present of 4 on the register — not saved"  # late counts, absent not
    shot(dialog, "register-filled")

    with qtbot.waitSignal(dialog.saved, timeout=WAIT) as saved, \
            qtbot.waitSignal(data_bus().changed, timeout=WAIT) as announced:
        qtbot.keyClick(dialog.table, Qt.Key.Key_Return)
    assert (saved.args[0].added, saved.args[0].changed) == (4, 0)
    assert "attendance" in announced.args[0]
    assert dialog.status.text().startswith("Saved")
    assert not dialog.model.dirty and "not saved" not in dialog.counts.text()

    assert _codes(attendance.register(ctx, session.id)) == sorted([
        (amy.display_name, "present", "participant"), (ben.display_name, "late", "participant"),
        (cal.display_name, "absent", "helper"), (dee.display_name, "present", "participant")])

    again = open_register(ctx, session.id)  # reopened: what was saved, cursor on the first line
    assert [(r.person_id, r.status) for r in again.model.rows] == [
        (r.person_id, r.status) for r in sorted(dialog.model.rows,  # by family name, then given name
                                                key=lambda r: sort_key(*r.name.rsplit(" ", 1)))]
    assert again.table.hasFocus() and again.table.currentIndex().row() == 0


def test_status_keys_come_from_the_reference_data(qtbot, open_demo, open_register) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    session = _session(ctx)
    person = _demo_people(ctx, 1)[0]
    attendance.save_register(ctx, session.id, [RegisterEntry(person.id)])
    dialog = open_register(ctx, session.id)
    keys = dialog.model.status_keys()
    assert keys == {"P": "present", "L": "late", "E": "left_early", "X": "excused", "A": "absent"}
    for key, code in keys.items():
        qtbot.keyClick(dialog.table, Qt.Key.Key_Home)
        qtbot.keyClick(dialog.table, key.lower())
        assert dialog.model.row(0).status == code
    qtbot.keyClick(dialog.table, "Q")  # not a status key: nothing changes
    assert dialog.model.row(0).status == "absent"
    qtbot.keyClick(dialog.table, "N")  # a note for the line
    editor = dialog.table.focusWidget()
    assert editor is not dialog.table
    qtbot.keyClicks(editor, "Phoned in sick")
    qtbot.keyClick(editor, Qt.Key.Key_Return)  # ends the note; does not save yet
    qtbot.waitUntil(lambda: dialog.model.row(0).note == "Phoned in sick", timeout=WAIT)
    assert dialog.model.dirty and dialog.table.hasFocus() and dialog.status.text() != "Saving…"
    qtbot.keyClick(dialog.table, "/")
    assert dialog.find.hasFocus()


def test_role_key_cycles_through_the_roles(qtbot, open_demo, open_register) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    session = _session(ctx)
    person = _demo_people(ctx, 1)[0]
    attendance.save_register(ctx, session.id, [RegisterEntry(person.id)])
    dialog = open_register(ctx, session.id)
    seen = [dialog.model.row(0).role]
    for _ in range(6):
        qtbot.keyClick(dialog.table, Qt.Key.Key_Space)
        seen.append(dialog.model.row(0).role)
    assert seen == ["participant", "helper", "co_facilitator", "lead_facilitator", "trainer", "observer",
                    "participant"]
    assert dialog.table.currentIndex().row() == 0  # the role key does not move on


def test_someone_already_on_the_register_is_not_added_twice(qtbot, open_demo, open_register) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    session = _session(ctx)
    amy, ben = _demo_people(ctx, 2)
    attendance.save_register(ctx, session.id, [RegisterEntry(amy.id, "late"), RegisterEntry(ben.id)])
    dialog = open_register(ctx, session.id)
    _type_and_add(qtbot, dialog, amy.display_name)
    assert dialog.model.rowCount() == 2
    assert dialog.status.text() == f"{amy.display_name} is already on the register."
    assert dialog.model.row(dialog.table.currentIndex().row()).person_id == amy.id  # shown where she is
    assert dialog.model.row(dialog.model.find(amy.id)).status == "late"  # and left as she was
    assert not dialog.model.dirty


def test_typing_faster_than_the_search_still_adds_the_right_person(qtbot, open_demo, open_register) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    session = _session(ctx)
    person = _demo_people(ctx, 1)[0]
    dialog = open_register(ctx, session.id)
    dialog.find.setFocus()
    qtbot.keyClicks(dialog.find, person.display_name)
    qtbot.keyClick(dialog.find, Qt.Key.Key_Return)  # before any result is in
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 1, timeout=WAIT)
    assert dialog.model.row(0).person_id == person.id


def test_find_by_reference_and_choose_among_matches(qtbot, open_demo, open_register) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    session = _session(ctx)
    first = people.create_person(ctx, given_name="Morag", family_name="Testwell", external_ref="ZZ1001")
    second = people.create_person(ctx, given_name="Moira", family_name="Testwell", external_ref="ZZ1002")
    dialog = open_register(ctx, session.id)
    dialog.find.setFocus()
    qtbot.keyClicks(dialog.find, "zz100")
    qtbot.waitUntil(lambda: dialog.matches.isVisible() and dialog.matches_model.rowCount() == 2, timeout=WAIT)
    qtbot.keyClick(dialog.find, Qt.Key.Key_Down)
    qtbot.keyClick(dialog.find, Qt.Key.Key_Return)
    assert [r.person_id for r in dialog.model.rows] == [first.id if first.given_name > second.given_name
                                                        else second.id]
    assert dialog.model.row(0).reference in ("ZZ1001", "ZZ1002")
    _type_and_add(qtbot, dialog, "nobody-here-xyz")
    assert "No one matches" in dialog.find_note.text()
    assert dialog.model.rowCount() == 1


def test_delete_takes_new_lines_off_and_marks_saved_ones(qtbot, open_demo, open_register) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    session = _session(ctx)
    amy, ben, cal = _demo_people(ctx, 3)
    attendance.save_register(ctx, session.id, [RegisterEntry(amy.id), RegisterEntry(ben.id)])
    dialog = open_register(ctx, session.id)
    _type_and_add(qtbot, dialog, cal.display_name)
    assert dialog.model.rowCount() == 3
    dialog.table.setFocus()
    qtbot.keyClick(dialog.table, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(dialog.table, Qt.Key.Key_Delete)  # Cal was never saved: simply gone
    assert dialog.model.rowCount() == 2 and not dialog.model.dirty
    qtbot.keyClick(dialog.table, Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(dialog.table, Qt.Key.Key_Delete)  # a saved line: struck through until Save
    first = dialog.model.row(0)
    assert first.removing and dialog.model.rowCount() == 2
    assert dialog.counts.text().startswith("1 present of 1 on the register (1 to be taken off)")
    with qtbot.waitSignal(dialog.saved, timeout=WAIT) as saved:
        qtbot.keyClick(dialog.table, Qt.Key.Key_Return)
    assert saved.args[0].removed == 1
    assert [line.person_id for line in attendance.register(ctx, session.id)] == [dialog.model.row(0).person_id]
    assert first.person_id not in {r.person_id for r in dialog.model.rows}


def test_status_and_role_by_mouse(qtbot, open_demo, open_register) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    session = _session(ctx)
    person = _demo_people(ctx, 1)[0]
    attendance.save_register(ctx, session.id, [RegisterEntry(person.id)])
    dialog = open_register(ctx, session.id)
    for column, editor_name, choice in ((COL_STATUS, "statusEditor", "excused"), (COL_ROLE, "roleEditor", "helper")):
        index = dialog.model.index(0, column)
        rect = dialog.table.visualRect(index)
        qtbot.mouseClick(dialog.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(dialog.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        combo = dialog.table.findChild(QComboBox, editor_name)
        assert combo is not None
        qtbot.mouseClick(combo, Qt.MouseButton.LeftButton)  # the list opens
        popup = combo.view()
        qtbot.waitUntil(popup.isVisible, timeout=WAIT)
        qtbot.wait(QApplication.doubleClickInterval() + 50)  # a combo ignores a release too soon after opening
        item = popup.visualRect(popup.model().index(combo.findData(choice), 0))
        qtbot.mouseClick(popup.viewport(), Qt.MouseButton.LeftButton, pos=item.center())
        qtbot.waitUntil(lambda i=index, ch=choice: i.data(CODE_ROLE) == ch, timeout=WAIT)
    assert dialog.counts.text().startswith("0 present of 1 on the register")


# -- new person, last session ------------------------------------------------------------------------


def test_new_person_inline(qtbot, open_demo, open_register) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    session = _session(ctx)
    dialog = open_register(ctx, session.id)
    dialog.find.setFocus()
    qtbot.keyClicks(dialog.find, "Isla Brand-New")
    qtbot.keyClick(dialog.find, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert dialog.new_form.isVisible()
    assert (dialog.given.text(), dialog.family.text()) == ("Isla", "Brand-New")
    dialog.reference.setFocus()
    qtbot.keyClicks(dialog.reference, "ZZ777")
    shot(dialog, "register-new-person")
    with qtbot.waitSignal(data_bus().changed, timeout=WAIT) as announced:
        qtbot.keyClick(dialog.reference, Qt.Key.Key_Return)
    assert "people" in announced.args[0]
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 1, timeout=WAIT)
    row = dialog.model.row(0)
    assert (row.name, row.reference, row.status, row.role) == ("Isla Brand-New", "ZZ777", "present", "participant")
    assert not dialog.new_form.isVisible() and dialog.find.hasFocus() and dialog.find.text() == ""
    found = people.search_people(ctx, "ZZ777").items
    assert [p.id for p in found] == [row.person_id]
    assert found[0].establishment_code == "PER"

    # a second one with the same reference is refused, next to the reference field
    qtbot.mouseClick(dialog.new_person_button, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(dialog.given, "Other")
    dialog.family.setFocus()
    qtbot.keyClicks(dialog.family, "Person")
    dialog.reference.setFocus()
    qtbot.keyClicks(dialog.reference, "ZZ777")
    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.field_errors["external_ref"].isVisible(), timeout=WAIT)
    assert "already recorded for Isla Brand-New" in dialog.field_errors["external_ref"].message
    assert dialog.new_form.isVisible() and dialog.model.rowCount() == 1
    qtbot.keyClick(dialog.reference, Qt.Key.Key_Escape)  # Esc in the form closes the form only
    assert not dialog.new_form.isVisible() and dialog.isVisible()


def test_add_everyone_from_the_last_session_of_the_series(qtbot, open_demo, open_register) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    first = _session(ctx, "2026-11-03")
    second = sessions.repeat_weekly(ctx, first.id, "2026-11-10")[0]
    amy, ben, cal, dee = _demo_people(ctx, 4)
    attendance.save_register(ctx, first.id, [RegisterEntry(amy.id), RegisterEntry(ben.id, "absent", "helper"),
                                             RegisterEntry(cal.id, "late")])
    dialog = open_register(ctx, second.id)
    _type_and_add(qtbot, dialog, cal.display_name)  # Cal came in first
    _type_and_add(qtbot, dialog, dee.display_name)
    qtbot.mouseClick(dialog.last_session_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 4, timeout=WAIT)
    assert dialog.status.text().startswith("Added 2 from the register of Tue 3 Nov 2026 (1 already on).")
    assert {r.person_id: (r.status, r.role) for r in dialog.model.rows} == {
        cal.id: ("present", "participant"), dee.id: ("present", "participant"),
        amy.id: (None, "participant"), ben.id: (None, "helper")}  # roles carry over, statuses don't
    assert dialog.counts.text().startswith("2 present of 4 on the register (2 not marked)")
    shot(dialog, "register-from-last-session")

    qtbot.keyClick(dialog.table, Qt.Key.Key_Return)  # Save refused: two not marked
    assert "2 people have no status yet" in dialog.error.message
    assert dialog.model.row(dialog.table.currentIndex().row()).status is None
    qtbot.keyClick(dialog.table, "P")
    qtbot.keyClick(dialog.table, "A")
    with qtbot.waitSignal(dialog.saved, timeout=WAIT):
        qtbot.keyClick(dialog.table, Qt.Key.Key_Return)
    assert len(attendance.register(ctx, second.id)) == 4

    # clicked again: everyone is already on
    qtbot.mouseClick(dialog.last_session_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "already on" in dialog.status.text(), timeout=WAIT)
    assert dialog.status.text().startswith("Added 0 from the register of Tue 3 Nov 2026 (3 already on).")
    assert not dialog.model.dirty


def test_people_arriving_while_saving_are_added_after_the_save(qtbot, open_demo, open_register,  # noqa: ANN001
                                                              monkeypatch) -> None:
    ctx = open_demo("rita")
    first = _session(ctx, "2026-11-03")
    second = sessions.repeat_weekly(ctx, first.id, "2026-11-10")[0]
    amy, ben = _demo_people(ctx, 2)
    attendance.save_register(ctx, first.id, [RegisterEntry(ben.id)])
    release, release_previous = threading.Event(), threading.Event()

    def slow_save(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        release.wait(WAIT / 1000)
        return attendance.save_register(*args, **kwargs)

    def slow_previous(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        release_previous.wait(WAIT / 1000)
        return attendance.previous_register(*args, **kwargs)

    monkeypatch.setattr(register_dialog, "save_register", slow_save)
    monkeypatch.setattr(register_dialog, "previous_register", slow_previous)
    dialog = open_register(ctx, second.id)
    _type_and_add(qtbot, dialog, amy.display_name)
    dialog.last_session_button.click()  # Ben's register is on its way…
    qtbot.keyClick(dialog.find, Qt.Key.Key_Return)
    qtbot.keyClick(dialog.table, Qt.Key.Key_Return)  # …while Amy's register is being saved
    assert dialog.status.text() == "Saving…" and dialog.model.read_only
    qtbot.keyClick(dialog.table, "A")  # no edits while saving
    assert dialog.model.row(0).status == "present"
    release_previous.set()
    qtbot.waitUntil(lambda: dialog._after_save != [], timeout=WAIT)
    with qtbot.waitSignal(dialog.saved, timeout=WAIT):
        release.set()
    assert [(r.person_id, r.saved, r.status) for r in dialog.model.rows] == [(amy.id, True, "present"),
                                                                             (ben.id, False, None)]
    assert dialog.model.dirty
    assert [line.person_id for line in attendance.register(ctx, second.id)] == [amy.id]


def test_first_of_a_series_has_no_last_session(qtbot, open_demo, open_register) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    first = _session(ctx, "2026-11-03")
    sessions.repeat_weekly(ctx, first.id, "2026-11-10")
    dialog = open_register(ctx, first.id)
    qtbot.mouseClick(dialog.last_session_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "first session of its series" in dialog.status.text(), timeout=WAIT)
    assert dialog.model.rowCount() == 0


# -- saving and closing ---------------------------------------------------------------------------------


def test_closing_with_unsaved_changes_asks_first(qtbot, open_demo, open_register, monkeypatch) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    session = _session(ctx)
    amy = _demo_people(ctx, 1)[0]
    dialog = open_register(ctx, session.id)
    _type_and_add(qtbot, dialog, amy.display_name)
    asked: list[str] = []
    answers = iter(["cancel", "save"])

    def ask(parent, answer) -> None:  # noqa: ANN001
        asked.append(parent.objectName())
        answer(next(answers))

    monkeypatch.setattr(register_dialog, "ask_unsaved", ask)
    qtbot.keyClick(dialog.find, Qt.Key.Key_Escape)  # Esc: cancel -> still open, still dirty
    assert asked == ["registerDialog"] and dialog.isVisible() and dialog.model.dirty
    with qtbot.waitSignal(dialog.finished, timeout=WAIT), qtbot.waitSignal(dialog.saved, timeout=WAIT):
        dialog.close()  # window close: save -> saved, then closed
    assert asked == ["registerDialog", "registerDialog"]
    assert [line.person_id for line in attendance.register(ctx, session.id)] == [amy.id]


def test_closing_discards_through_the_real_message_box(qtbot, open_demo, open_register) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    session = _session(ctx)
    dialog = open_register(ctx, session.id)
    _type_and_add(qtbot, dialog, _demo_people(ctx, 1)[0].display_name)
    qtbot.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)
    box = dialog.findChild(QMessageBox, "unsavedBox")
    assert box is not None and box.isVisible() and dialog.isVisible()
    with qtbot.waitSignal(dialog.finished, timeout=WAIT):
        qtbot.mouseClick(box.button(QMessageBox.StandardButton.Discard), Qt.MouseButton.LeftButton)
    assert attendance.register(ctx, session.id) == []


def test_closing_without_changes_does_not_ask(qtbot, open_demo, open_register, monkeypatch) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    session = _session(ctx)
    dialog = open_register(ctx, session.id)
    monkeypatch.setattr(register_dialog, "ask_unsaved", lambda *a: pytest.fail("asked for nothing"))
    with qtbot.waitSignal(dialog.finished, timeout=WAIT):
        qtbot.keyClick(dialog.table, Qt.Key.Key_Escape)


def test_cancelled_session_is_read_only(qtbot, open_demo, open_register) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    session = _session(ctx)
    person = _demo_people(ctx, 1)[0]
    attendance.save_register(ctx, session.id, [RegisterEntry(person.id)])
    sessions.cancel_session(ctx, session.id, "Lockdown")
    dialog = open_register(ctx, session.id)
    assert dialog.read_only
    assert "cancelled (Lockdown)" in dialog.cancelled_note.message and dialog.cancelled_note.isVisible()
    assert not dialog.find.isEnabled() and not dialog.save_button.isEnabled()
    assert not dialog.last_session_button.isEnabled() and not dialog.new_person_button.isEnabled()
    dialog.table.setFocus()
    for key in ("A", Qt.Key.Key_Space, Qt.Key.Key_Delete, Qt.Key.Key_Return):
        qtbot.keyClick(dialog.table, key)
    assert (dialog.model.row(0).status, dialog.model.row(0).role) == ("present", "participant")
    assert not dialog.model.dirty and "read-only" in dialog.status.text()
    assert not dialog.model.flags(dialog.model.index(0, COL_STATUS)) & Qt.ItemFlag.ItemIsEditable
    shot(dialog, "register-cancelled")


def test_a_session_that_no_longer_exists(qtbot, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    dialog = RegisterDialog(ctx, "no-such-session")
    dialog.show()
    qtbot.waitUntil(lambda: dialog.error.isVisible(), timeout=WAIT)
    assert dialog.error.message == "That session no longer exists."
    assert not dialog.find.isEnabled()
    dialog.close()


def test_save_refused_by_the_service_is_shown(qtbot, open_demo, open_register) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    session = _session(ctx)
    dialog = open_register(ctx, session.id)
    _type_and_add(qtbot, dialog, _demo_people(ctx, 1)[0].display_name)
    sessions.cancel_session(ctx, session.id, "Fire alarm")  # cancelled elsewhere meanwhile
    dialog.table.setFocus()
    qtbot.keyClick(dialog.table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.error.isVisible(), timeout=WAIT)
    assert "cancelled" in dialog.error.message and dialog.model.dirty


def test_screenshot_of_a_full_register(qtbot, open_demo, open_register) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    listed = sessions.list_sessions(ctx, include_cancelled=False, limit=100).items
    biggest = max(listed, key=lambda s: s.on_register)
    dialog = open_register(ctx, biggest.id)
    assert dialog.model.rowCount() == biggest.on_register
    attended, on_register, _, _ = dialog.model.counts()
    assert (attended, on_register) == (biggest.attended, biggest.on_register)
    assert dialog.counts.text() == f"{biggest.attended} present of {biggest.on_register} on the register"
    dialog.resize(980, 760)
    qtbot.wait(50)
    shot(dialog, "register-demo")


# -- the model -----------------------------------------------------------------------------------------


def test_register_model_passes_the_model_tester(qtmodeltester, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    listed = sessions.list_sessions(ctx, include_cancelled=False, limit=10).items
    sheet = attendance.load_register(ctx, listed[0].id)
    model = RegisterModel()
    model.set_choices(sheet.statuses, sheet.roles)
    model.load(sheet.lines)
    model.add_person("someone-new", "Some One", None, None)
    model.set_status(0, "late")
    model.cycle_role(1)
    model.remove(0)
    qtmodeltester.check(model)
    assert model.dirty


def test_matches_model_passes_the_model_tester(qtbot, qtmodeltester, open_demo, open_register) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    dialog = open_register(ctx, _session(ctx).id)
    dialog.find.setFocus()
    qtbot.keyClicks(dialog.find, "a")
    qtbot.waitUntil(lambda: dialog.matches_model.rowCount() > 0, timeout=WAIT)
    qtmodeltester.check(dialog.matches_model)


def test_dialog_is_usable_when_scaled(qtbot, open_demo, open_register) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    dialog = open_register(ctx, _session(ctx).id)
    hint = dialog.sizeHint()
    screen = QApplication.primaryScreen().availableGeometry()
    assert hint.width() <= screen.width() and hint.height() <= screen.height()
    assert dt.date(2026, 11, 3).strftime("%a") in dialog.what.text()
