"""Background operations: run a function in the thread pool, hand the outcome back to the UI thread.

The UI thread never waits on the database or the disk (DESIGN.md, rule 4). Anything that
touches either runs as a :class:`Task`::

    task = run_task(authenticate, ctx.db, username, password, owner=self)
    task.finished.connect(self._signed_in)      # result, on the UI thread
    task.failed.connect(self._show_error)       # the exception, on the UI thread

or Picard-style with one callback that receives ``(result, error)``::

    run_task(open_installation, data_dir, on_done=self._opened)

How it works: the function runs in a ``QRunnable`` on ``QThreadPool.globalInstance()``. When it
returns (or raises), the runnable emits a private signal on the task, a ``QObject`` that lives
in the UI thread; that signal is connected *queued* to a slot of the task, so the public
signals (``finished``, ``failed``, ``done``) are always emitted on the UI thread, whatever the
callbacks connected to them are (plain functions, lambdas, bound methods).

A task whose ``owner`` is destroyed (a dialog closed while the work was running), or that was
:meth:`Task.discard`-ed, delivers nothing. If it produced a result that holds resources, give
``dispose=``: it is called on the result instead, in the background.

Progress: pass ``with_progress=True`` and the function is called with an extra keyword
argument ``progress(done, total, what)`` (the services' progress convention); each call emits
``progress(int, int, str)`` on the UI thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)

# Tasks not yet delivered. Holding them here keeps the QObject (and its signals) alive until
# the outcome has reached the UI thread, even if the caller dropped its reference.
_pending: set[Task] = set()
_pending_lock = threading.Lock()


class _Runnable(QRunnable):
    def __init__(self, task: Task) -> None:
        super().__init__()
        self._task = task
        self.setAutoDelete(True)

    def run(self) -> None:  # worker thread
        task = self._task
        self._task = None  # the runnable is deleted by the pool; don't keep the task from it
        result: Any = None
        error: BaseException | None = None
        try:
            kwargs = dict(task._kwargs)
            if task._with_progress:
                kwargs["progress"] = task._report_progress
            result = task._fn(*task._args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - handed to the UI thread, which decides
            error = exc
        try:
            task._report.emit(result, error)
        except RuntimeError:  # the QObject was deleted under us (application shutting down)
            log.debug("task %s finished after its QObject was deleted", task.name)


class Task(QObject):
    """One background operation. Create it, connect its signals, then :meth:`start` it."""

    finished = Signal(object)  # the function's return value
    failed = Signal(object)  # the exception it raised (an Exception instance, with __traceback__)
    done = Signal(object, object)  # (result, error): exactly one of them is meaningful
    progress = Signal(int, int, str)  # done, total, what

    _report = Signal(object, object)  # worker -> UI thread (queued)
    _progress = Signal(int, int, str)  # worker -> UI thread (queued)

    def __init__(
        self,
        fn: Callable[..., Any],
        *args: Any,
        owner: QObject | None = None,
        dispose: Callable[[Any], Any] | None = None,
        with_progress: bool = False,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        # Never parented to ``owner``: deleting the owner must not delete the QObject the
        # worker thread is about to emit on. We only watch the owner's destruction instead.
        super().__init__()
        self._fn = fn
        self._args = args
        self._kwargs = kwargs
        self._with_progress = with_progress
        self._dispose = dispose
        self.name = name or getattr(fn, "__qualname__", repr(fn))
        self._discarded = False
        self._started = False
        self.is_running = False
        self._report.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self._progress.connect(self._deliver_progress, Qt.ConnectionType.QueuedConnection)
        if owner is not None:
            owner.destroyed.connect(self.discard)

    # -- control -------------------------------------------------------------------------

    def start(self, pool: QThreadPool | None = None) -> Task:
        if self._started:
            raise RuntimeError(f"task {self.name} was already started")
        self._started = True
        self.is_running = True
        with _pending_lock:
            _pending.add(self)
        (pool or QThreadPool.globalInstance()).start(_Runnable(self))
        return self

    @Slot()
    def discard(self) -> None:
        """Deliver nothing for this task (its result, if any, goes to ``dispose``)."""
        self._discarded = True

    @property
    def discarded(self) -> bool:
        return self._discarded

    # -- worker side -----------------------------------------------------------------------

    def _report_progress(self, done: int, total: int, what: str = "") -> None:
        if not self._discarded:
            try:
                self._progress.emit(int(done), int(total), str(what))
            except RuntimeError:
                pass

    # -- UI thread side --------------------------------------------------------------------

    @Slot(int, int, str)
    def _deliver_progress(self, done: int, total: int, what: str) -> None:
        if not self._discarded:
            self.progress.emit(done, total, what)

    @Slot(object, object)
    def _deliver(self, result: Any, error: BaseException | None) -> None:
        self.is_running = False
        with _pending_lock:
            _pending.discard(self)
        if self._discarded:
            if error is None and self._dispose is not None and result is not None:
                Task(self._dispose, result, name=f"dispose of {self.name}").start()
            elif error is not None and not _expected(error):
                log.error("task %s failed after it was discarded", self.name, exc_info=error)
            return
        if error is not None and not _expected(error):
            log.error("task %s failed", self.name, exc_info=error)
        if error is None:
            self.finished.emit(result)
        else:
            self.failed.emit(error)
        self.done.emit(result, error)


def _expected(error: BaseException) -> bool:
    from ..errors import SrcdeskError

    return isinstance(error, SrcdeskError)


def run_task(
    fn: Callable[..., Any],
    *args: Any,
    on_result: Callable[[Any], Any] | None = None,
    on_error: Callable[[BaseException], Any] | None = None,
    on_done: Callable[[Any, BaseException | None], Any] | None = None,
    owner: QObject | None = None,
    dispose: Callable[[Any], Any] | None = None,
    on_progress: Callable[[int, int, str], Any] | None = None,
    name: str | None = None,
    **kwargs: Any,
) -> Task:
    """Start ``fn(*args, **kwargs)`` in the background; callbacks run on the UI thread."""
    task = Task(fn, *args, owner=owner, dispose=dispose, with_progress=on_progress is not None,
                name=name, **kwargs)
    if on_result is not None:
        task.finished.connect(on_result)
    if on_error is not None:
        task.failed.connect(on_error)
    if on_done is not None:
        task.done.connect(on_done)
    if on_progress is not None:
        task.progress.connect(on_progress)
    return task.start()


def pending_tasks() -> int:
    """How many started tasks have not yet delivered their outcome (for tests and shutdown)."""
    with _pending_lock:
        return len(_pending)
