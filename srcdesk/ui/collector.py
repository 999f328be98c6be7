"""Python's cyclic garbage collector runs on the UI thread only.

Python collects cycles on whichever thread happens to allocate past a threshold. In srcdesk that
is often a worker of the thread pool (a search, an import). Qt objects whose Python wrappers sit
in such a cycle (a closed dialog and its bound-method slots, a model and its callbacks) are then
destroyed on that worker: Qt takes its internal locks there and calls back into Python for the
GIL the UI thread holds (a deadlock, seen in the tests), or touches widgets from the wrong thread
(a crash). So automatic collection is switched off and the UI thread collects on a timer, by the
same thresholds Python would use (Anki's ``aqt.main.GarbageCollector`` does the same).

Reference counting still frees most objects at once, on the thread that drops the last
reference; :mod:`srcdesk.ui.tasks` makes sure a worker never holds the last reference to a Qt
object.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 250


class UiThreadCollector(QObject):
    """Switch automatic collection off and collect on the UI thread instead, until :meth:`stop`."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self._threshold = gc.get_threshold()
        self._was_enabled = gc.isenabled()
        self.collections = 0
        gc.disable()
        self._timer = QTimer(self)
        self._timer.setObjectName("uiThreadCollector")
        self._timer.timeout.connect(self.check)
        self._timer.start(interval_ms)

    def check(self) -> None:
        """Collect the generations Python would have collected by now."""
        l0, l1, l2 = gc.get_count()
        t0, t1, t2 = self._threshold
        if l0 > t0:
            generation = 0
            if l1 > t1:
                generation = 2 if l2 > t2 else 1
            gc.collect(generation)
            self.collections += 1

    def stop(self) -> None:
        """Collect everything now and give collection back to Python (on the UI thread)."""
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()
