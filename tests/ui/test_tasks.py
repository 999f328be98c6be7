"""Background operations: work runs off the UI thread, outcomes arrive on it."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QObject, QThread

from srcdesk.errors import ValidationError
from srcdesk.ui.tasks import Task, pending_tasks, run_task

from .conftest import WAIT_MS


def _ui_thread() -> QThread:
    return QThread.currentThread()


def test_result_is_delivered_on_the_ui_thread(qtbot):
    ui = _ui_thread()
    ran_in: list[threading.Thread] = []
    delivered_in: list[QThread] = []

    def work(a: int, b: int, *, times: int) -> int:
        ran_in.append(threading.current_thread())
        return (a + b) * times

    task = Task(work, 2, 3, times=4)
    task.finished.connect(lambda result: delivered_in.append(QThread.currentThread()))
    with qtbot.waitSignal(task.finished, timeout=WAIT_MS) as blocker:
        task.start()
    assert blocker.args == [20]
    assert ran_in and ran_in[0] is not threading.main_thread()
    assert delivered_in == [ui]
    assert not task.is_running


def test_failure_is_delivered_with_the_exception(qtbot):
    def work() -> None:
        raise ValidationError("Name is required.", "name")

    outcomes = []
    task = Task(work)
    task.done.connect(lambda result, error: outcomes.append((result, error)))
    with qtbot.waitSignal(task.failed, timeout=WAIT_MS) as blocker:
        task.start()
    error = blocker.args[0]
    assert isinstance(error, ValidationError) and str(error) == "Name is required."
    assert error.__traceback__ is not None  # details for the error dialog
    assert outcomes == [(None, error)]


def test_run_task_callbacks_and_picard_style_done(qtbot):
    got = {}
    with qtbot.waitSignal(
        run_task(lambda: "ok", on_result=lambda r: got.setdefault("result", r),
                 on_done=lambda r, e: got.setdefault("done", (r, e))).done,
        timeout=WAIT_MS,
    ):
        pass
    assert got == {"result": "ok", "done": ("ok", None)}


def test_progress_is_reported_on_the_ui_thread(qtbot):
    seen = []

    def work(*, progress) -> str:  # noqa: ANN001
        for i in range(3):
            progress(i + 1, 3, "Counting")
        return "counted"

    task = run_task(work, on_progress=lambda *a: seen.append((a, QThread.currentThread())))
    with qtbot.waitSignal(task.finished, timeout=WAIT_MS):
        pass
    qtbot.waitUntil(lambda: len(seen) == 3, timeout=WAIT_MS)
    assert [a for a, _ in seen] == [(1, 3, "Counting"), (2, 3, "Counting"), (3, 3, "Counting")]
    assert all(thread is _ui_thread() for _, thread in seen)


def test_a_task_whose_owner_is_gone_delivers_nothing_and_disposes_of_its_result(qtbot):
    gate = threading.Event()
    disposed = threading.Event()
    delivered = []

    class Resource:
        def close(self) -> None:
            disposed.set()

    owner = QObject()
    task = run_task(lambda: gate.wait(WAIT_MS / 1000) and Resource(), owner=owner,
                    on_done=lambda *a: delivered.append(a), dispose=lambda r: r.close())
    owner.deleteLater()
    qtbot.waitUntil(lambda: task.discarded, timeout=WAIT_MS)
    gate.set()
    qtbot.waitUntil(disposed.is_set, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: pending_tasks() == 0, timeout=WAIT_MS)
    assert delivered == []


def test_a_task_starts_once(qtbot):
    task = Task(lambda: None)
    with qtbot.waitSignal(task.done, timeout=WAIT_MS):
        task.start()
    with pytest.raises(RuntimeError):
        task.start()


def test_many_tasks_all_deliver(qtbot):
    results = []
    for i in range(50):
        run_task(lambda i=i: i * i, on_result=results.append)
    qtbot.waitUntil(lambda: len(results) == 50, timeout=WAIT_MS)
    assert sorted(results) == [i * i for i in range(50)]


# -- nothing made on the UI thread is released on a worker -----------------------------------


class _Tracked:
    """Records the thread its last reference was dropped on."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    def __del__(self) -> None:
        self.log.append(threading.current_thread().name)


def test_a_tasks_function_arguments_and_result_are_released_on_the_ui_thread(qtbot):
    """The caller drops every reference while the work runs: the last ones (the function, its
    arguments, the result) must still go on the UI thread. Released on a worker, a QObject would be
    destroyed there (a deadlock or a crash; see srcdesk.ui.tasks)."""
    released: list[str] = []
    gate = threading.Event()

    class Holder(QObject):
        def work(self, arg: _Tracked) -> _Tracked:
            gate.wait(WAIT_MS / 1000)
            return _Tracked(released)

    holder = Holder()
    delivered = []
    run_task(holder.work, _Tracked(released), on_result=lambda r: delivered.append(type(r).__name__))
    del holder
    gate.set()
    qtbot.waitUntil(lambda: delivered == ["_Tracked"] and pending_tasks() == 0, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: len(released) == 2, timeout=WAIT_MS)
    assert released == [threading.main_thread().name] * 2


def test_a_failed_tasks_traceback_is_released_on_the_ui_thread(qtbot):
    released: list[str] = []

    def work(arg: _Tracked) -> None:
        local = _Tracked(released)  # noqa: F841 - kept alive by the traceback's frame
        raise ValidationError("No.", "x")

    errors = []
    run_task(work, _Tracked(released), on_error=lambda e: errors.append(str(e)))
    qtbot.waitUntil(lambda: errors == ["No."] and pending_tasks() == 0, timeout=WAIT_MS)
    errors.clear()  # the last reference to the exception: its traceback's frames go now, or in a collection
    qtbot.waitUntil(lambda: len(released) == 2, timeout=WAIT_MS)
    assert set(released) == {threading.main_thread().name}


def test_the_garbage_collector_runs_on_the_ui_thread_only(qtbot):
    """Cycles made on a worker are collected on the UI thread (the conftest installs the
    collector, as run_app does)."""
    import gc

    assert not gc.isenabled()  # no worker ever starts a collection
    released: list[str] = []

    def make_cycles() -> None:
        for _ in range(5000):  # enough allocations to pass generation 0's threshold
            a, b = {}, {}
            a["b"], b["a"] = b, a
        cycle = {"tracked": _Tracked(released)}
        cycle["self"] = cycle

    done = []
    run_task(make_cycles, on_done=lambda *a: done.append(1))
    qtbot.waitUntil(lambda: bool(done and released), timeout=WAIT_MS)
    assert released == [threading.main_thread().name]
