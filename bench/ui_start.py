"""A child process for the start-up benchmarks: start, show a window, print when it is there.

``python -m bench.ui_start bare``: a bare PySide6 ``QMainWindow`` (the baseline). Prints
``{"event": "shown"}`` when it is first painted on an exposed window.

``python -m bench.ui_start signin DATA_DIR USER PASSWORD``: srcdesk as a person starts it
(``srcdesk --data-dir DATA_DIR``: :func:`srcdesk.cli.main`, the single-instance lock, the sign-in
window, the data opened in the background). Prints, each as one line of JSON:

* ``{"event": "shown", "loaded": [...]}`` when the sign-in window is first painted on an exposed
  window (``loaded``: which database modules were imported by then; none is the goal);
* ``{"event": "ready"}`` when the data is open and the sign-in can go ahead;
* then types the name and password, presses Enter, and prints ``{"event": "main", "enter":
  seconds from Enter to a usable main window, "auth": seconds of it spent checking the password}``
  once the main window is exposed and its first page's background loading has been delivered.

``python -m bench.ui_start direct DATA_DIR USER PASSWORD``: issue 3's cold start, everything in
a row with no sign-in window — open the data, check the password, build the main window, show
it; prints ``{"event": "main", "auth": seconds checking the password}`` when it is usable.

The parent measures the wall time from spawning to each line.
"""

from __future__ import annotations

import json
import sys
import time


def _say(event: str, **values: object) -> None:
    print(json.dumps({"event": event, **values}), flush=True)


HEAVY = ("sqlalchemy", "alembic", "argon2", "srcdesk.db", "srcdesk.models", "srcdesk.services.base",
         "srcdesk.ui.main_window")


def _first_paint(app, object_name: str, then) -> object:  # noqa: ANN001
    """Call ``then(widget)`` once, at the first paint of the widget named ``object_name`` whose
    window is exposed (the moment a person sees it)."""
    from PySide6.QtCore import QEvent, QObject

    class Watch(QObject):
        done = False

        def eventFilter(self, obj, event) -> bool:  # noqa: ANN001, N802
            if (not self.done and event.type() == QEvent.Type.Paint and obj.objectName() == object_name
                    and obj.windowHandle() is not None and obj.windowHandle().isExposed()):
                self.done = True
                then(obj)
            return False

    watch = Watch()
    app.installEventFilter(watch)
    return watch


def _usable(app) -> object | None:  # noqa: ANN001
    """The main window, once it is exposed and no background loading is left undelivered."""
    from srcdesk.ui.tasks import pending_tasks

    for w in app.topLevelWidgets():
        if w.objectName() == "mainWindow" and w.isVisible() and w.windowHandle() is not None \
                and w.windowHandle().isExposed():
            return w if pending_tasks() == 0 else None
    return None


def _timed_authenticate(spent: list[float]) -> None:
    """Time each password check (wherever the sign-in window takes ``authenticate`` from)."""
    from srcdesk.services import users
    from srcdesk.ui import login_dialog

    real = users.authenticate

    def authenticate(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        started = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - started)

    users.authenticate = authenticate
    if hasattr(login_dialog, "authenticate"):  # srcdesk before issue 12 imported it at the top
        login_dialog.authenticate = authenticate


def signin(app, data: str, user: str, password: str) -> int:  # noqa: ANN001
    from PySide6.QtCore import QTimer

    state: dict[str, object] = {}
    spent: list[float] = []

    def shown(dialog) -> None:  # noqa: ANN001
        state["dialog"] = dialog
        _say("shown", loaded=[m for m in HEAVY if m in sys.modules])

    def step() -> None:
        dialog = state.get("dialog")
        if dialog is None:
            return
        if "enter" not in state:
            if not dialog.ready:
                return
            _say("ready")
            # Only now: the Qt namespace (~20 ms of Python enums) and QtTest are the benchmark's
            # own, not to be counted in srcdesk's time to its sign-in window.
            from PySide6.QtCore import Qt
            from PySide6.QtTest import QTest

            _timed_authenticate(spent)
            QTest.keyClicks(dialog.username, user)  # typing is the person's time, not srcdesk's
            QTest.keyClicks(dialog.password, password)
            state["enter"] = time.perf_counter()
            QTest.keyClick(dialog.password, Qt.Key.Key_Return)
            return
        if _usable(app) is not None:
            _say("main", enter=time.perf_counter() - state["enter"], auth=sum(spent))
            poll.stop()
            app.exit(0)

    watch = _first_paint(app, "loginDialog", shown)  # noqa: F841 - kept alive while the app runs
    poll = QTimer()
    poll.timeout.connect(step)
    poll.start(1)
    QTimer.singleShot(120_000, lambda: app.exit(3))
    from srcdesk.start import main

    return main(["--data-dir", data])


def direct(app, data: str, user: str, password: str) -> int:  # noqa: ANN001
    from pathlib import Path

    from PySide6.QtCore import QThreadPool

    from srcdesk.services.setup import open_installation
    from srcdesk.services.users import authenticate
    from srcdesk.ui.app import configure_application
    from srcdesk.ui.main_window import MainWindow

    configure_application(app)
    ctx = open_installation(Path(data))
    started = time.perf_counter()
    ctx = ctx.signed_in(authenticate(ctx.db, user, password))
    auth = time.perf_counter() - started
    window = MainWindow(ctx)
    window.show()
    deadline = time.monotonic() + 60
    while _usable(app) is None and time.monotonic() < deadline:
        QThreadPool.globalInstance().waitForDone(5)
        app.processEvents()
    _say("main", auth=auth)
    window.close()
    QThreadPool.globalInstance().waitForDone(10_000)
    ctx.db.close()
    return 0


def bare(app) -> int:  # noqa: ANN001
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QMainWindow

    def shown(_window) -> None:  # noqa: ANN001
        _say("shown")
        QTimer.singleShot(0, app.quit)

    watch = _first_paint(app, "bare", shown)  # noqa: F841
    window = QMainWindow()
    window.setObjectName("bare")
    window.resize(960, 640)
    window.show()
    return app.exec()


def main(argv: list[str]) -> int:
    from PySide6.QtWidgets import QApplication

    mode = argv[0]
    app = QApplication(sys.argv[:1])
    if mode == "bare":
        return bare(app)
    if mode == "signin":
        return signin(app, *argv[1:4])
    return direct(app, *argv[1:4])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
