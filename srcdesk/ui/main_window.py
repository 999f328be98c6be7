"""The main window: a navigation list of pages, menus, and a status bar saying where and who.

It opens with its first page only: every page's entry is in the navigation list at once, and
each page is built the first time it is asked for (shown, or ``window.pages[key]``) or, failing
that, one at a time once the window is idle (:class:`PageSet`). Signing in costs the first
page, not all of them.

When the app starts it checks srcdesk's clock against this PC's in the background; if it is more
than an hour ahead (the PC's clock was wrong) a banner above the pages says so once and leads to
Settings → This PC's clock (:class:`srcdesk.ui.pages.clock.ClockWarning`).
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Iterator, MutableMapping

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QFrame,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from .. import __version__
from ..services.base import Context
from ..services.setup import SAMPLE_SIGN_IN
from .bus import ExternalChanges, data_bus
from .catalogue_dialogs import open_dialog
from .guide import GuideWindow
from .lock import IdleWatcher, LockScreen, idle_lock_minutes
from .login_dialog import describe_installation
from .pages import Page
from .pages.clock import ClockWarning
from .pages.installation import role_title
from .pages.registry import PAGES
from .user_dialogs import ChangeMyPasswordDialog

GEOMETRY_KEY = "main_window/geometry"
STATE_KEY = "main_window/state"
SPLITTER_KEY = "main_window/splitter"
DEFAULT_SIZE = (960, 640)
IDLE_BUILD_MS = 200  # after the window has shown its first page, the other pages are built


class PageSet(MutableMapping[str, Page]):
    """The window's pages by key, in the navigation list's order. A page is built (by ``build``)
    the first time it is asked for; :meth:`built` lists those that exist, without building any."""

    def __init__(self, build: Callable[[str], Page]) -> None:
        self._order: list[str] = []
        self._built: dict[str, Page] = {}
        self._build = build

    def declare(self, key: str) -> None:
        if key in self._order:
            raise ValueError(f"a page called {key!r} is already there")
        self._order.append(key)

    def __getitem__(self, key: str) -> Page:
        if key not in self._order:
            raise KeyError(key)
        page = self._built.get(key)
        return page if page is not None else self._build(key)

    def __setitem__(self, key: str, page: Page) -> None:
        if key not in self._order:
            self._order.append(key)
        self._built[key] = page

    def __delitem__(self, key: str) -> None:
        raise TypeError("pages are not taken out of the window")

    def __contains__(self, key: object) -> bool:
        return key in self._order

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._order))

    def __len__(self) -> int:
        return len(self._order)

    def is_built(self, key: str) -> bool:
        return key in self._built

    def built(self) -> list[Page]:
        return [self._built[key] for key in self._order if key in self._built]


def about_text() -> str:
    return (
        f"<h3>srcdesk {__version__}</h3>"
        "<p>Record keeping for recovery development in Scotland's prisons.</p>"
        "<p>Scottish Recovery Consortium</p>"
        f"<p><small>Python {sys.version.split()[0]}, PySide6 {pyside_version}</small></p>"
    )


class MainWindow(QMainWindow):
    """Shown after sign-in. Emits :attr:`signOutRequested` or :attr:`quitRequested` as it closes."""

    signOutRequested = Signal()
    quitRequested = Signal()

    def __init__(self, ctx: Context, settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.settings = settings if settings is not None else QSettings()
        self._leaving = "quit"
        self.pages = PageSet(self._build_page)
        self._page_classes: dict[str, type[Page]] = {}
        self._areas: dict[str, QScrollArea] = {}
        self._items: dict[str, QListWidgetItem] = {}
        self.about_box: QMessageBox | None = None
        self.lock_screen: LockScreen | None = None
        self._hidden_by_lock: list[QWidget] = []
        self._force_close = False
        self.setObjectName("mainWindow")
        sample = " — SAMPLE DATA" if ctx.installation.sample else ""
        self.setWindowTitle(f"srcdesk — {ctx.installation.name}{sample}")

        self.nav = QListWidget()
        self.nav.setObjectName("navigation")
        self.nav.setAccessibleName("Pages")
        self.nav.setMinimumWidth(140)
        self.nav.setStyleSheet("QListWidget#navigation::item { padding: 0.35em 0.6em; }")
        self.stack = QStackedWidget()
        self.stack.setObjectName("pages")
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.nav)
        self.splitter.addWidget(self.stack)
        self.splitter.setStretchFactor(1, 1)
        self.clock_warning = ClockWarning(ctx)
        self.clock_warning.showRequested.connect(self.show_clock)
        central = QWidget()
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(0, 0, 0, 0)
        central_layout.setSpacing(0)
        central_layout.addWidget(self.clock_warning)
        central_layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self.nav.currentRowChanged.connect(self._page_chosen)

        self._build_menus()
        self._build_status_bar()
        self._restoring = True  # the first page is built below, before the layout is restored
        for page_class in PAGES:
            if page_class.allowed(ctx):
                self._page_classes[page_class.key] = page_class
                self._add_entry(page_class.key, page_class.title)
        self._restoring = False
        self._restore_geometry()
        self._idle_build = QTimer(self)  # the other pages, one at a time, once the window is idle
        self._idle_build.setSingleShot(True)
        self._idle_build.timeout.connect(self._build_next_page)
        self._idle_build.start(IDLE_BUILD_MS)

        self.idle_watcher = IdleWatcher(idle_lock_minutes(self.settings) * 60_000, self)
        self.idle_watcher.idle.connect(self.lock)
        self.idle_watcher.start()
        data_bus().changed.connect(self._data_changed)
        # Writes by another program (a CLI import while this window is open) refresh the views too.
        self.external_changes = ExternalChanges(ctx.db.path)
        self.destroyed.connect(self.external_changes.stop)  # however the window goes
        self.clock_warning.check()  # once per start, in the background

    # -- pages -----------------------------------------------------------------------------

    def add_page(self, page: Page) -> Page:
        """Add a page that is already built (and its entry in the navigation list)."""
        self._add_entry(page.key, page.title)
        self._place_page(page)
        return page

    def _add_entry(self, key: str, title: str) -> None:
        """The page's entry in the navigation list (shown once there are two or more), its Go
        menu item and the place it will fill; the first entry is chosen, which builds its page."""
        self.pages.declare(key)
        item = QListWidgetItem(title)
        item.setData(Qt.ItemDataRole.UserRole, key)
        number = len(self.pages)
        if number <= 9:
            go = QAction(f"&{number} {title}", self)
            go.setObjectName(f"go{key.title()}Action")
            go.setShortcut(QKeySequence(f"Ctrl+{number}"))
            go.triggered.connect(lambda _checked=False, key=key: self.show_page(key))
            self.go_menu.addAction(go)
            self.go_actions.append(go)
            item.setToolTip(f"{title} (Ctrl+{number})")
        item.setData(Qt.ItemDataRole.AccessibleTextRole, title)
        self._items[key] = item
        self.nav.addItem(item)
        # Each page scrolls if the window is smaller than the page's minimum (a small screen at
        # 150 % or 200 % scaling) instead of forcing the window to be bigger than the screen.
        area = QScrollArea()
        area.setObjectName(f"{key}Scroll")
        area.setWidgetResizable(True)
        area.setFrameShape(QFrame.Shape.NoFrame)
        area.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # not a tab stop of its own; the page's controls are
        area.setAccessibleName(title)
        self._areas[key] = area
        self.stack.addWidget(area)
        self.nav.setVisible(len(self.pages) > 1)
        if self.nav.currentRow() < 0:
            self.nav.setCurrentRow(0)

    def _build_page(self, key: str) -> Page:
        page_class = self._page_classes[key]
        # Pages with settings of this PC (Settings: the idle lock) share the window's store.
        wants_settings = "settings" in inspect.signature(page_class).parameters
        page = page_class(self.ctx, settings=self.settings) if wants_settings else page_class(self.ctx)
        self._place_page(page)
        return page

    def _place_page(self, page: Page) -> None:
        """Put a built page in its place, wired to the window, with its splitters as they were left."""
        self.pages[page.key] = page
        self._areas[page.key].setWidget(page)
        item = self._items[page.key]
        counted = getattr(page, "conflictsChanged", None)  # e.g. "Sync (2)": conflicts waiting for a person
        if counted is not None:
            counted.connect(lambda n, item=item, title=page.title: item.setText(f"{title} ({n})" if n else title))
        if hasattr(page, "personRequested"):
            # Today: someone eligible for their next milestone, shown where it is signed off;
            # a page that sets no ``person_page`` shows the person on the People page.
            where = getattr(page, "person_page", "people")
            page.personRequested.connect(lambda person_id, key=where: self.show_person(person_id, key))
        on_people = getattr(page, "personOnPeoplePageRequested", None)  # Today: someone going home soon
        if on_people is not None:
            on_people.connect(lambda person_id: self.show_person(person_id, "people"))
        if not self._restoring:  # (the window's first page: restored with the window's layout)
            for key, splitter in self._page_splitters([page]):
                state = self.settings.value(key)
                if state is not None:
                    splitter.restoreState(state)

    def _build_next_page(self) -> None:
        """Build one page not built yet, and come back for the next once the window is idle again."""
        waiting = [key for key in self.pages if not self.pages.is_built(key)]
        if waiting:
            self._build_page(waiting[0])
            if len(waiting) > 1:
                self._idle_build.start(0)

    def show_page(self, key: str) -> Page:
        page = self.pages[key]
        self.nav.setCurrentRow(list(self.pages).index(key))
        return page

    def show_person(self, person_id: str, key: str = "people") -> None:
        """Show a person on the People page (or another page with ``show_person``)."""
        page = self.pages.get(key) or self.pages.get("people")
        if page is not None and hasattr(page, "show_person"):
            self.show_page(page.key)
            page.show_person(person_id)

    def show_clock(self) -> None:
        """Settings → This PC's clock (from the clock warning)."""
        page = self.pages.get("settings")
        if page is not None:
            self.show_page("settings")
            page.show_clock()

    @property
    def current_page(self) -> Page | None:
        area = self.stack.currentWidget()
        page = area.widget() if isinstance(area, QScrollArea) else None
        return page if isinstance(page, Page) else None

    def _page_chosen(self, row: int) -> None:
        if row < 0:
            return
        self.stack.setCurrentIndex(row)
        key = self.nav.item(row).data(Qt.ItemDataRole.UserRole)
        page = self.pages[key] if key in self.pages else None  # built now if it was not yet
        if page is not None:
            page.activate()

    # -- menus and status bar -------------------------------------------------------------

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.sign_out_action = QAction("Sign &out / switch user", self)
        self.sign_out_action.setObjectName("signOutAction")
        self.sign_out_action.setShortcut(QKeySequence("Ctrl+Shift+L"))
        self.sign_out_action.setStatusTip("Sign out and show the sign-in window, for you or someone else")
        self.sign_out_action.triggered.connect(self.sign_out)
        self.quit_action = QAction("&Quit", self)
        self.quit_action.setObjectName("quitAction")
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.quit_action.triggered.connect(self.quit)
        self.lock_action = QAction("&Lock now", self)
        self.lock_action.setObjectName("lockAction")
        self.lock_action.setShortcut(QKeySequence("Ctrl+L"))
        self.lock_action.setStatusTip("Hide srcdesk until you enter your password again")
        self.lock_action.triggered.connect(self.lock)
        self.password_action = QAction("Change my &password…", self)
        self.password_action.setObjectName("changeMyPasswordAction")
        self.password_action.setStatusTip("Choose a new password for yourself (the current one is asked for)")
        self.password_action.setEnabled(self.ctx.can("password.own"))
        self.password_action.triggered.connect(self.change_my_password)
        self.password_dialog: QDialog | None = None
        file_menu.addAction(self.password_action)
        file_menu.addAction(self.lock_action)
        file_menu.addAction(self.sign_out_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)

        # Ctrl+1…9 go to the first nine pages of the navigation list (added with the pages).
        self.go_menu = self.menuBar().addMenu("&Go")
        self.go_actions: list[QAction] = []

        help_menu = self.menuBar().addMenu("&Help")
        self.guide_action = QAction("User &guide", self)
        self.guide_action.setObjectName("guideAction")
        self.guide_action.setShortcut(QKeySequence(QKeySequence.StandardKey.HelpContents))
        self.guide_action.setStatusTip("A short guide to srcdesk (it opens without a network)")
        self.guide_action.triggered.connect(self.show_guide)
        help_menu.addAction(self.guide_action)
        self.guide: GuideWindow | None = None
        self.about_action = QAction("&About srcdesk", self)
        self.about_action.setObjectName("aboutAction")
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.about_action.triggered.connect(self.show_about)
        help_menu.addAction(self.about_action)

    def _build_status_bar(self) -> None:
        inst = self.ctx.installation
        user = self.ctx.user
        self.installation_status = QLabel(describe_installation(inst))
        self.installation_status.setObjectName("installationStatus")
        self.installation_status.setAccessibleName(f"Installation: {describe_installation(inst)}")
        who = f"Signed in as {user.display_name} ({role_title(user.role).lower()})" if user else "Not signed in"
        self.user_status = QLabel(who)
        self.user_status.setObjectName("userStatus")
        self.user_status.setAccessibleName(who)
        for label in (self.installation_status, self.user_status):
            label.setContentsMargins(6, 0, 6, 0)
        bar = self.statusBar()
        if inst.sample:
            self.sample_status = QLabel("Sample data — made up, not for real records")
            self.sample_status.setToolTip(f"To come back to it, {SAMPLE_SIGN_IN}.")
            self.sample_status.setObjectName("sampleStatus")
            self.sample_status.setStyleSheet("font-weight: bold;")
            bar.addWidget(self.sample_status)
        bar.addWidget(self.installation_status)
        bar.addPermanentWidget(self.user_status)

    def change_my_password(self) -> QDialog:
        dialog = ChangeMyPasswordDialog(self.ctx, parent=self)
        dialog.savedMessage.connect(lambda text: self.statusBar().showMessage(text, 10_000))
        self.password_dialog = open_dialog(dialog)
        return self.password_dialog

    def show_guide(self) -> GuideWindow:
        """Help → User guide (F1): the guide shipped in resources/, in a window of its own."""
        if self.guide is None or not isValid(self.guide):
            self.guide = GuideWindow(self)
        self.guide.show()
        self.guide.raise_()
        self.guide.activateWindow()
        return self.guide

    def show_about(self) -> QMessageBox:
        """Opens (never exec()s) the About box, so nothing waits on it."""
        box = QMessageBox(self)
        box.setObjectName("aboutBox")
        box.setWindowTitle("About srcdesk")
        box.setIcon(QMessageBox.Icon.Information)
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setText(about_text())
        box.setStandardButtons(QMessageBox.StandardButton.Close)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.about_box = box
        return box

    # -- leaving ------------------------------------------------------------------------------

    def sign_out(self) -> None:
        self._leaving = "sign out"
        self.close()

    def quit(self) -> None:
        self._leaving = "quit"
        self.close()

    # -- locking -------------------------------------------------------------------------------

    @property
    def locked(self) -> bool:
        return self.lock_screen is not None

    def lock(self) -> None:
        """Hide every srcdesk window (keeping its state) and ask for the password again."""
        if self.locked or self.ctx.user is None:
            return
        self.idle_watcher.stop()
        # Where the person was working (a register over the main window, a field in it): given back on unlocking.
        self._focus_before_lock = (QApplication.activeWindow(), QApplication.focusWidget())
        self._hidden_by_lock = [w for w in QApplication.topLevelWidgets()
                                if w.isVisible() and not isinstance(w, LockScreen)]
        for widget in self._hidden_by_lock:
            widget.hide()
        screen = LockScreen(self.ctx)
        screen.unlocked.connect(self._unlocked)
        screen.signOutRequested.connect(self._sign_out_from_lock)
        self.lock_screen = screen
        screen.show()
        screen.raise_()
        screen.activateWindow()

    def _end_lock(self) -> list[QWidget]:
        screen, self.lock_screen = self.lock_screen, None
        if screen is not None:
            screen.hide()
            screen.deleteLater()
        hidden, self._hidden_by_lock = self._hidden_by_lock, []
        return hidden

    def _unlocked(self) -> None:
        hidden = self._end_lock()
        for widget in hidden:
            widget.show()
        window, focus = getattr(self, "_focus_before_lock", (None, None))
        self._focus_before_lock = (None, None)
        if window is None or not isValid(window) or window not in hidden:
            window = self
        window.raise_()
        window.activateWindow()
        if focus is not None and isValid(focus) and focus.window() is window and focus.isVisible():
            focus.setFocus(Qt.FocusReason.OtherFocusReason)
        self.idle_watcher.start()

    def _sign_out_from_lock(self) -> None:
        self._end_lock()
        self._force_close = True
        self.sign_out()

    def _data_changed(self, topics: frozenset[str]) -> None:
        if "settings" in topics:
            self.idle_watcher.set_timeout_ms(idle_lock_minutes(self.settings) * 60_000)
        if not self.clock_warning.isHidden():
            # A repair re-stamps records (whatever topics that makes): hidden once the clock is
            # repaired, never shown again.
            self.clock_warning.check(show=False)

    def _close_own_windows(self) -> bool:
        """Close the dialogs this window opened (a register asks about unsaved changes).
        False if one of them refused; with ``_force_close`` they are closed without asking."""
        for dialog in self.findChildren(QDialog):
            if dialog is self.about_box or not (dialog.isVisible() or self._force_close):
                continue
            if self._force_close:
                dialog.hide()
                dialog.deleteLater()
            elif not dialog.close():
                return False
        return True

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if not self._close_own_windows():
            event.ignore()
            self._leaving = "quit"
            return
        self._end_lock()
        self.idle_watcher.dispose()
        self.external_changes.stop()
        self._save_geometry()
        super().closeEvent(event)
        if self._leaving == "sign out":
            self.signOutRequested.emit()
        else:
            self.quitRequested.emit()
        self._leaving = "quit"

    # -- remembered geometry (QSettings: the organisation and application names) -------------

    def _restore_geometry(self) -> None:
        geometry = self.settings.value(GEOMETRY_KEY)
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(*DEFAULT_SIZE)
        # Never bigger than the screen it opens on (a 1024x600 PC, or a size remembered elsewhere).
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        if screen is not None and (self.width() > screen.width() or self.height() > screen.height()):
            # Its frame and title bar come on top of the size: open maximized, which fits them too.
            self.resize(min(self.width(), screen.width()), min(self.height(), screen.height()))
            self.setWindowState(self.windowState() | Qt.WindowState.WindowMaximized)
        state = self.settings.value(STATE_KEY)
        if state is not None:
            self.restoreState(state)
        splitter = self.settings.value(SPLITTER_KEY)
        if splitter is None or not self.splitter.restoreState(splitter):
            nav = max(self.nav.sizeHintForColumn(0) + 40, self.nav.minimumWidth())
            self.splitter.setSizes([nav, max(self.width() - nav, 1)])
        for key, page_splitter in self._page_splitters(self.pages.built()):
            state = self.settings.value(key)
            if state is not None:
                page_splitter.restoreState(state)

    def _save_geometry(self) -> None:
        self.settings.setValue(GEOMETRY_KEY, self.saveGeometry())
        self.settings.setValue(STATE_KEY, self.saveState())
        self.settings.setValue(SPLITTER_KEY, self.splitter.saveState())
        for key, splitter in self._page_splitters(self.pages.built()):  # a page never built: as it was
            self.settings.setValue(key, splitter.saveState())

    @staticmethod
    def _page_splitters(pages: list[Page]) -> list[tuple[str, QSplitter]]:
        """The named splitters inside the pages (their layout is remembered too)."""
        return [(f"pages/{page.key}/{splitter.objectName()}", splitter)
                for page in pages for splitter in page.findChildren(QSplitter)
                if splitter.objectName()]
