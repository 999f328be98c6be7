"""Background operations: run a function in the thread pool, hand the outcome back to the UI thread.

The UI thread never waits on the database or the disk (DESIGN.md, rule 4). Anything that
touches either runs as a :class:`Task`::

    task = run_task(authenticate, ctx.db, username, password, owner=self)
    task.finished.connect(self._signed_in)      # result, on the UI thread
    task.failed.connect(self._show_error)       # the exception, on the UI thread

or Picard-style with one callback that receives ``(result, error)``::

    run_task(open_installation, data_dir, on_done=self._opened)

How it works: the function runs in a ``QRunnable`` on ``QThreadPool.globalInstance()``. When it
returns (or raises), the worker leaves the outcome with the task's job and sends only the task's
number, through one courier ``QObject`` of the UI thread (a *queued* signal), so the public
signals (``finished``, ``failed``, ``done``) are always emitted on the UI thread, whatever the
callbacks connected to them are (plain functions, lambdas, bound methods). The worker drops its
references before the UI thread can drop its own, so nothing a task holds (its function may be
a widget's bound method) is ever released, let alone destroyed, on a worker thread; with
:mod:`srcdesk.ui.collector`, neither is anything the garbage collector frees.

A task whose ``owner`` is destroyed (a dialog closed while the work was running), or that was
:meth:`Task.discard`-ed, delivers nothing. If it produced a result that holds resources, give
``dispose=``: it is called on the result instead, in the background.

Progress: pass ``with_progress=True`` and the function is called with an extra keyword
argument ``progress(done, total, what)`` (the services' progress convention); each call emits
``progress(int, int, str)`` on the UI thread.

Sign-ins: a task started with a :class:`~srcdesk.services.base.Context` among its arguments
belongs to that sign-in (contexts are frozen, one per sign-in, so it runs as the user who
queued it). :func:`when_settled` calls back once every such task has delivered; signing out
uses it so that no work of the user who left is still queued when the next user's context is
made.
"""

from __future__ import annotations

import functools
import itertools
import logging
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6 import QtCore  # QtCore.Qt when the first task starts (see widgets._plain_text)
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

if TYPE_CHECKING:  # not imported at run time: the sign-in window shows before the services load
    from ..services.base import Context

log = logging.getLogger(__name__)
_SERVICES_BASE = __name__.rsplit(".", 2)[0] + ".services.base"  # srcdesk.services.base

# Tasks not yet delivered, by number. Holding them here keeps the QObject (and its signals) alive
# until the outcome has reached the UI thread, even if the caller dropped its reference.
_pending: dict[int, Task] = {}
_pending_lock = threading.Lock()
_numbers = itertools.count(1)
# (context, callback): called on the UI thread once no pending task carries that context.
_settle_waiters: list[tuple[object, Callable[[], Any]]] = []


class _Courier(QObject):
    """Carries outcomes from workers to the UI thread by task number.

    A worker never holds a reference to a :class:`Task` (or anything else the UI thread made)
    when it finishes: had it the last one, the QObject would be destroyed on the worker, which Qt
    forbids (a deadlock or a crash). It hands over the task's number only; the UI thread looks the
    task up, and every reference to the task, its function and its arguments is dropped there.
    """

    report = Signal(int)  # worker -> UI thread (queued): the task's outcome is ready
    progress = Signal(int, int, int, str)  # worker -> UI thread (queued)

    def __init__(self) -> None:
        super().__init__()
        self.report.connect(self._deliver, QtCore.Qt.ConnectionType.QueuedConnection)
        self.progress.connect(self._deliver_progress, QtCore.Qt.ConnectionType.QueuedConnection)

    @Slot(int)
    def _deliver(self, number: int) -> None:
        with _pending_lock:
            task = _pending.pop(number, None)
        if task is not None:
            task._deliver()
            if _settle_waiters:
                _call_settled()

    @Slot(int, int, int, str)
    def _deliver_progress(self, number: int, done: int, total: int, what: str) -> None:
        with _pending_lock:
            task = _pending.get(number)
        if task is not None:
            task._deliver_progress(done, total, what)


_courier: _Courier | None = None


def _the_courier() -> _Courier:
    """Made on the UI thread (by the first :meth:`Task.start`), and never deleted."""
    global _courier
    if _courier is None:
        _courier = _Courier()
    return _courier


@dataclass
class _Job:
    """What a worker needs, and where it leaves the outcome. Only plain data: the number of the
    task, never the task."""

    number: int
    fn: Callable[..., Any] | None
    args: tuple
    kwargs: dict[str, Any]
    with_progress: bool
    courier: _Courier
    result: Any = None
    error: BaseException | None = None


def _progress_reporter(courier: _Courier, number: int) -> Callable[..., None]:
    def report(done: int, total: int, what: str = "") -> None:
        with _pending_lock:
            wanted = number in _pending and not _pending[number]._discarded
        if wanted:
            try:
                courier.progress.emit(number, int(done), int(total), str(what))
            except RuntimeError:
                pass
    return report


class _Runnable(QRunnable):
    def __init__(self, job: _Job) -> None:
        super().__init__()
        self._job = job
        self.setAutoDelete(True)

    def run(self) -> None:  # worker thread
        job, self._job = self._job, None
        fn, args, kwargs = job.fn, job.args, dict(job.kwargs)
        if job.with_progress:
            kwargs["progress"] = _progress_reporter(job.courier, job.number)
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - handed to the UI thread, which decides
            job.error = exc
            result = None
        job.result = result
        # Drop this thread's references before the UI thread can drop its own: whatever the
        # function, its arguments or its outcome hold is released on the UI thread, not here.
        del fn, args, kwargs, result
        courier, number = job.courier, job.number
        del job
        try:
            courier.report.emit(number)
        except RuntimeError:  # the application is shutting down
            log.debug("task %s finished after the application ended", number)


class Task(QObject):
    """One background operation. Create it, connect its signals, then :meth:`start` it."""

    finished = Signal(object)  # the function's return value
    failed = Signal(object)  # the exception it raised (an Exception instance, with __traceback__)
    done = Signal(object, object)  # (result, error): exactly one of them is meaningful
    progress = Signal(int, int, str)  # done, total, what

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
        # Never parented to ``owner``: deleting the owner must not delete the task before its
        # outcome arrives. We only watch the owner's destruction instead.
        super().__init__()
        self._fn = fn
        self._args = args
        self._kwargs = kwargs
        self._with_progress = with_progress
        self._dispose = dispose
        self.name = name or getattr(fn, "__qualname__", repr(fn))
        self._discarded = False
        self._started = False
        self._job: _Job | None = None
        self.is_running = False
        # The sign-in this work belongs to (its function runs as that user, or not at all).
        self.context = _context_of(fn, args, kwargs)
        if owner is not None:
            owner.destroyed.connect(self.discard)

    # -- control -------------------------------------------------------------------------

    def start(self, pool: QThreadPool | None = None) -> Task:
        if self._started:
            raise RuntimeError(f"task {self.name} was already started")
        self._started = True
        self.is_running = True
        number = next(_numbers)
        self._job = _Job(number, self._fn, self._args, self._kwargs, self._with_progress, _the_courier())
        with _pending_lock:
            _pending[number] = self
        (pool or QThreadPool.globalInstance()).start(_Runnable(self._job))
        return self

    @Slot()
    def discard(self) -> None:
        """Deliver nothing for this task (its result, if any, goes to ``dispose``)."""
        self._discarded = True

    @property
    def discarded(self) -> bool:
        return self._discarded

    # -- UI thread side (called by the courier) ---------------------------------------------

    def _deliver_progress(self, done: int, total: int, what: str) -> None:
        if not self._discarded:
            self.progress.emit(done, total, what)

    def _deliver(self) -> None:
        job, self._job = self._job, None
        result, error = job.result, job.error
        job.result = job.error = job.fn = None
        self._fn = self._args = self._kwargs = None  # released here, on the UI thread
        self.is_running = False
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


def _context_of(fn: Callable[..., Any], args: tuple, kwargs: dict[str, Any]) -> Context | None:
    """The Context among a task's arguments (or those of a ``functools.partial`` it runs)."""
    base = sys.modules.get(_SERVICES_BASE)
    if base is None:  # the services are not loaded yet (the app is starting): no Context exists
        return None
    values = [*args, *kwargs.values()]
    while isinstance(fn, functools.partial):
        values += [*fn.args, *fn.keywords.values()]
        fn = fn.func
    return next((v for v in values if isinstance(v, base.Context)), None)


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


def pending_for(ctx: object) -> int:
    """How many started tasks carrying this very context (one sign-in) have not yet delivered."""
    with _pending_lock:
        return sum(1 for task in _pending.values() if task.context is ctx)


def when_settled(ctx: object, callback: Callable[[], Any]) -> None:
    """Call ``callback`` (on the UI thread) once no started task carrying ``ctx`` is pending:
    at once if none is."""
    if pending_for(ctx) == 0:
        callback()
    else:
        _settle_waiters.append((ctx, callback))


def _call_settled() -> None:
    ready = [(ctx, cb) for ctx, cb in _settle_waiters if pending_for(ctx) == 0]
    for item in ready:
        _settle_waiters.remove(item)
    for _ctx, callback in ready:
        callback()


def pending_tasks() -> int:
    """How many started tasks have not yet delivered their outcome (for tests and shutdown)."""
    with _pending_lock:
        return len(_pending)
