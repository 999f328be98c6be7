"""The Steering Group report dialog: period and establishment, notes kept per period as a draft,
small numbers hidden unless the person confirms, Save as… in the background, then the folder."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QMessageBox, QPushButton
from sqlalchemy import select

from srcdesk.models import ExportRecord
from srcdesk.reports.periods import plan_quarter
from srcdesk.services.base import Context
from srcdesk.ui.steering_dialog import NOTES_KEY, SteeringDialog

from ..conftest import as_role
from .conftest import WAIT_MS, shot

Q1 = plan_quarter(2025, 1)
TODAY = dt.date(2026, 1, 20)


def pdftotext(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture
def opened(qtbot, office: Context, settings: QSettings):  # noqa: ANN001, ANN201
    def make(ctx: Context = office, period=Q1, establishment_id=None) -> SteeringDialog:  # noqa: ANN001
        dialog = SteeringDialog(ctx, period, establishment_id, settings=settings, today=TODAY)
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitUntil(lambda: dialog._loading is None, timeout=WAIT_MS)
        return dialog
    return make


def _box(dialog: SteeringDialog) -> QMessageBox:
    box = dialog.confirm_box
    assert box is not None and box.isVisible()
    return box


def _click(box: QMessageBox, name: str) -> None:
    box.findChild(QPushButton, name).click()


def test_save_as_writes_the_report_then_offers_the_folder(qtbot, monkeypatch, opened, office, tmp_path) -> None:  # noqa: ANN001
    target = tmp_path / "chosen.pdf"
    asked: list[str] = []
    opened_folders: list[Path] = []
    monkeypatch.setattr(SteeringDialog, "ask_path", classmethod(
        lambda cls, parent, suggested, on_chosen: (asked.append(suggested), on_chosen(target))))
    monkeypatch.setattr(SteeringDialog, "open_folder", classmethod(lambda cls, folder: opened_folders.append(folder)))
    dialog = opened()
    assert dialog.folder_button.isHidden()  # until a report is saved
    assert dialog.current_period() == Q1
    assert dialog.scope.itemText(0) == "All establishments (national)" and dialog.scope.count() >= 16
    dialog.scope.setCurrentIndex(dialog.scope.findText("HMP Perth"))
    qtbot.keyClicks(dialog.notes, "Perth's recovery ")
    dialog.notes.insertPlainText("café reopened in May.")  # (keyClicks types ASCII only)
    shot(dialog, "steering-dialog")
    dialog.save_button.click()
    assert asked == ["steering-group-2025-Q1-PER.pdf"]
    assert dialog.folder_button.isHidden()
    qtbot.waitUntil(lambda: dialog.folder_button.isVisible(), timeout=WAIT_MS)
    text = pdftotext(target)
    assert "HMP Perth" in text and "Q1 2025-26 (April–June 2025)" in text and "Perth's recovery café reopened in May." in text
    assert dialog.status.text() == f"Saved chosen.pdf in {tmp_path}."
    assert dialog.focusWidget() is dialog.folder_button
    dialog.folder_button.click()
    assert opened_folders == [tmp_path]
    with office.db.read() as s:
        [record] = s.execute(select(ExportRecord)).scalars()
    assert (record.what, record.file_name) == ("steering", "chosen.pdf")


def test_the_notes_are_a_draft_kept_per_period(qtbot, opened, settings) -> None:  # noqa: ANN001
    dialog = opened()
    qtbot.keyClicks(dialog.notes, "For Q1.")
    dialog.period.setCurrentIndex(dialog.period.findData("2025-Q2"))
    assert dialog.notes.toPlainText() == ""
    qtbot.keyClicks(dialog.notes, "For Q2.")
    dialog.reject()  # closed: nothing is lost
    assert settings.value(NOTES_KEY.format("2025-Q1")) == "For Q1."
    again = opened(period=plan_quarter(2025, 2))
    assert again.notes.toPlainText() == "For Q2."
    again.period.setCurrentIndex(again.period.findData("2025-Q1"))
    assert again.notes.toPlainText() == "For Q1."
    again.notes.clear()
    assert settings.value(NOTES_KEY.format("2025-Q1")) is None


def test_showing_small_numbers_asks_first_and_marks_the_report(qtbot, monkeypatch, opened, tmp_path) -> None:  # noqa: ANN001
    dialog = opened()
    dialog.suppress.click()
    _click(_box(dialog), "confirmNo")
    assert dialog.suppress.isChecked() and dialog.suppress_note.isHidden()
    dialog.suppress.click()
    _click(_box(dialog), "confirmYes")
    assert not dialog.suppress.isChecked() and "Not for circulation outside SRC" in dialog.suppress_note.text()
    target = tmp_path / "internal.pdf"
    monkeypatch.setattr(SteeringDialog, "ask_path", classmethod(lambda cls, p, s, on_chosen: on_chosen(target)))
    dialog.save_button.click()
    qtbot.waitUntil(lambda: target.exists(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: dialog._task is None, timeout=WAIT_MS)
    assert "Not for circulation outside SRC" in pdftotext(target)
    dialog.suppress.click()  # back on: no question
    assert dialog.suppress.isChecked() and dialog.suppress_note.isHidden()


def test_a_refusal_is_shown_in_the_dialog(qtbot, monkeypatch, opened, tmp_path) -> None:  # noqa: ANN001
    monkeypatch.setattr(SteeringDialog, "ask_path", classmethod(
        lambda cls, p, s, on_chosen: on_chosen(tmp_path / "no such folder" / "r.pdf")))
    dialog = opened()
    dialog.save_button.click()
    qtbot.waitUntil(lambda: dialog.error.isVisible(), timeout=WAIT_MS)
    assert "could not be saved" in dialog.error.text() and dialog.save_button.isEnabled()


def test_a_recorder_sees_why_and_cannot_save(opened, office) -> None:  # noqa: ANN001
    dialog = opened(as_role(office, "recorder"))
    assert not dialog.save_button.isEnabled()
    assert dialog.role_note.text() == ("Only a coordinator can produce the Steering Group report; you are signed in "
                                       "as a recorder.")
    assert dialog.notes.isEnabled()  # notes may be drafted for whoever makes it


def test_the_keyboard_reaches_everything(opened) -> None:  # noqa: ANN001
    dialog = opened()
    for widget in (dialog.period, dialog.scope, dialog.notes, dialog.suppress, dialog.save_button):
        assert widget.focusPolicy() & Qt.FocusPolicy.TabFocus, widget.objectName()
    assert dialog.save_button.isDefault()
