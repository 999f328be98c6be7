"""The desktop app: set-up or sign-in, then the main window.

:func:`run_app` is what ``srcdesk`` with no command runs. The flow lives in
:class:`AppController` so tests can drive it without an event loop of its own::

    find the data (at once) ──none──▶ FirstRunDialog ──created─────▶ MainWindow
            │                                                     ▲      │ sign out
            └──found──▶ LoginDialog (opens the data in the background) ◀──┘
                              └──signed in──────────────────────────┘

The application quits only when the controller says so (``finished``): closing the sign-in
window on the way to the main window must not end it.

Opening at once: the way to the sign-in window imports Qt and srcdesk's own light modules only.
SQLAlchemy, the models and the services are imported in the background, by the task that opens
the data, while the person types; the main window's modules follow in the same task
(:data:`MAIN_MODULES`), so that pressing Enter costs the password check and building the window,
not imports. The data is opened only once the sign-in window has been painted: the imports would
slow its first paint. The frozen build (``installer.spec``) collects every srcdesk module, and
what each imports, whether it is imported at once or later.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QObject, QSettings, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import QApplication, QWidget

from .. import __version__
from ..errors import SrcdeskError
from ..paths import database_path
from .collector import UiThreadCollector
from .errors import configure_logging, install_excepthook, report_unexpected
from .login_dialog import LoginDialog
from .single_instance import SingleInstance, already_open_box, bring_to_front
from .tasks import Task, pending_for, run_task, when_settled

if TYPE_CHECKING:  # imported in the background (see the module's docstring)
    from ..services.base import Context
    from .main_window import MainWindow
    from .setup_dialog import FirstRunDialog

#: Imported in the background once the data is open, before any password is checked.
MAIN_MODULES = ("srcdesk.ui.main_window",)
#: Imported in the background when there is no data yet (the first-run window's).
SETUP_MODULES = ("srcdesk.ui.setup_dialog",)
#: The data is opened once the sign-in window has been painted, or after this long whatever happens.
OPEN_ANYWAY_MS = 1000

APP_NAME = "srcdesk"
ORGANISATION = "Scottish Recovery Consortium"
ORGANISATION_DOMAIN = "scottishrecoveryconsortium.org"


def configure_application(app: QCoreApplication) -> None:
    """Names used by QSettings (window geometry) and shown by the platform."""
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setOrganizationName(ORGANISATION)
    app.setOrganizationDomain(ORGANISATION_DOMAIN)
    if isinstance(app, QApplication):
        app.setQuitOnLastWindowClosed(False)  # the controller decides when srcdesk ends


def _dismiss(dialog: QWidget | None) -> None:
    """Hide a finished dialog and let Qt delete it; returns None to clear the reference."""
    if dialog is not None:
        dialog.hide()
        dialog.deleteLater()
    return None


def _load(modules: tuple[str, ...]) -> None:
    """Import ``modules`` (in the background: classes are defined, no widget is made)."""
    for name in modules:
        importlib.import_module(name)


def _open_data(data_dir: Path) -> Context:
    """Import the services, open the data, then import the main window's modules: all in the
    background, while the person types (the data's problems are told before the imports)."""
    from ..services.setup import open_installation
    from ..services.users import authenticate  # noqa: F401 - signing in needs it next

    ctx = open_installation(data_dir)
    try:
        _load(MAIN_MODULES)
    except BaseException:
        ctx.db.close()
        raise
    return ctx


def _close_context(ctx: Context) -> None:
    """``dispose`` for data opened for nobody (the app ended first)."""
    ctx.db.close()


class AppController(QObject):
    """Which window is showing, and the open installation (:attr:`context`) behind them."""

    finished = Signal(int)  # exit code: the application should quit

    def __init__(self, data_dir: Path, settings: QSettings | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.data_dir = data_dir
        self.settings = settings
        self.context: Context | None = None
        self.setup_dialog: FirstRunDialog | None = None
        self.login_dialog: LoginDialog | None = None
        self.main_window: MainWindow | None = None
        self._open_task: Task | None = None
        self._opening_for: LoginDialog | None = None  # the sign-in window the data is being opened for
        self._ending: Context | None = None  # the sign-in that ended, while its work may still run
        self._finished = False

    # -- start ---------------------------------------------------------------------------------

    def start(self) -> None:
        """The sign-in window at once if there is data (one look in the folder whose lock
        run_app has just taken there: no worker is waited for, nor the tasks' set-up, which
        would slow the window's first paint); else the first-run window, its modules loaded
        in the background."""
        try:
            found = database_path(self.data_dir).exists()
        except OSError as error:
            QTimer.singleShot(0, self, lambda error=error: self._fatal(error))  # once the event loop runs
            return
        if found:
            self.show_login()
        else:
            run_task(_load, SETUP_MODULES, owner=self, on_result=lambda _none: self.show_setup(),
                     on_error=self._fatal, name="load the first-run window")

    # -- first run -----------------------------------------------------------------------------

    def show_setup(self) -> FirstRunDialog:
        from .setup_dialog import FirstRunDialog  # loaded by the task that looked for the data

        dialog = FirstRunDialog(self.data_dir)
        dialog.installationCreated.connect(self._installation_created)
        dialog.sampleChosen.connect(self._sample_chosen)
        dialog.rejected.connect(self.quit)
        self.setup_dialog = dialog
        dialog.show()
        return dialog

    def _installation_created(self, ctx: Context) -> None:
        self.context = ctx
        self.setup_dialog = _dismiss(self.setup_dialog)
        self.show_main()

    def _sample_chosen(self, folder: Path) -> None:
        """Sign in to the sample data made on an earlier run (it stays apart from the real data)."""
        self.data_dir = folder
        self.setup_dialog = _dismiss(self.setup_dialog)
        self.show_login()

    # -- signing in ------------------------------------------------------------------------------

    def show_login(self) -> LoginDialog:
        dialog = LoginDialog(self.data_dir, self.context)
        dialog.signedIn.connect(self._signed_in)
        dialog.rejected.connect(self.quit)
        self.login_dialog = dialog
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        if self.context is None:  # once the window is on the screen (the imports would slow it)
            dialog.shown.connect(lambda: self._start_opening(dialog))
            QTimer.singleShot(OPEN_ANYWAY_MS, self, lambda: self._start_opening(dialog))
        return dialog

    def _start_opening(self, dialog: LoginDialog) -> None:
        """Open the data behind ``dialog`` (once, and only while it is the sign-in window)."""
        if self._finished or self.context is not None or dialog is not self.login_dialog:
            return
        if self._opening_for is dialog:  # already (painted, then the timer; or the other way)
            return
        self._opening_for = dialog
        self._open_task = run_task(_open_data, self.data_dir, owner=self, dispose=_close_context,
                                   on_result=self._opened, on_error=self._open_failed, name="open the data")

    def _opened(self, ctx: Context) -> None:
        self._open_task = None
        if self._finished:
            run_task(_close_context, ctx, name="close the data")
            return
        self.context = ctx
        if self.login_dialog is not None:
            self.login_dialog.set_context(ctx)

    def _open_failed(self, error: BaseException) -> None:
        self._open_task = None
        if not isinstance(error, SrcdeskError):
            report_unexpected(error)
        if self.login_dialog is not None:
            message = str(error) if isinstance(error, SrcdeskError) else "The data could not be opened."
            self.login_dialog.set_open_error(message)

    def _signed_in(self, user: object) -> None:
        """A new, frozen Context for this sign-in, made only once the work queued by the
        previous one has finished (it ran as that user, never as this one)."""
        if self._finished or self.context is None:
            return
        previous, self._ending = self._ending, None
        if previous is not None and pending_for(previous):
            self._ending = previous
            when_settled(previous, lambda: self._signed_in(user))
            QTimer.singleShot(0, self._show_waiting)  # after the sign-in window has closed itself
            return
        self.context = self.context.signed_in(user)  # type: ignore[arg-type]
        self.login_dialog = _dismiss(self.login_dialog)
        self.show_main()

    def _show_waiting(self) -> None:
        """The sign-in window stays up (its fields disabled) while the last user's work finishes."""
        dialog = self.login_dialog
        if dialog is not None and self._ending is not None and not self._finished:
            dialog.status.say("Finishing what the previous user started…")
            dialog.show()

    # -- the main window -----------------------------------------------------------------------

    def show_main(self) -> MainWindow:
        from .main_window import MainWindow  # loaded in the background once the data was open

        assert self.context is not None and self.context.user is not None
        window = MainWindow(self.context, self.settings)
        window.signOutRequested.connect(self.sign_out)
        window.quitRequested.connect(self.quit)
        self.main_window = window
        window.show()
        window.raise_()
        window.activateWindow()
        return window

    def sign_out(self) -> None:
        if self.main_window is not None:
            window, self.main_window = self.main_window, None
            window.hide()
            window.deleteLater()
        if self.context is not None:
            # The signed-out Context is kept only to know when its queued work has finished.
            self._ending, self.context = self.context, self.context.signed_in(None)
        self.show_login()

    def bring_to_front(self) -> QWidget | None:
        """Another start-up on this data asked for srcdesk: show the window in use in front."""
        return bring_to_front([self.main_window, self.login_dialog, self.setup_dialog])

    # -- ending ----------------------------------------------------------------------------------

    def _fatal(self, error: BaseException) -> None:
        report_unexpected(error)
        self.quit()

    def quit(self) -> None:
        if self._finished:
            return
        self._finished = True
        self.finished.emit(0)

    def shutdown(self, timeout_ms: int = 10_000) -> None:
        """Close the windows, let background work finish, close the database. Idempotent."""
        self._finished = True
        if self._open_task is not None:
            self._open_task.discard()
        for widget in (self.setup_dialog, self.login_dialog):
            if widget is not None:
                widget.hide()
                widget.deleteLater()
        if self.main_window is not None:
            window, self.main_window = self.main_window, None
            window.blockSignals(True)
            window._force_close = True  # quitting: nothing left to ask (asked at Quit)
            window.close()
            window.deleteLater()
        self.setup_dialog = self.login_dialog = None
        pool = QThreadPool.globalInstance()
        pool.waitForDone(timeout_ms)
        QCoreApplication.sendPostedEvents()  # deliver (or dispose of) what finished meanwhile
        pool.waitForDone(timeout_ms)
        if self.context is not None:
            self.context.db.close()
            self.context = None


def run_app(data_dir: Path) -> int:
    """Open the desktop app on ``data_dir``; returns the process exit code."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    configure_application(app)
    # One app per data folder (and no command writing beside it): a second one brings the first
    # one's window to the front and says so. A lock file, taken without waiting; nothing is read.
    instance = SingleInstance(data_dir)
    if not instance.claim():
        box = already_open_box(data_dir, woke=instance.wake_running())
        box.finished.connect(lambda _result: app.exit(1))
        box.open()
        return app.exec()
    configure_logging(data_dir)
    install_excepthook(data_dir)
    collector = UiThreadCollector(app)  # Python's garbage collector never runs on a worker
    controller = AppController(data_dir)
    controller.finished.connect(app.exit)
    instance.raiseRequested.connect(controller.bring_to_front)
    controller.start()
    try:
        return app.exec()
    finally:
        controller.shutdown()
        collector.stop()
        instance.release()
