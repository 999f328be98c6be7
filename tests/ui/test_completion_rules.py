"""The completion rule of a programme or module: a small form in its dialog on the Programmes page
(not JSON), shown in words in the lists ("Completed when")."""

from __future__ import annotations

from PySide6.QtCore import Qt

from srcdesk.models import Module, Programme
from srcdesk.services import catalogue

from .conftest import WAIT_MS, shot
from .test_programmes import click_row, open_page, tick, type_into


def _completed_when(section, code: str) -> str:  # noqa: ANN001
    row = section.model.find(lambda r: r.item.code == code)
    column = next(i for i in range(section.model.columnCount()) if section.model.headerData(
        i, Qt.Orientation.Horizontal) == "Completed when")
    return section.model.index(row, column).data()


def _rule(ctx, model, row_id: str) -> str | None:  # noqa: ANN001
    return next(r for r in catalogue.list_all(ctx, model, include_retired=True) if r.id == row_id).completion_rule


def test_edit_a_programmes_rule_with_the_form(qtbot, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("colin")
    page = open_page(qtbot, ctx)
    assert _completed_when(page.programmes, "RCDT") == "Every module completed"
    assert _completed_when(page.programmes, "RAT") == "Attended 1 session of any module"
    click_row(qtbot, page.programmes, lambda r: r.item.code == "RAT")
    qtbot.mouseClick(page.programmes.buttons["edit"], Qt.MouseButton.LeftButton)
    dialog = page.programmes.dialog
    editor = dialog.rule_editor
    assert editor.attended_rule.isChecked() and editor.attended.value() == 1
    assert editor.all_modules.isVisible() and not editor.within.isEnabled()
    type_into(qtbot, editor.attended, "3")
    tick(qtbot, editor.use_within)
    assert editor.within.isEnabled()
    type_into(qtbot, editor.within, "30")
    assert dialog.dirty
    shot(dialog, "programme-rule-dialog")
    with qtbot.waitSignal(dialog.saved, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert _rule(ctx, Programme, "prog-rat") == '{"attended_sessions": 3, "within_days": 30}'
    qtbot.waitUntil(lambda: _completed_when(page.programmes, "RAT")
                    == "Attended 3 sessions of any module within 30 days", timeout=WAIT_MS)

    # every module completed, then no rule at all
    qtbot.mouseClick(page.programmes.buttons["edit"], Qt.MouseButton.LeftButton)
    dialog = page.programmes.dialog
    assert dialog.rule_editor.use_within.isChecked() and dialog.rule_editor.within.value() == 30
    qtbot.mouseClick(dialog.rule_editor.all_modules, Qt.MouseButton.LeftButton)
    assert not dialog.rule_editor.attended.isEnabled()
    with qtbot.waitSignal(dialog.saved, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert _rule(ctx, Programme, "prog-rat") == '{"modules_completed": "all"}'
    qtbot.waitUntil(lambda: _completed_when(page.programmes, "RAT") == "Every module completed", timeout=WAIT_MS)
    qtbot.mouseClick(page.programmes.buttons["edit"], Qt.MouseButton.LeftButton)
    dialog = page.programmes.dialog
    assert dialog.rule_editor.all_modules.isChecked()
    qtbot.mouseClick(dialog.rule_editor.no_rule, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(dialog.saved, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert _rule(ctx, Programme, "prog-rat") is None
    qtbot.waitUntil(lambda: _completed_when(page.programmes, "RAT") == "No rule", timeout=WAIT_MS)


def test_a_modules_rule_has_no_every_module_choice(qtbot, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("colin")
    page = open_page(qtbot, ctx)
    click_row(qtbot, page.programmes, lambda r: r.item.code == "T4T")
    qtbot.waitUntil(lambda: page.modules.model.rowCount() > 0 and not page.modules.model.loading, timeout=WAIT_MS)
    assert _completed_when(page.modules, "T4T01") == "Attended 1 session"
    click_row(qtbot, page.modules, lambda r: r.item.code == "T4T01")
    qtbot.mouseClick(page.modules.buttons["edit"], Qt.MouseButton.LeftButton)
    dialog = page.modules.dialog
    editor = dialog.rule_editor
    assert not editor.all_modules.isVisible() and editor.all_modules not in editor.chain()
    type_into(qtbot, editor.attended, "2")
    tick(qtbot, editor.use_within)
    type_into(qtbot, editor.within, "7")
    shot(dialog, "module-rule-dialog")
    with qtbot.waitSignal(dialog.saved, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert _rule(ctx, Module, "mod-t4t-01") == '{"attended_sessions": 2, "within_days": 7}'
    qtbot.waitUntil(lambda: _completed_when(page.modules, "T4T01") == "Attended 2 sessions within 7 days",
                    timeout=WAIT_MS)
