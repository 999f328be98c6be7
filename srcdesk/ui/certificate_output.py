"""Save PDF…, Print… and Print preview… of chosen certificates, for the screens that list them.

Each makes the PDF first (:func:`srcdesk.reports.certificates.write_pdf`, the certificates'
frozen content and the office's design) in the background with progress and Cancel, then:
saves it where the person chose, or prints or previews that very file
(:mod:`srcdesk.ui.certificate_print`: one renderer for the paper and the screen). A file to
print is made in a folder of this session's own, removed when the program ends.

The file chooser goes through :func:`ask_save_path` (tests replace it).
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog, QWidget

from ..errors import Cancelled
from ..reports.certificates import write_pdf
from ..services import certificate_design, certificates
from ..services.base import Context
from . import certificate_print
from .progress import run_with_progress
from .tasks import Task
from .widgets import choose_save_file

_scratch: tempfile.TemporaryDirectory | None = None
_numbers = itertools.count(1)


def _scratch_pdf() -> Path:
    """A new file name in this session's own folder for PDFs made only to be printed."""
    global _scratch
    if _scratch is None:
        _scratch = tempfile.TemporaryDirectory(prefix="srcdesk-print-")  # removed when the program ends
    return Path(_scratch.name) / f"certificates-{next(_numbers)}.pdf"


def make_pdf(ctx: Context, certificate_ids: Sequence[str], path: Path, *, progress: Callable[..., Any],
             cancelled: Callable[[], bool]) -> Path:
    """The certificates' PDF at ``path`` (runs in the background)."""
    contents = certificates.contents(ctx, certificate_ids)
    return write_pdf(contents, certificate_design.design(ctx), path, progress=progress, cancelled=cancelled)


def ask_save_path(parent: QWidget, suggested: str, on_chosen: Callable[[Path], Any]) -> QFileDialog | None:
    """Ask where to save the PDF, without blocking; ``on_chosen(path)`` once chosen."""
    return choose_save_file(parent, "Save the certificates as a PDF", suggested, "PDF files (*.pdf)", "pdf",
                            "savePdfDialog", on_chosen)


def _build(parent: QWidget, ctx: Context, ids: Sequence[str], path: Path, *, on_made: Callable[[Path], Any],
           on_error: Callable[[BaseException], Any]) -> Task:
    n = len(ids)
    task, _dialog = run_with_progress(
        parent, make_pdf, ctx, list(ids), path, title="Certificates PDF",
        label=f"Making the PDF of {n} certificate{'s' if n != 1 else ''}…", reports_progress=True, cancellable=True,
        on_result=on_made, on_error=lambda error: None if isinstance(error, Cancelled) else on_error(error),
        name="make the certificates PDF")
    return task


def save_pdf(parent: QWidget, ctx: Context, ids: Sequence[str], suggested: str, *,
             on_saved: Callable[[Path], Any], on_error: Callable[[BaseException], Any]) -> None:
    """Save PDF…: where, then the PDF made there."""
    if ids:
        ask_save_path(parent, suggested, lambda path: _build(parent, ctx, ids, path, on_made=on_saved,
                                                             on_error=on_error))


def print_pdf(parent: QWidget, ctx: Context, ids: Sequence[str], *, on_error: Callable[[BaseException], Any]) -> Task | None:
    """Print…: the PDF made, then the system's print dialog for it."""
    if not ids:
        return None
    return _build(parent, ctx, ids, _scratch_pdf(), on_error=on_error,
                  on_made=lambda path: certificate_print.print_certificates(parent, path))


def preview_pdf(parent: QWidget, ctx: Context, ids: Sequence[str], *,
                on_error: Callable[[BaseException], Any]) -> Task | None:
    """Print preview…: the PDF made, then its preview (whose Print prints the same file)."""
    if not ids:
        return None
    return _build(parent, ctx, ids, _scratch_pdf(), on_error=on_error,
                  on_made=lambda path: certificate_print.preview(parent, path))
