"""Long work with a progress dialog that appears only if the work takes a while.

    run_with_progress(self, backup_now, ctx, title="Back up", label="Backing up the data…",
                      on_result=self._backed_up, on_error=self._backup_failed)

The work runs as a background task (``progress(done, total, what)`` is passed to it when it
accepts one: set ``reports_progress=True``). The dialog shows after ``delay_ms`` if the work has
not finished, is window-modal (the rest of the app stays responsive), and closes itself.

Work that can stop half-way (printing a batch: nothing is saved until the end) passes
``cancellable=True``: the dialog has a Cancel button, and the function is given
``cancelled()``, which says whether it was pressed; the function stops, cleans up and raises
(:class:`srcdesk.errors.Cancelled`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QProgressDialog, QWidget

from .tasks import Task, run_task

DEFAULT_DELAY_MS = 400


def run_with_progress(parent: QWidget, fn: Callable[..., Any], *args: Any, title: str, label: str,
                      on_result: Callable[[Any], Any] | None = None,
                      on_error: Callable[[BaseException], Any] | None = None,
                      reports_progress: bool = False, delay_ms: int = DEFAULT_DELAY_MS,
                      name: str | None = None, cancellable: bool = False,
                      **kwargs: Any) -> tuple[Task, QProgressDialog]:
    dialog = QProgressDialog(label, "", 0, 0, parent)
    dialog.setObjectName("progressDialog")
    dialog.setWindowTitle(title)
    dialog.setAccessibleName(label)
    if cancellable:
        stop = threading.Event()
        kwargs["cancelled"] = stop.is_set

        def cancel() -> None:
            stop.set()
            dialog.setLabelText("Stopping…")

        dialog.setCancelButtonText("Cancel")
        dialog.canceled.connect(cancel)
    else:
        dialog.setCancelButton(None)  # the services' operations are single transactions: no half-way stop
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(delay_ms)
    dialog.setAutoClose(False)
    dialog.setAutoReset(False)
    dialog.setValue(0)  # starts the minimum-duration timer

    def progress(done: int, total: int, what: str) -> None:
        if total > 0:
            dialog.setMaximum(total)
            dialog.setValue(min(done, total))
        if what:
            dialog.setLabelText(what)

    def finish(_result: Any, _error: BaseException | None) -> None:
        dialog.reset()
        dialog.hide()
        dialog.deleteLater()

    task = run_task(fn, *args, owner=parent, name=name or title, on_done=finish,
                    on_result=on_result, on_error=on_error,
                    on_progress=progress if reports_progress else None, **kwargs)
    return task, dialog
