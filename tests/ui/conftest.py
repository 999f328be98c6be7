"""Fixtures for the desktop-app tests (pytest-qt, offscreen).

No test may wait on a modal dialog: dialogs are shown with show(), never exec(), and every
wait has a timeout. Each test gets its own data folder and its own settings file, and leaves
no background task running behind it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication, QSettings, QThreadPool  # noqa: E402

from srcdesk.services.setup import init_installation  # noqa: E402
from srcdesk.ui.app import AppController, configure_application  # noqa: E402
from srcdesk.ui.tasks import pending_tasks  # noqa: E402

PASSWORD = "password123"
WAIT_MS = 10_000


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
    yield
    # Let background work finish and deliver inside this test, not in the next one.
    assert QThreadPool.globalInstance().waitForDone(WAIT_MS), "a background task is still running"
    QCoreApplication.processEvents()
    QThreadPool.globalInstance().waitForDone(WAIT_MS)
    QCoreApplication.processEvents()
    assert pending_tasks() == 0, "a background task never delivered its outcome"


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
