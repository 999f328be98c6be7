"""The Workplan tab on its own: plan year chooser, focus establishments (a warning outside 3-5),
targets with progress, the add / edit / remove dialogs for coordinators at the office, read-only
with the reason for everyone else."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from srcdesk.reports.indicators import Ratio
from srcdesk.services import plans
from srcdesk.ui.workplan import NewPlanYearDialog, RemoveTargetDialog, TargetDialog, WorkplanView

from ..conftest import as_role
from .conftest import WAIT_MS, shot

TODAY = dt.date(2025, 10, 1)  # half way through plan year 2025-26


@pytest.fixture(autouse=True)
def fixed_figures(monkeypatch) -> None:  # noqa: ANN001
    """The indicators (helper A's) replaced by fixed figures."""
    values = {None: {"sessions": 900, "rat_coverage": Ratio(9, 10), "people": 50},
              "est-per": {"sessions": 40, "rat_coverage": Ratio(2, 2), "people": 8}}
    monkeypatch.setattr(plans, "value_for", lambda ctx, period, code, est: values[est].get(code))


def _view(qtbot, ctx) -> WorkplanView:  # noqa: ANN001
    view = WorkplanView(ctx, today=lambda: TODAY)
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.loaded, timeout=WAIT_MS):
        view.show()
    return view


def _reloaded(qtbot, view: WorkplanView, action) -> None:  # noqa: ANN001
    with qtbot.waitSignal(view.loaded, timeout=WAIT_MS):
        action()


def test_a_coordinator_at_the_office_sets_focus_and_targets(qtbot, office) -> None:  # noqa: ANN001
    boss = as_role(office, "coordinator", "cora")
    view = _view(qtbot, boss)
    assert view.year_combo.currentText() == "Plan year 2025-26" and view.year_dates.text() == "1 Apr 2025 – 31 Mar 2026"
    assert not view.read_only_note.isVisible() and view.add_button.isVisible() and view.new_year_button.isVisible()
    # Focus: every establishment checkable; two of them is outside the strategy's 3-5: a warning.
    assert view.focus_list.count() >= 15
    names = {view.focus_list.item(i).text(): view.focus_list.item(i) for i in range(view.focus_list.count())}
    for name in ("HMP Perth", "HMP Barlinnie"):
        names[name].setCheckState(Qt.CheckState.Checked)
    assert view.focus_warning.isVisible() and "this plan year has 2" in view.focus_warning.text()
    names["HMP Edinburgh"].setCheckState(Qt.CheckState.Checked)
    assert not view.focus_warning.isVisible() and view.save_focus_button.isEnabled()
    _reloaded(qtbot, view, view.save_focus_button.click)
    assert {e.code for e in plans.focus(boss, "py-2025")} == {"PER", "BAR", "EDI"}
    assert not view.save_focus_button.isEnabled()

    # Add a target: RAT coverage is a percentage (the spin box stops at 100).
    view.add_button.click()
    dialog = view.findChild(TargetDialog)
    dialog.indicator.setCurrentIndex(dialog.indicator.findData("rat_coverage"))
    assert dialog.value.maximum() == 100 and dialog.value.suffix() == " %" and dialog.value.value() == 100
    dialog.description.setPlainText("Recovery Awareness Training for every new recruit cohort.")
    _reloaded(qtbot, view, dialog.save_button.click)
    row = view.model.find(lambda p: p.target.code == "rat_coverage")
    p = view.model.row(row)
    assert (p.shown_actual, p.status) == ("90 %", "behind")
    texts = [view.model.index(row, c).data() for c in range(view.model.columnCount())]
    assert texts[:6] == ["RAT coverage", "All establishments", "100 %", "90 %", "90%", "Behind"]
    # A Perth target for sessions: 40 of 60 by half way through the year (30 needed): on track.
    view.add_button.click()
    dialog = view.findChild(TargetDialog)
    dialog.establishment.setCurrentIndex(dialog.establishment.findData("est-per"))
    dialog.value.setValue(60)
    dialog.description.setPlainText("Sessions at Perth.")
    _reloaded(qtbot, view, dialog.save_button.click)
    row = view.model.find(lambda p: p.target.code == "sessions" and p.target.establishment_id == "est-per")
    assert view.model.index(row, 5).data() == "On track"
    shot(view, "workplan-office")

    # Edit its number (Enter on the row opens it); the indicator and establishment stay.
    view.table.selectRow(row)
    view.table.activated.emit(view.model.index(row, 0))
    dialog = view.findChild(TargetDialog)
    assert not dialog.indicator.isEnabled() and dialog.value.value() == 60
    dialog.value.setValue(30)
    _reloaded(qtbot, view, dialog.save_button.click)
    row = view.model.find(lambda p: p.target.code == "sessions" and p.target.establishment_id == "est-per")
    assert view.model.index(row, 5).data() == "Met"

    # Remove: a reason first, then one more question.
    view.table.selectRow(row)
    view.remove_button.click()
    dialog = view.findChild(RemoveTargetDialog)
    dialog.save_button.click()
    assert "Say why" in dialog.errors["reason"].message and dialog.question_box is None
    dialog.reason.setText("Set twice")
    dialog.save_button.click()
    assert dialog.question_box is not None
    _reloaded(qtbot, view, dialog.question_box.findChild(QPushButton, "confirmYes").click)
    assert view.model.find(lambda p: p.target.establishment_id == "est-per") == -1


def test_a_new_plan_year_suggests_the_next_and_is_shown(qtbot, office) -> None:  # noqa: ANN001
    view = _view(qtbot, as_role(office, "coordinator", "cora"))
    view.new_year_button.click()
    dialog = view.findChild(NewPlanYearDialog)
    assert dialog.code.text() == "2031-32"  # the reference data runs to 2030-31
    _reloaded(qtbot, view, dialog.save_button.click)
    assert view.year_combo.currentText() == "Plan year 2031-32" and view.model.rowCount() == 0
    assert "Added Plan year 2031-32" in view.status.text()


def test_a_recorder_at_the_office_sees_it_read_only_with_the_reason(qtbot, office) -> None:  # noqa: ANN001
    view = _view(qtbot, as_role(office, "recorder", "rob"))
    assert view.read_only_note.isVisible()
    assert view.read_only_note.text().startswith("Read only. Only a coordinator can set plan years")
    for b in (view.add_button, view.edit_button, view.remove_button, view.new_year_button, view.save_focus_button):
        assert not b.isVisible()
    item = view.focus_list.item(0)
    assert not item.flags() & Qt.ItemFlag.ItemIsUserCheckable


def test_an_establishment_sees_its_own_focus_and_the_reason(qtbot, ctx) -> None:  # noqa: ANN001
    view = _view(qtbot, as_role(ctx, "coordinator", "colin"))
    assert view.read_only_note.text() == "Read only. The workplan is set at the SRC office."
    assert [view.focus_list.item(i).text() for i in range(view.focus_list.count())] == [
        "HMP Perth is not a focus establishment in 2025-26."]
    assert not view.focus_warning.isVisible() and not view.add_button.isVisible()
    # The reference data's national RAT target, measured here as Perth's own percentage (2 of 2).
    [rat] = view.model.rows
    assert (rat.target.label, rat.status, rat.shown_actual) == ("RAT coverage", "met", "100 %")
    assert "own percentage" in view.model.index(0, 3).data(Qt.ItemDataRole.ToolTipRole)
    shot(view, "workplan-perth")


def test_the_plan_year_chooser_switches_years(qtbot, office) -> None:  # noqa: ANN001
    view = _view(qtbot, as_role(office, "recorder", "rob"))
    index = view.year_combo.findText("Plan year 2023-24 (Year 3)")
    view.year_combo.setCurrentIndex(index)
    _reloaded(qtbot, view, lambda: view.year_combo.activated.emit(index))
    assert view.year_combo.currentText() == "Plan year 2023-24 (Year 3)"
    assert any(p.target.code == "t4t_rollout" for p in view.model.rows)


def test_keyboard_enter_edits_and_delete_removes(qtbot, office) -> None:  # noqa: ANN001
    boss = as_role(office, "coordinator", "cora")
    plans.add_target(boss, "py-2025", code="sessions", description="Sessions", target_value=10)
    view = _view(qtbot, boss)
    row = view.model.find(lambda p: p.target.code == "sessions")
    view.table.setFocus()
    view.table.selectRow(row)
    qtbot.keyClick(view.table, Qt.Key.Key_Return)
    dialog = view.findChild(TargetDialog)
    assert dialog is not None and dialog.isVisible() and dialog.focusWidget() is dialog.value
    dialog.cancel_button.click()
    qtbot.keyClick(view.table, Qt.Key.Key_Delete)
    assert view.findChild(RemoveTargetDialog).isVisible()
    assert view.year_combo.accessibleName() == "Plan year" and view.table.accessibleName() == "Targets and progress"
