"""A child process for the cold-start benchmark: start, show a main window, print when usable.

``python -m bench.ui_start bare``: a bare PySide6 ``QMainWindow`` (the baseline).
``python -m bench.ui_start srcdesk DATA_DIR USER PASSWORD``: srcdesk as it starts for real —
open the data (migration check), check the password, build the main window with all its pages,
show it, and wait until the first page's background loading has been delivered.

Prints one line of JSON on stdout when the window is usable: {"auth": seconds spent checking
the password}. The parent measures the wall time from spawning to that line.
"""

from __future__ import annotations

import json
import sys
import time


def _wait_usable(app, window) -> None:  # noqa: ANN001
    from PySide6.QtCore import QThreadPool

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        app.processEvents()
        if window.isVisible() and window.windowHandle() is not None and window.windowHandle().isExposed():
            break
    try:
        from srcdesk.ui.tasks import pending_tasks
    except ImportError:  # the bare baseline doesn't import srcdesk
        return
    while pending_tasks() and time.monotonic() < deadline:
        QThreadPool.globalInstance().waitForDone(5)
        app.processEvents()


def main(argv: list[str]) -> int:
    from PySide6.QtWidgets import QApplication, QMainWindow

    mode = argv[0]
    app = QApplication(sys.argv[:1])
    auth = 0.0
    if mode == "bare":
        window = QMainWindow()
        window.resize(960, 640)
        window.show()
    else:
        from pathlib import Path

        from srcdesk.services.setup import open_installation
        from srcdesk.services.users import authenticate
        from srcdesk.ui.app import configure_application
        from srcdesk.ui.main_window import MainWindow

        configure_application(app)
        ctx = open_installation(Path(argv[1]))
        started = time.perf_counter()
        ctx = ctx.signed_in(authenticate(ctx.db, argv[2], argv[3]))
        auth = time.perf_counter() - started
        window = MainWindow(ctx)
        window.show()
    _wait_usable(app, window)
    print(json.dumps({"auth": auth}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
