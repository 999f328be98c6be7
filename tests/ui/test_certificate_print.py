"""Print preview and printing of a saved certificates PDF (srcdesk.ui.certificate_print): the
pages come from that PDF (rasterised by pypdfium2), printing runs in the background with
progress and can be cancelled. A QPrinter writing a PDF stands in for a real printer."""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
import pytest
import zxingcpp
from PySide6.QtPrintSupport import QPrinter, QPrintPreviewWidget
from PySide6.QtWidgets import QWidget

from srcdesk.errors import Cancelled
from srcdesk.reports import certificates as pdf
from srcdesk.reports.certificate_samples import sample_content
from srcdesk.sync import certcode
from srcdesk.sync.minisign import SigningKey
from srcdesk.ui import certificate_print as cp

from .conftest import WAIT_MS

KEY = SigningKey.generate()


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, list]:
    contents = [sample_content(KEY, n) for n in range(1, 4)]
    return pdf.write_pdf(contents, pdf.NO_DESIGN, tmp_path / "batch.pdf"), contents


def pdf_printer(path: Path, dpi: int = 200) -> QPrinter:
    printer = cp.new_printer()
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(path))
    printer.setResolution(dpi)
    return printer


def codes_on(path: Path) -> list[str]:
    doc = pdfium.PdfDocument(str(path))
    try:
        found = []
        for page in doc:
            bitmap = page.render(scale=200 / 72, grayscale=True)
            image = memoryview(bytes(bitmap.buffer)).cast("B", (bitmap.height, bitmap.stride))
            found += [r.text for r in zxingcpp.read_barcodes(image)]
        return found
    finally:
        doc.close()


def test_printing_draws_every_page_of_the_saved_pdf(saved, tmp_path: Path) -> None:  # noqa: ANN001
    path, contents = saved
    out = tmp_path / "printed.pdf"
    seen = []
    assert cp.print_pdf(pdf_printer(out), path, progress=lambda d, t, w: seen.append((d, t))) == 3
    assert seen == [(1, 3), (2, 3), (3, 3)]
    assert cp.page_count(out) == 3
    printed = codes_on(out)  # the printed pages, read back: the same signed codes, in order
    assert printed == [c.code for c in contents]
    assert all(certcode.decode(text).verifies(KEY.public()) for text in printed)


def test_printing_in_the_background_with_progress(qtbot, saved, tmp_path: Path) -> None:  # noqa: ANN001
    path, contents = saved
    out = tmp_path / "printed.pdf"
    parent = QWidget()
    qtbot.addWidget(parent)
    outcome = []
    task = cp.start_printing(parent, pdf_printer(out, 150), path, on_done=lambda r, e: outcome.append((r, e)))
    progress = []
    task.progress.connect(lambda d, t, w: progress.append(d))
    qtbot.waitUntil(lambda: bool(outcome), timeout=WAIT_MS)
    assert outcome == [(3, None)] and cp.page_count(out) == 3
    assert codes_on(out) == [c.code for c in contents]


def test_cancelling_printing_stops_it(saved, tmp_path: Path) -> None:  # noqa: ANN001
    path, _contents = saved
    seen = []
    with pytest.raises(Cancelled):
        cp.print_pdf(pdf_printer(tmp_path / "printed.pdf"), path, progress=lambda d, t, w: seen.append(d),
                     cancelled=lambda: len(seen) >= 1)
    assert seen == [1]


def test_a_missing_pdf_is_said_plainly(tmp_path: Path) -> None:
    with pytest.raises(cp.PrintFailed, match="can't be opened"):
        cp.print_pdf(pdf_printer(tmp_path / "out.pdf"), tmp_path / "gone.pdf")


def test_the_preview_shows_the_pages_of_the_saved_pdf(qtbot, saved) -> None:  # noqa: ANN001
    path, _contents = saved
    parent = QWidget()
    qtbot.addWidget(parent)
    opened = []
    cp.preview(parent, path, on_open=opened.append)
    qtbot.waitUntil(lambda: bool(opened), timeout=WAIT_MS)
    dialog = opened[0]
    assert isinstance(dialog, cp.CertificatePreview) and dialog.isVisible()
    widget = dialog.findChild(QPrintPreviewWidget)
    qtbot.waitUntil(lambda: widget.pageCount() == 3, timeout=WAIT_MS)
    first = dialog.images[0]
    dpi, _grey = cp.preview_dpi(3)
    assert abs(first.width() - 11.69 * dpi) < 3 and first.width() > first.height()  # A4 landscape
    # Its Print button prints the saved PDF, through the system's print dialog (not the preview's images).
    assert dialog.print_action is not None
    dialog.print_action.trigger()
    assert dialog.print_dialog is not None and dialog.print_dialog.isVisible()
    assert not dialog.isVisible()
    dialog.print_dialog.reject()


def test_the_preview_s_own_paint_draws_every_page(qtbot, saved, tmp_path: Path) -> None:  # noqa: ANN001
    path, contents = saved
    images = cp.rasterise(path, 150)
    out = tmp_path / "preview.pdf"
    cp.paint_images(pdf_printer(out, 150), images)
    assert cp.page_count(out) == 3 and codes_on(out) == [c.code for c in contents]


def test_the_preview_of_a_long_batch_stays_within_its_memory() -> None:
    assert cp.preview_dpi(3) == (cp.PREVIEW_MAX_DPI, False)
    dpi, grey = cp.preview_dpi(1000)
    assert grey and cp.PREVIEW_MIN_DPI <= dpi < 96
    assert 1000 * 11.69 * 8.27 * dpi * dpi <= cp.PREVIEW_BUDGET_BYTES * 1.01


def test_cancel_on_the_progress_dialog_reaches_the_work(qtbot) -> None:  # noqa: ANN001
    import time

    from srcdesk.ui.progress import run_with_progress

    def work(*, progress, cancelled) -> str:  # noqa: ANN001
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if cancelled():
                raise Cancelled("stopped")
            time.sleep(0.01)
        return "ran to the end"

    parent = QWidget()
    qtbot.addWidget(parent)
    outcome = []
    task, dialog = run_with_progress(parent, work, title="Work", label="Working…", reports_progress=True,
                                     cancellable=True, delay_ms=0,
                                     on_result=outcome.append, on_error=outcome.append)
    qtbot.waitUntil(dialog.isVisible, timeout=WAIT_MS)
    from PySide6.QtWidgets import QPushButton

    (button,) = dialog.findChildren(QPushButton)
    assert button.text() == "Cancel"
    button.click()
    qtbot.waitUntil(lambda: bool(outcome), timeout=WAIT_MS)
    assert isinstance(outcome[0], Cancelled)
