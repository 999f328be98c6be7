"""Fixtures for the desktop-app tests (pytest-qt, offscreen).

No test may wait on a modal dialog: dialogs are shown with show(), never exec(), and every
wait has a timeout. Each test gets its own data folder and its own settings file, and leaves
no background task running behind it.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication, QSettings, QThreadPool  # noqa: E402

from srcdesk.services.setup import init_installation  # noqa: E402
from srcdesk.ui.app import AppController, configure_application  # noqa: E402
from srcdesk.ui.collector import UiThreadCollector  # noqa: E402
from srcdesk.ui.tasks import pending_tasks  # noqa: E402

PASSWORD = "password123"
WAIT_MS = 10_000
SHOTS = Path(os.environ["SRCDESK_SHOTS"]) if os.environ.get("SRCDESK_SHOTS") else None


def shot(widget, name: str) -> None:  # noqa: ANN001
    """Save a picture of the widget when $SRCDESK_SHOTS names a folder (to look at the screens)."""
    if SHOTS is not None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        QCoreApplication.processEvents()  # let the layout and the column widths settle
        widget.grab().save(str(SHOTS / f"{name}.png"))


@pytest.fixture(scope="session", autouse=True)
def _isolated_settings(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Never read or write the real user's srcdesk settings."""
    folder = tmp_path_factory.mktemp("qsettings")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
        QSettings.setPath(QSettings.Format.IniFormat, scope, str(folder))


@pytest.fixture(autouse=True)
def _app_configured(qapp) -> Iterator[None]:  # noqa: ANN001
    configure_application(qapp)
    collector = UiThreadCollector()  # as in the app: the garbage collector runs on this thread only
    try:
        yield
        # Let background work finish and deliver inside this test, not in the next one.
        assert QThreadPool.globalInstance().waitForDone(WAIT_MS), "a background task is still running"
        QCoreApplication.processEvents()
        QThreadPool.globalInstance().waitForDone(WAIT_MS)
        QCoreApplication.processEvents()
        assert pending_tasks() == 0, "a background task never delivered its outcome"
        # Delete what the test left open now, in order, rather than when the garbage collector gets
        # to a parentless page (it can free the Python side before Qt's children: a rare segfault).
        from PySide6.QtCore import QEvent
        from PySide6.QtWidgets import QApplication

        for widget in QApplication.topLevelWidgets():
            widget.hide()
            widget.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
        QCoreApplication.processEvents()
    finally:
        QThreadPool.globalInstance().waitForDone(WAIT_MS)
        collector.stop()  # collects on this thread, then gives collection back to Python
        collector.deleteLater()


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "srcdesk-settings.ini"), QSettings.Format.IniFormat)


def make_installation(data_dir: Path, *, establishment: str | None = "PER", office: bool = False,
                      username: str = "admin", name: str = "Alex Admin") -> Path:
    ctx = init_installation(data_dir, establishment=establishment, office=office,
                            admin_username=username, admin_name=name, admin_password=PASSWORD)
    ctx.db.close()
    return data_dir


@pytest.fixture
def perth_data(tmp_path: Path) -> Path:
    """The data folder of an HMP Perth installation, administrator admin / password123, closed."""
    return make_installation(tmp_path / "perth")


@pytest.fixture
def office_data(tmp_path: Path) -> Path:
    """The data folder of the SRC office installation, administrator phr / password123, closed."""
    return make_installation(tmp_path / "office", establishment=None, office=True,
                             username="phr", name="Pat Officer")


@pytest.fixture
def start_app(qtbot, settings: QSettings) -> Iterator[Callable[[Path], AppController]]:  # noqa: ANN001
    """Start the app's flow on a data folder; shut it down (windows, tasks, database) afterwards."""
    controllers: list[AppController] = []

    def start(folder: Path) -> AppController:
        controller = AppController(folder, settings)
        controllers.append(controller)
        controller.start()
        return controller

    yield start
    for controller in controllers:
        controller.shutdown()


# -- a small demo installation, for the pages ------------------------------------------------------

@pytest.fixture(scope="session")
def _demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """HMP Perth with small-scale demo data and three users, made once per test run."""
    from srcdesk.services.demo import DEMO_END, generate_demo
    from srcdesk.services.users import add_user

    folder = tmp_path_factory.mktemp("demo-template") / "perth"
    ctx = init_installation(folder, establishment="PER", office=False, admin_username="admin",
                            admin_name="Alex Admin", admin_password=PASSWORD)
    generate_demo(ctx, scale="small", end=DEMO_END)
    add_user(ctx, "colin", "Colin Coordinator", "coordinator", PASSWORD)
    add_user(ctx, "rita", "Rita Recorder", "recorder", PASSWORD)
    ctx.db.close()
    return folder


@pytest.fixture
def demo_data(_demo_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the demo installation's data folder for this test."""
    import shutil

    folder = tmp_path / "perth-demo"
    shutil.copytree(_demo_template, folder, ignore=shutil.ignore_patterns("*-wal", "*-shm"))
    return folder


@pytest.fixture
def open_demo(demo_data: Path) -> Iterator[Callable[[str], object]]:
    """``open_demo(username)``: the demo installation opened with that user signed in
    ("admin", "colin" the coordinator, "rita" the recorder). Closed after the test."""
    from srcdesk.services.base import Context
    from srcdesk.services.setup import open_installation
    from srcdesk.services.users import authenticate

    opened: list[Context] = []

    def open_as(username: str = "admin") -> Context:
        ctx = open_installation(demo_data)
        ctx = ctx.signed_in(authenticate(ctx.db, username, PASSWORD))
        opened.append(ctx)
        return ctx

    yield open_as
    QThreadPool.globalInstance().waitForDone(WAIT_MS)
    QCoreApplication.processEvents()
    for ctx in opened:
        ctx.db.close()


DEMO_TODAY = dt.date(2026, 10, 28)  # a Wednesday near the end of the demo data (it ends 31 Oct 2026)


@pytest.fixture
def demo_today(monkeypatch: pytest.MonkeyPatch) -> dt.date:
    """Pages that show "this week" see :data:`DEMO_TODAY`, inside the demo data."""
    from srcdesk.ui.pages import today as today_page

    monkeypatch.setattr(today_page, "today", lambda: DEMO_TODAY)
    return DEMO_TODAY


def mnemonics(widget) -> list[str]:  # noqa: ANN001
    """The Alt+letter keys of the visible buttons, labels and tabs in ``widget``."""
    from PySide6.QtWidgets import QAbstractButton, QLabel, QTabBar

    texts = []
    if isinstance(widget, QTabBar):
        texts = [widget.tabText(i) for i in range(widget.count())]
    else:
        texts = [w.text() for w in widget.findChildren(QAbstractButton) if w.isVisible()]
        texts += [w.text() for w in widget.findChildren(QLabel) if w.isVisible() and w.buddy() is not None]
    return [t[t.index("&") + 1].lower() for t in texts if "&" in t.replace("&&", "")]
