"""One desktop app per data folder.

The app holds the data folder's lock (:mod:`srcdesk.instance`) for as long as it is open, and
listens on a local socket (a named pipe on Windows) named after the folder. Starting srcdesk again
on the same data finds the lock taken, asks the running app through that socket to bring its
window to the front, and says that srcdesk is already open instead of opening a second one.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from ..errors import DatabaseError
from ..instance import AlreadyOpen, InstanceLock

WAKE_TIMEOUT_MS = 1000


def server_name(data_dir: Path) -> str:
    """The local socket's name: the same for every way of writing one folder's path."""
    where = os.path.normcase(os.path.abspath(data_dir))
    return "srcdesk-" + hashlib.sha256(where.encode("utf-8")).hexdigest()[:24]


class SingleInstance(QObject):
    """This app's claim on a data folder: :meth:`claim` once at start, :meth:`release` at the end."""

    raiseRequested = Signal()  # another start-up on the same data asked for this app's window

    def __init__(self, data_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.data_dir = data_dir
        self.name = server_name(data_dir)
        self.lock = InstanceLock(data_dir)
        self.server: QLocalServer | None = None

    def claim(self) -> bool:
        """True if this app may open the data (it now holds the lock and listens); False if
        another srcdesk has it. A folder that can't be written to is left to the app's own
        messages when it tries to open or create the data there (True, nothing held)."""
        try:
            self.lock.acquire(0, create=True)
        except AlreadyOpen:
            return False
        except DatabaseError:
            return True
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)  # this user's processes only
        QLocalServer.removeServer(self.name)  # left by an app that crashed: we hold the lock, it is stale
        if server.listen(self.name):
            server.newConnection.connect(self._asked)
            self.server = server
        return True

    def _asked(self) -> None:
        assert self.server is not None
        while (socket := self.server.nextPendingConnection()) is not None:
            socket.disconnectFromServer()
            socket.deleteLater()
            self.raiseRequested.emit()

    def wake_running(self, timeout_ms: int = WAKE_TIMEOUT_MS) -> bool:
        """Ask the srcdesk that holds the data to bring its window to the front; True if it heard."""
        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if not socket.waitForConnected(timeout_ms):
            return False
        socket.write(b"raise\n")
        socket.waitForBytesWritten(timeout_ms)
        socket.disconnectFromServer()
        return True

    def release(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        self.lock.release()


def bring_to_front(windows: list[QWidget | None]) -> QWidget | None:
    """Show the first of ``windows`` that is on screen (else any visible srcdesk window: the lock
    screen hides the others) in front of the other applications' windows."""
    shown = [w for w in windows if w is not None and w.isVisible()]
    if not shown:
        shown = [w for w in QApplication.topLevelWidgets() if w.isWindow() and w.isVisible()]
    if not shown:
        return None
    window = shown[0]
    if window.isMinimized():
        window.showNormal()
    window.raise_()
    window.activateWindow()
    return window


def already_open_box(data_dir: Path, *, woke: bool) -> QMessageBox:
    """What a second start-up on the same data says (shown with ``open()``, never ``exec()``)."""
    box = QMessageBox(QMessageBox.Icon.Information, "srcdesk is already open",
                      "srcdesk is already open on this PC with this data.")
    box.setObjectName("alreadyOpen")
    box.setInformativeText(
        ("Its window was brought to the front." if woke else
         "Switch to its window (on the taskbar), or close it first if it is not responding.")
        + f"\n\nData folder: {data_dir}")
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    return box
