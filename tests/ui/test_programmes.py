"""Programmes and reference data: lists, add/edit with errors under the fields, retire, delete."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from srcdesk.models import ActivityType, MilestoneDefinition, Module, Programme
from srcdesk.services import catalogue
from srcdesk.ui.pages.programmes import ProgrammesPage

from .conftest import PASSWORD, WAIT_MS, shot


def open_page(qtbot, ctx) -> ProgrammesPage:  # noqa: ANN001
    page = ProgrammesPage(ctx)
    qtbot.addWidget(page)
    page.resize(1000, 680)
    page.show()
    page.activate()
    qtbot.waitUntil(lambda: page.loaded and page.programmes.model.rowCount() > 0, timeout=WAIT_MS)
    return page


def click_row(qtbot, section, predicate) -> None:  # noqa: ANN001
    number = section.model.find(predicate)
    assert number >= 0
    view = section.view
    view.scrollTo(section.model.index(number, 0))
    rect = view.visualRect(section.model.index(number, 1))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert section.selected() is section.model.row(number)


def type_into(qtbot, field, text: str) -> None:  # noqa: ANN001
    field.setFocus()
    field.selectAll()
    qtbot.keyClicks(field, text)


def tick(qtbot, box) -> None:  # noqa: ANN001
    box.setFocus()
    qtbot.keyClick(box, Qt.Key.Key_Space)


def codes(section) -> list[str]:  # noqa: ANN001
    return [r.item.code for r in section.model.rows]


def wait_for_code(qtbot, section, code: str, present: bool = True) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: (code in codes(section)) == present and not section.model.loading, timeout=WAIT_MS)


def test_lists_load_and_models_are_sound(qtbot, qtmodeltester, open_demo) -> None:  # noqa: ANN001
    page = open_page(qtbot, open_demo("colin"))
    assert {"RCDT", "RAT", "T4T", "RDA"} <= set(codes(page.programmes))
    assert "cafe" in codes(page.activity_types)
    assert codes(page.ladder)[:2] == ["attender", "regular"]
    assert [s.code for s in page.statuses.model.rows][0] == "present"
    assert "helper" in [r.code for r in page.roles.model.rows]
    # Choosing a programme lists its modules, in order.
    click_row(qtbot, page.programmes, lambda r: r.item.code == "RCDT")
    qtbot.waitUntil(lambda: page.modules.model.rowCount() > 0 and not page.modules.model.loading, timeout=WAIT_MS)
    assert codes(page.modules)[0] == "RCDT01"
    assert page.modules_heading.text().startswith("Modules of SRC Recovery")
    # The ladder says its rules in words, with role names.
    peer = page.ladder.model.find(lambda r: r.item.code == "peer_helper")
    conditions = page.ladder.model.index(peer, 3).data()
    assert conditions == "4 sessions as helper, co-facilitator, lead facilitator or trainer"  # as the ladder says
    for model in page.models:
        qtmodeltester.check(model)
    shot(page, "programmes-tab")
    for i, name in enumerate(("programmes", "activity-types", "ladder", "statuses-roles")):
        page.tabs.setCurrentIndex(i)
        qtbot.wait(50)
        shot(page, f"programmes-{name}")


def test_add_a_programme_and_a_module_with_errors_under_the_fields(qtbot, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("colin")
    page = open_page(qtbot, ctx)
    qtbot.mouseClick(page.programmes.buttons["add"], Qt.MouseButton.LeftButton)
    dialog = page.programmes.dialog
    assert dialog.isVisible() and dialog.focusWidget() is dialog.code
    type_into(qtbot, dialog.code, "PEER MENTOR")  # a space: not a code
    type_into(qtbot, dialog.name, "Peer mentoring")
    shot(dialog, "programme-dialog-empty")
    qtbot.keyClick(dialog.name, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.errors["code"].isVisible(), timeout=WAIT_MS)
    assert "letters, digits" in dialog.errors["code"].message
    assert not dialog.errors["name"].isVisible()
    shot(dialog, "programme-dialog-error")
    type_into(qtbot, dialog.code, "RCDT")  # already in use
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "already in use" in dialog.errors["code"].message, timeout=WAIT_MS)
    type_into(qtbot, dialog.code, "PM")
    with qtbot.waitSignal(dialog.saved, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    wait_for_code(qtbot, page.programmes, "PM")
    qtbot.waitUntil(lambda: page.programmes.selected() is not None
                    and page.programmes.selected().item.code == "PM", timeout=WAIT_MS)
    assert page.status.text().startswith("Added programme PM")
    assert page.modules_heading.text() == "Modules of Peer mentoring"
    assert page.programmes.buttons["delete"].isEnabled()  # nothing uses it yet

    qtbot.waitUntil(lambda: not page.modules.model.loading, timeout=WAIT_MS)
    qtbot.mouseClick(page.modules.buttons["add"], Qt.MouseButton.LeftButton)
    mdialog = page.modules.dialog
    assert mdialog.findChild(QWidget, "programmeLabel").text() == "Peer mentoring (PM)"
    type_into(qtbot, mdialog.code, "PM01")
    shot(mdialog, "module-dialog")
    qtbot.mouseClick(mdialog.save_button, Qt.MouseButton.LeftButton)  # no name
    qtbot.waitUntil(lambda: mdialog.errors["name"].isVisible(), timeout=WAIT_MS)
    assert mdialog.errors["name"].message == "Name is required."
    type_into(qtbot, mdialog.name, "Listening well")
    with qtbot.waitSignal(mdialog.saved, timeout=WAIT_MS):
        qtbot.mouseClick(mdialog.save_button, Qt.MouseButton.LeftButton)
    wait_for_code(qtbot, page.modules, "PM01")
    qtbot.waitUntil(lambda: not page.programmes.model.loading and page.programmes.selected() is not None,
                    timeout=WAIT_MS)
    # Now the programme is used by its module: it can be retired, not deleted.
    qtbot.waitUntil(lambda: page.programmes.selected().in_use, timeout=WAIT_MS)
    assert not page.programmes.buttons["delete"].isEnabled()
    module = next(m for m in catalogue.list_all(ctx, Module) if m.code == "PM01")
    assert module.name == "Listening well" and module.programme_id == page.programmes.selected().item.id


def test_retire_what_is_used_and_bring_it_back(qtbot, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("colin")
    page = open_page(qtbot, ctx)
    page.tabs.setCurrentIndex(1)
    section = page.activity_types
    click_row(qtbot, section, lambda r: r.item.code == "cafe")
    assert section.selected().in_use
    delete = section.buttons["delete"]
    assert not delete.isEnabled() and "retire it instead" in delete.toolTip()
    section.delete()  # even asked directly, nothing is offered
    assert not any(isinstance(w, QWidget) and w.objectName() == "deleteDialog" and w.isVisible()
                   for w in QApplication.topLevelWidgets())
    assert section.buttons["retire"].text() == "&Retire activity type"
    qtbot.mouseClick(section.buttons["retire"], Qt.MouseButton.LeftButton)
    wait_for_code(qtbot, section, "cafe", present=False)
    assert page.status.text().startswith("Retired activity type cafe")
    assert next(a for a in catalogue.list_all(ctx, ActivityType, include_retired=True) if a.code == "cafe").retired

    qtbot.mouseClick(page.show_retired, Qt.MouseButton.LeftButton)
    wait_for_code(qtbot, section, "cafe")
    click_row(qtbot, section, lambda r: r.item.code == "cafe")
    row = section.model.find(lambda r: r.item.code == "cafe")
    assert section.model.index(row, 3).data() == "Retired"
    shot(page, "programmes-retired")
    assert section.buttons["retire"].text() == "&Bring back activity type"
    qtbot.mouseClick(section.buttons["retire"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.status.text().startswith("Brought back"), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not section.model.loading
                    and section.model.index(section.model.find(lambda r: r.item.code == "cafe"), 3).data() == "",
                    timeout=WAIT_MS)
    with pytest.raises(Exception, match="retire it instead"):
        catalogue.delete(ctx, ActivityType, row_id=section.model.row(row).item.id, reason="test")


def test_delete_something_never_used(qtbot, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("colin")
    catalogue.create(ctx, ActivityType, code="typo", name="Recovery cafe (typo)")
    listed = {r.item.code: r.in_use for r in catalogue.list_with_usage(ctx, ActivityType)}
    assert listed["typo"] is False and listed["cafe"] is True
    page = open_page(qtbot, ctx)
    page.tabs.setCurrentIndex(1)
    section = page.activity_types
    click_row(qtbot, section, lambda r: r.item.code == "typo")
    assert section.buttons["delete"].isEnabled()
    qtbot.mouseClick(section.buttons["delete"], Qt.MouseButton.LeftButton)
    dialog = section.dialog
    assert dialog.objectName() == "deleteDialog" and dialog.focusWidget() is dialog.reason
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)  # no reason
    assert dialog.errors["reason"].message == "Say why this is being deleted."
    shot(dialog, "delete-dialog")
    qtbot.keyClicks(dialog.reason, "added by mistake")
    with qtbot.waitSignal(dialog.saved, timeout=WAIT_MS):
        qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    wait_for_code(qtbot, section, "typo", present=False)
    assert page.status.text() == "Deleted activity type typo — Recovery cafe (typo)."
    assert "typo" not in [a.code for a in catalogue.list_all(ctx, ActivityType, include_retired=True)]


def test_the_ladder_is_kept_at_the_office(qtbot, open_demo) -> None:  # noqa: ANN001
    """At an establishment the ladder, the attendance codes and roles are shown, not changed: the
    office would refuse its bundle for it. The page says so instead of offering buttons."""
    page = open_page(qtbot, open_demo("colin"))
    assert page.ladder.buttons == {} and not page.ladder.editable
    note = page.ladder.findChild(QLabel, "ladderKeptElsewhere")
    assert note is not None and "kept at the SRC office" in note.text()
    assert page.programmes.buttons  # programmes are the coordinators' to change anywhere


def test_ladder_level_rules_with_a_form(qtbot, office_data, request) -> None:  # noqa: ANN001
    """At the office, where the ladder is kept."""
    from srcdesk.services.setup import open_installation
    from srcdesk.services.users import authenticate

    ctx = open_installation(office_data)
    request.addfinalizer(ctx.db.close)
    ctx = ctx.signed_in(authenticate(ctx.db, "phr", PASSWORD))
    page = open_page(qtbot, ctx)
    page.tabs.setCurrentIndex(2)
    qtbot.mouseClick(page.ladder.buttons["add"], Qt.MouseButton.LeftButton)
    dialog = page.ladder.dialog
    qtbot.waitUntil(lambda: dialog.choices_loaded, timeout=WAIT_MS)
    type_into(qtbot, dialog.code, "mentor")
    type_into(qtbot, dialog.name, "Peer mentor")
    rules = dialog.rules_editor
    tick(qtbot, rules.use_role)
    assert rules.roles.isEnabled()
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.errors["rules"].message == "Tick at least one role that counts."
    rules.set_role_checked("trainer")
    rules.role_count.setValue(3)
    tick(qtbot, rules.use_attended)
    rules.attended.setValue(10)
    tick(qtbot, rules.use_within)
    rules.within.setValue(120)
    tick(qtbot, rules.use_programme)
    rules.programme.setCurrentIndex(rules.programme.findData("T4T"))
    shot(dialog, "ladder-dialog")
    with qtbot.waitSignal(dialog.saved, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    wait_for_code(qtbot, page.ladder, "mentor")
    level = next(d for d in catalogue.list_all(ctx, MilestoneDefinition) if d.code == "mentor")
    assert json.loads(level.rules) == {"attended_sessions": 10, "within_days": 120, "programme_completed": "T4T",
                                       "role_sessions": {"roles": ["trainer"], "count": 3}}
    assert level.level == 7  # on top of the six shipped levels

    # Editing shows the rules in the form as they are.
    click_row(qtbot, page.ladder, lambda r: r.item.code == "regular")
    qtbot.mouseClick(page.ladder.buttons["edit"], Qt.MouseButton.LeftButton)
    edit = page.ladder.dialog
    qtbot.waitUntil(lambda: edit.choices_loaded, timeout=WAIT_MS)
    assert edit.rules_editor.use_attended.isChecked() and edit.rules_editor.attended.value() == 6
    assert edit.rules_editor.use_within.isChecked() and edit.rules_editor.within.value() == 84
    assert not edit.rules_editor.use_role.isChecked() and not edit.rules_editor.use_programme.isChecked()
    assert not edit.dirty
    edit.reject()  # nothing changed: closes without asking
    assert not edit.isVisible()


def test_escape_with_changes_asks_before_discarding(qtbot, open_demo) -> None:  # noqa: ANN001
    page = open_page(qtbot, open_demo("colin"))
    click_row(qtbot, page.programmes, lambda r: r.item.code == "RAT")
    qtbot.mouseClick(page.programmes.buttons["edit"], Qt.MouseButton.LeftButton)
    dialog = page.programmes.dialog
    assert dialog.code.text() == "RAT"
    qtbot.keyClicks(dialog.name, " (recruits)")
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    box = dialog.confirm_box
    assert box is not None and box.isVisible() and dialog.isVisible()
    qtbot.mouseClick(box.findChild(QWidget, "confirmNo"), Qt.MouseButton.LeftButton)
    assert dialog.isVisible()
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert dialog.confirm_box is not box
    box = dialog.confirm_box
    qtbot.waitUntil(lambda: box.isVisible(), timeout=WAIT_MS)
    qtbot.mouseClick(box.findChild(QWidget, "confirmYes"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=WAIT_MS)
    assert [p.name for p in catalogue.list_all(page.ctx, Programme) if p.code == "RAT"] == \
        ["Recovery Awareness Training"]


def test_only_coordinators_and_administrators_see_the_page(open_demo) -> None:  # noqa: ANN001
    assert not ProgrammesPage.allowed(open_demo("rita"))
    assert ProgrammesPage.allowed(open_demo("colin"))
    assert ProgrammesPage.allowed(open_demo("admin"))
