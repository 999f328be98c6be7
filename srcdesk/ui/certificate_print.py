"""Print preview and printing of a saved certificates PDF: the very file that was saved, rasterised
by pypdfium2, so what is previewed and printed is what the PDF shows (one renderer).

For the screens::

    preview(parent, pdf_path)             # QPrintPreviewDialog; its Print goes to print_certificates
    print_certificates(parent, pdf_path)  # QPrintDialog, then printing in the background

Neither makes the UI thread wait on the disk or on rasterising. The preview's pages are
rasterised first in the background (with progress and Cancel) at a resolution that keeps the
whole batch in memory (:func:`preview_dpi`), and the dialog then only draws them. Printing
runs in the background entirely (Qt paints onto a QPrinter from a worker thread): page by page,
each rasterised at the printer's resolution (at most :data:`MAX_PRINT_DPI`), with progress and
Cancel (which aborts the print job).

pdfium is not thread-safe: every use of it here holds :data:`_pdfium_lock`.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
from PySide6.QtCore import QMarginsF, QRectF
from PySide6.QtGui import QAction, QImage, QPageLayout, QPageSize, QPainter
from PySide6.QtPrintSupport import QPrintDialog, QPrinter, QPrintPreviewDialog
from PySide6.QtWidgets import QDialog, QMessageBox, QWidget

from ..errors import Cancelled, SrcdeskError
from .progress import run_with_progress
from .tasks import Task
from .widgets import describe_error

MAX_PRINT_DPI = 600  # a page of A4 at 600 dpi is 35 MB grey, 104 MB in colour: one at a time
PREVIEW_MAX_DPI = 150
PREVIEW_MIN_DPI = 40
PREVIEW_BUDGET_BYTES = 400 * 2**20  # every page of the preview is held at once
A4_SQUARE_INCHES = 8.27 * 11.69

_pdfium_lock = threading.Lock()

Progress = Callable[..., Any]


class PrintFailed(SrcdeskError):
    """The printer or the PDF could not be used (the message says which)."""


def certificate_layout() -> QPageLayout:
    return QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Landscape, QMarginsF(0, 0, 0, 0))


def new_printer(mode: QPrinter.PrinterMode = QPrinter.PrinterMode.HighResolution) -> QPrinter:
    """A printer set for certificates: A4 landscape, drawn to the paper's edges (the design keeps
    9 mm clear, more than a printer's margin)."""
    printer = QPrinter(mode)
    prepare(printer)
    return printer


def prepare(printer: QPrinter) -> None:
    printer.setPageLayout(certificate_layout())
    printer.setFullPage(True)
    printer.setDocName("Certificates")


def _open(path: Path) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(str(path))
    except (pdfium.PdfiumError, OSError) as exc:
        raise PrintFailed(f"The certificates' PDF {path.name} can't be opened; save it again.") from exc


def page_count(path: str | Path) -> int:
    with _pdfium_lock:
        doc = _open(Path(path))
        try:
            return len(doc)
        finally:
            doc.close()


def preview_dpi(pages: int) -> tuple[int, bool]:
    """The resolution (dots per inch) and whether in grey, for a preview of ``pages`` pages within
    :data:`PREVIEW_BUDGET_BYTES`: colour at up to 150 dpi for a few pages, grey for many."""
    for channels, grey in ((3, False), (1, True)):
        dpi = int(math.sqrt(PREVIEW_BUDGET_BYTES / (max(pages, 1) * A4_SQUARE_INCHES * channels)))
        if dpi >= 96 or grey:
            return max(PREVIEW_MIN_DPI, min(PREVIEW_MAX_DPI, dpi)), grey
    raise AssertionError("unreachable")


def _page_image(doc: pdfium.PdfDocument, index: int, dpi: float, grey: bool) -> QImage:
    page = doc[index]
    try:
        bitmap = page.render(scale=dpi / 72, grayscale=grey, rev_byteorder=not grey)
        try:
            data = bytes(bitmap.buffer)
            fmt = QImage.Format.Format_Grayscale8 if grey else QImage.Format.Format_RGB888
            return QImage(data, bitmap.width, bitmap.height, bitmap.stride, fmt).copy()  # owns its pixels
        finally:
            bitmap.close()
    finally:
        page.close()


def rasterise(path: str | Path, dpi: float, *, grey: bool = False, progress: Progress | None = None,
              cancelled: Callable[[], bool] | None = None) -> list[QImage]:
    """Every page of the PDF at ``path`` as an image (for a preview); background-safe."""
    images: list[QImage] = []
    with _pdfium_lock:
        doc = _open(Path(path))
        try:
            total = len(doc)
            for index in range(total):
                if cancelled is not None and cancelled():
                    raise Cancelled("The preview was cancelled.")
                images.append(_page_image(doc, index, dpi, grey))
                if progress is not None:
                    progress(index + 1, total, f"Preparing page {index + 1} of {total}…")
        finally:
            doc.close()
    return images


def _target(printer: QPrinter, image: QImage) -> QRectF:
    """The paper, in device pixels, with the page's proportions kept and centred."""
    paper = printer.paperRect(QPrinter.Unit.DevicePixel)
    scale = min(paper.width() / image.width(), paper.height() / image.height())
    w, h = image.width() * scale, image.height() * scale
    return QRectF(paper.x() + (paper.width() - w) / 2, paper.y() + (paper.height() - h) / 2, w, h)


def paint_images(printer: QPrinter, images: list[QImage]) -> None:
    """Draw ``images`` onto ``printer``, a page each (the preview's paintRequested)."""
    painter = QPainter()
    if not painter.begin(printer):
        raise PrintFailed("The printer could not be started.")
    try:
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        for number, image in enumerate(images):
            if number and not printer.newPage():
                raise PrintFailed("The printer could not start a new page.")
            painter.drawImage(_target(printer, image), image)
    finally:
        painter.end()


def print_pdf(printer: QPrinter, path: str | Path, *, progress: Progress | None = None,
              cancelled: Callable[[], bool] | None = None) -> int:
    """Print every page of the PDF at ``path`` on ``printer``, each rasterised at the printer's
    resolution (at most :data:`MAX_PRINT_DPI`); returns the number of pages. Runs in a
    background thread (Qt allows painting on a QPrinter there). Cancelled: the job is aborted."""
    dpi = min(printer.resolution(), MAX_PRINT_DPI)
    grey = printer.colorMode() == QPrinter.ColorMode.GrayScale
    painter = QPainter()
    with _pdfium_lock:
        doc = _open(Path(path))
        try:
            total = len(doc)
            if not painter.begin(printer):
                raise PrintFailed("The printer could not be started: check that it is switched on and "
                                  "connected, then try again.")
            try:
                for index in range(total):
                    if cancelled is not None and cancelled():
                        printer.abort()
                        raise Cancelled("Printing was cancelled.")
                    image = _page_image(doc, index, dpi, grey)
                    if index and not printer.newPage():
                        raise PrintFailed("The printer stopped before the last page.")
                    painter.drawImage(_target(printer, image), image)
                    del image
                    if progress is not None:
                        progress(index + 1, total, f"Printing page {index + 1} of {total}…")
            finally:
                if painter.isActive():
                    painter.end()
        finally:
            doc.close()
    return total


# -- the dialogs ------------------------------------------------------------------------------------

Done = Callable[[Any, BaseException | None], Any]


def _tell(parent: QWidget | None, title: str) -> Done:
    """The default ending: say what went wrong (a cancel needs no words)."""

    def done(_result: Any, error: BaseException | None) -> None:
        if error is None or isinstance(error, Cancelled):
            return
        box = QMessageBox(QMessageBox.Icon.Warning, title, describe_error(error), QMessageBox.StandardButton.Ok,
                          parent)
        box.setObjectName("printProblem")
        box.open()
        if parent is not None:
            parent._print_problem = box  # noqa: SLF001 - kept alive while it shows

    return done


def start_printing(parent: QWidget | None, printer: QPrinter, pdf_path: str | Path, *,
                   on_done: Done | None = None) -> Task:
    """Print ``pdf_path`` on ``printer`` (already chosen) in the background, with progress and
    Cancel; ``on_done(pages, error)`` on the UI thread."""
    task, _dialog = run_with_progress(
        parent, print_pdf, printer, Path(pdf_path), title="Print certificates", label="Printing the certificates…",
        reports_progress=True, cancellable=True, name="print certificates", delay_ms=0)
    task.done.connect(on_done or _tell(parent, "Print certificates"))
    task.printer = printer  # kept alive until the job is done
    return task


def print_certificates(parent: QWidget | None, pdf_path: str | Path, *, printer: QPrinter | None = None,
                       on_done: Done | None = None) -> QPrintDialog:
    """The system's print dialog for ``pdf_path``; once a printer is chosen, printing starts in
    the background (:func:`start_printing`). Returns the dialog (already open, window-modal)."""
    printer = printer or new_printer()
    dialog = QPrintDialog(printer, parent)
    dialog.setObjectName("printCertificatesDialog")
    dialog.setWindowTitle("Print certificates")
    dialog.setOption(QPrintDialog.PrintDialogOption.PrintToFile, True)

    def chosen() -> None:
        # The dialog may have changed the orientation or the margins; the PDF's page decides them.
        printer.setPageOrientation(QPageLayout.Orientation.Landscape)
        printer.setFullPage(True)
        dialog.task = start_printing(parent, printer, pdf_path, on_done=on_done)

    dialog.accepted.connect(chosen)
    QDialog.open(dialog)  # QPrintDialog's own open() wants a receiver; this is QDialog's, window-modal
    return dialog


class CertificatePreview(QPrintPreviewDialog):
    """The preview of one saved PDF: pages rasterised beforehand (see :func:`preview`); its Print
    button opens :func:`print_certificates` for the same file (printed at the printer's
    resolution, in the background), not a reprint of the preview's images."""

    def __init__(self, pdf_path: Path, images: list[QImage], parent: QWidget | None = None,
                 on_printed: Done | None = None) -> None:
        self.preview_printer = new_printer()
        super().__init__(self.preview_printer, parent)
        self.setObjectName("certificatePreview")
        self.setWindowTitle(f"Print preview: {pdf_path.name}")
        self.pdf_path = pdf_path
        self.images = images
        self.on_printed = on_printed
        self.print_dialog: QPrintDialog | None = None
        self.paintRequested.connect(self._paint)
        # Qt's Print would paint the preview's images again; this prints the PDF at the printer's
        # resolution instead. (Were the action not found in a later Qt, Qt's own Print stays: the
        # same pages, at the preview's resolution.)
        self.print_action = next((a for a in self.findChildren(QAction) if a.text() == "Print"), None)
        if self.print_action is not None:
            self.print_action.triggered.disconnect()
            self.print_action.triggered.connect(self.print_for_real)

    def _paint(self, printer: QPrinter) -> None:
        paint_images(printer, self.images)

    def print_for_real(self) -> QPrintDialog:
        self.print_dialog = print_certificates(self.parentWidget(), self.pdf_path, on_done=self.on_printed)
        self.accept()
        return self.print_dialog


def preview(parent: QWidget | None, pdf_path: str | Path, *, on_open: Callable[[CertificatePreview], Any] | None = None,
            on_printed: Done | None = None) -> Task:
    """Rasterise ``pdf_path`` in the background (progress, Cancel), then open the print preview
    (window-modal, not blocking); ``on_open(dialog)`` when it is shown."""
    path = Path(pdf_path)

    def ready(images: list[QImage]) -> None:
        dialog = CertificatePreview(path, images, parent, on_printed=on_printed)
        QDialog.open(dialog)  # window-modal, without blocking
        if parent is not None:
            parent._certificate_preview = dialog  # noqa: SLF001 - kept alive while it shows
        if on_open is not None:
            on_open(dialog)

    def failed(error: BaseException) -> None:
        _tell(parent, "Print preview")(None, error)

    def work(*, progress: Progress, cancelled: Callable[[], bool]) -> list[QImage]:
        dpi, grey = preview_dpi(page_count(path))
        return rasterise(path, dpi, grey=grey, progress=progress, cancelled=cancelled)

    task, _dialog = run_with_progress(parent, work, title="Print preview", label="Preparing the preview…",
                                      reports_progress=True, cancellable=True, on_result=ready, on_error=failed,
                                      name="preview certificates")
    return task
