""""Export…" under the lists: the dialog (format, file), the list's filters passed through, the
export in the background with the message at the end, Cancel, and a recorder told why not."""

from __future__ import annotations

import csv
import io
import threading
import zipfile
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QProgressDialog, QPushButton
from sqlalchemy import select

from srcdesk.models import ExportRecord
from srcdesk.reports import exports as writer
from srcdesk.ui import export as export_ui
from srcdesk.ui.export import ExportButton, ExportDialog
from srcdesk.ui.pages.certificates import CertificatesPage
from srcdesk.ui.pages.people import PeoplePage
from srcdesk.ui.pages.sessions import SessionsPage

from .conftest import WAIT_MS, shot


def _records(ctx) -> list[ExportRecord]:  # noqa: ANN001
    with ctx.db.read() as s:
        return list(s.execute(select(ExportRecord).order_by(ExportRecord.exported_at)).scalars())


def _open(qtbot, button: ExportButton) -> ExportDialog:  # noqa: ANN001
    button.setFocus()
    qtbot.keyClick(button, Qt.Key.Key_Space)  # keyboard reachable: Space on the focused button
    dialog = button.dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=WAIT_MS)
    return dialog


def test_sessions_export_with_the_lists_filters(qtbot, open_demo, demo_today, tmp_path: Path) -> None:  # noqa: ANN001
    ctx = open_demo("rita")  # a recorder: sessions hold no names
    page = SessionsPage(ctx)
    qtbot.addWidget(page)
    page.resize(1000, 640)
    page.show()
    page.refresh()
    qtbot.waitUntil(lambda: not page.model.loading and page.model.rowCount() > 0, timeout=WAIT_MS)
    page.search.setText("recovery")
    qtbot.waitUntil(lambda: not page._timer.isActive() and not page.model.loading, timeout=WAIT_MS)  # noqa: SLF001
    while page.model.canFetchMore(page.model.index(0, 0).parent()):
        page.model.fetchMore(page.model.index(0, 0).parent())
        qtbot.waitUntil(lambda: not page.model.loading, timeout=WAIT_MS)
    shown = page.model.rowCount()
    assert shown > 0

    dialog = _open(qtbot, page.export_button)
    shot(dialog, "export-dialog-sessions")
    assert dialog.export_button.isVisible() and dialog.xlsx.isChecked()
    assert dialog.path.text().endswith(".xlsx")
    qtbot.mouseClick(dialog.csv, Qt.MouseButton.LeftButton)
    assert dialog.path.text().endswith(".csv")
    target = tmp_path / "sessions"  # the ending is added
    dialog.path.setText(str(target))
    with qtbot.waitSignal(dialog.exported, timeout=WAIT_MS, raising=False) as done:
        qtbot.keyClick(dialog.path, Qt.Key.Key_Return)
    assert done.signal_triggered, dialog.error.text()
    result = done.args[0]
    assert result.rows == shown and result.path == tmp_path / "sessions.csv"
    assert page.status.text() == f"Exported {shown:,} rows of sessions to sessions.csv."
    rows = list(csv.DictReader(io.StringIO((tmp_path / "sessions.csv").read_text("utf-8-sig"))))
    assert len(rows) == shown
    [rec] = _records(ctx)
    assert rec.what == "sessions" and '"search": "recovery"' in rec.filters and rec.rows == shown


def _shown(qtbot, page_type, ctx):  # noqa: ANN001, ANN202
    page = page_type(ctx)
    qtbot.addWidget(page)
    page.show()
    return page


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """A folder for the exports alone (the demo's data folder is beside it)."""
    folder = tmp_path / "exports"
    folder.mkdir()
    return folder


def test_a_recorder_is_told_why_people_are_not_exported(qtbot, open_demo, out: Path) -> None:  # noqa: ANN001
    tmp_path = out
    ctx = open_demo("rita")
    page = _shown(qtbot, PeoplePage, ctx)
    assert page.export_button.isEnabled()  # found where it is looked for, with the reason inside
    assert page.export_button.toolTip().startswith("Only a coordinator can export lists with people's names")
    dialog = _open(qtbot, page.export_button)
    shot(dialog, "export-dialog-refused")
    assert dialog.why_not.isVisible() and "you are signed in as a recorder" in dialog.why_not.text()
    assert not dialog.export_button.isVisible() and not dialog.path.isEnabled()
    dialog.start()  # nothing happens
    assert dialog.task is None and _records(ctx) == [] and list(tmp_path.iterdir()) == []
    close = dialog.buttons.findChildren(QPushButton)
    assert any(b.text() == "Close" for b in close)


def test_a_coordinator_exports_people_as_xlsx_from_the_keyboard(qtbot, open_demo, tmp_path: Path,
                                                               monkeypatch) -> None:  # noqa: ANN001
    ctx = open_demo("colin")
    page = PeoplePage(ctx)
    qtbot.addWidget(page)
    page.show()
    page.refresh()
    qtbot.waitUntil(lambda: not page.model.loading and page.model.rowCount() > 0, timeout=WAIT_MS)
    chosen = tmp_path / "chosen.xlsx"
    monkeypatch.setattr(export_ui, "ask_save_path", lambda parent, suggested, fmt, on_chosen: on_chosen(chosen))
    dialog = _open(qtbot, page.export_button)
    qtbot.mouseClick(dialog.browse, Qt.MouseButton.LeftButton)
    assert dialog.path.text() == str(chosen)
    with qtbot.waitSignal(dialog.exported, timeout=WAIT_MS) as done:
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert done.args[0].rows > 10 and not dialog.isVisible()
    with zipfile.ZipFile(chosen) as z:
        assert "xl/tables/table1.xml" in z.namelist()
    assert "rows of people to chosen.xlsx" in page.status.text()
    assert _records(ctx)[0].personal


def test_cancel_leaves_no_file_and_no_record(qtbot, open_demo, out: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(writer, "PROGRESS_EVERY", 1)
    tmp_path = out
    ctx = open_demo("colin")
    page = _shown(qtbot, CertificatesPage, ctx)
    pressed = threading.Event()
    original = writer._Ticker.check  # noqa: SLF001

    def check_after_cancel(self, done: int) -> None:  # noqa: ANN001 - runs in the export's thread
        pressed.wait(WAIT_MS / 1000)  # the person presses Cancel while the export runs
        original(self, done)

    monkeypatch.setattr(writer._Ticker, "check", check_after_cancel)  # noqa: SLF001
    dialog = _open(qtbot, page.export_button)
    dialog.path.setText(str(tmp_path / "certs.xlsx"))
    dialog.start()
    progress = dialog.progress
    assert isinstance(progress, QProgressDialog) and progress.labelText() == "Exporting certificates…"
    progress.canceled.emit()  # the person presses Cancel
    pressed.set()
    qtbot.waitUntil(lambda: dialog.task is None, timeout=WAIT_MS)
    assert dialog.error.text() == "The export was cancelled; no file was saved."
    assert dialog.isVisible() and dialog.export_button.isEnabled()
    assert list(tmp_path.iterdir()) == [] and _records(ctx) == []


@pytest.mark.parametrize("size", [(1366, 768), (1024, 600)])
def test_export_button_fits_the_pages(qtbot, open_demo, demo_today, size) -> None:  # noqa: ANN001
    ctx = open_demo("colin")
    for page_type in (SessionsPage, PeoplePage, CertificatesPage):
        page = page_type(ctx)
        qtbot.addWidget(page)
        page.resize(*size)
        page.show()
        qtbot.waitUntil(page.export_button.isVisible, timeout=WAIT_MS)
        button = page.export_button
        top_left = button.mapTo(page, button.rect().topLeft())
        assert top_left.x() + button.width() <= page.width() and top_left.y() + button.height() <= page.height()
        shot(page, f"export-{page_type.__name__}-{size[0]}")
