"""A question that work running on a worker asks on the UI thread, waiting for the answer.

:func:`srcdesk.services.sync.import_bundles` asks its ``preview`` from the worker it runs on, and
goes on making the backup meanwhile; the person answers in a dialog on the UI thread. A
:class:`Question` carries the question across (as :mod:`srcdesk.ui.tasks` carries outcomes: a
queued signal to an object of the UI thread) and the answer back (an event the worker waits on).
"""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal, Slot


class Question(QObject):
    """One question, answered once.

    The worker calls :meth:`ask` (it waits for the answer); :attr:`asked` is emitted on the UI
    thread with what it asks; the UI calls :meth:`answer`. :meth:`close` answers "no": connect the
    ``destroyed`` signal of whoever would answer to it, so that a page closed meanwhile never leaves
    the worker waiting; the wait also ends if the application is shutting down. Never parented
    (like :class:`srcdesk.ui.tasks.Task`): the page's destruction must not take it with it while a
    worker may still be asking.
    """

    asked = Signal(object)  # on the UI thread: what the worker asks
    _post = Signal(object)  # worker -> UI thread (queued)

    def __init__(self) -> None:
        super().__init__()
        self._answered = threading.Event()
        self._lock = threading.Lock()
        self._yes = False
        self._post.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    def ask(self, question: Any) -> bool:  # worker thread
        if not self._answered.is_set():
            try:
                self._post.emit(question)
            except RuntimeError:  # the application is shutting down
                return False
        while not self._answered.wait(0.25):
            if QCoreApplication.instance() is None or QCoreApplication.closingDown():
                return False
        return self._yes

    @Slot(object)
    def _deliver(self, question: Any) -> None:  # UI thread
        if not self._answered.is_set():
            self.asked.emit(question)

    @Slot(bool)
    def answer(self, yes: bool) -> None:
        with self._lock:
            if not self._answered.is_set():
                self._yes = bool(yes)
                self._answered.set()

    @Slot()
    def close(self) -> None:
        self.answer(False)

    @property
    def answered(self) -> bool:
        return self._answered.is_set()
