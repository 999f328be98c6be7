"""The Sync page: five tabs (one module each) and what they share — the folder last used, the file
choosers (classmethods, so tests can replace them), the background work to wait for in tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QTabWidget, QVBoxLayout, QWidget

from ....services.base import Context
from ...sync_dialogs import note
from ...table_model import PagedTableModel
from ...widgets import choose_folder, choose_save_file, heading
from .. import Page
from .base import LAST_FOLDER_KEY
from .conflicts_tab import ConflictsTab
from .export_tab import ExportTab
from .history_tab import HistoryTab
from .import_tab import ImportTab
from .trust_tab import TrustTab


class SyncPage(Page):
    key = "sync"
    title = "Sync"
    needs = "sync.bundles"
    topics = frozenset({"sync"})

    #: The number of open conflicts, each time it is counted (for a "Sync (2)" in the navigation).
    conflictsChanged = Signal(int)

    def __init__(self, ctx: Context, parent: QWidget | None = None, settings: QSettings | None = None) -> None:
        super().__init__(ctx, parent)
        self.settings = settings if settings is not None else QSettings()
        self.can_trust = ctx.can("trust.edit")
        self._tasks: set[Any] = set()
        self._models: set[PagedTableModel] = set()

        office = ctx.installation.is_office
        intro = note("Carry changes between this PC and " +
                     ("the establishments" if office else "the SRC office") +
                     " in bundle files: signed by the PC that wrote them, readable only by the PC they are for.",
                     "syncIntro")
        self.export_tab = ExportTab(self)
        self.import_tab = ImportTab(self)
        self.history_tab = HistoryTab(self)
        self.trust_tab = TrustTab(self)
        self.conflicts_tab = ConflictsTab(self)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("syncTabs")
        self.tabs.setAccessibleName("Sync")
        self.tabs.tabBar().setAccessibleName("Sync sections")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.export_tab, "&Export")
        self.tabs.addTab(self.import_tab, "&Import")
        self.tabs.addTab(self.history_tab, "Hi&story")
        self.tabs.addTab(self.trust_tab, "&Trust")
        self.tabs.addTab(self.conflicts_tab, "&Conflicts")
        self.conflicts_tab.countChanged.connect(self._conflicts_counted)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 18, 18, 18)
        layout.addWidget(heading("Sync", scale=1.6))
        layout.addWidget(intro)
        layout.addWidget(self.tabs, 1)
        self.setFocusProxy(self.tabs)

    # -- loading ---------------------------------------------------------------------------------

    def refresh(self) -> None:
        for tab in (self.export_tab, self.history_tab, self.trust_tab, self.conflicts_tab):
            tab.load()

    def track(self, task: Any) -> Any:
        """Remember a background task until it delivers (for :attr:`idle`)."""
        self._tasks.add(task)
        task.done.connect(lambda *_: self._tasks.discard(task))
        return task

    def track_model(self, model: PagedTableModel) -> None:
        self._models.add(model)

    @property
    def idle(self) -> bool:
        """Nothing this page started is still running (for tests)."""
        return not any(t.is_running for t in self._tasks) and not any(m.loading for m in self._models)

    @property
    def conflict_count(self) -> int:
        return self.conflicts_tab.count

    def _conflicts_counted(self, count: int) -> None:
        index = self.tabs.indexOf(self.conflicts_tab)
        self.tabs.setTabText(index, f"&Conflicts ({count})" if count else "&Conflicts")
        self.tabs.setTabToolTip(index, f"{count} conflict{'' if count == 1 else 's'} to decide" if count
                                else "No conflicts")
        self.conflictsChanged.emit(count)

    def show_tab(self, name: str) -> QWidget:
        tab = getattr(self, f"{name}_tab")
        self.tabs.setCurrentWidget(tab)
        return tab

    # -- folders and files (tests replace these) ---------------------------------------------------

    def last_folder(self) -> str:
        folder = self.settings.value(LAST_FOLDER_KEY, "", type=str)
        return folder if folder and Path(folder).is_dir() else str(Path.home())

    def remember_folder(self, folder: Path) -> None:
        self.settings.setValue(LAST_FOLDER_KEY, str(folder))

    @classmethod
    def ask_folder(cls, parent: QWidget, start: str, on_chosen: Callable[[Path], Any]) -> QFileDialog | None:
        """Ask which folder (or USB drive) to write bundles into, without blocking."""
        return choose_folder(parent, "Write the bundle into which folder or USB drive?", start, "&Write here",
                             "bundleFolderDialog", on_chosen)

    @classmethod
    def ask_files(cls, parent: QWidget, start: str, on_chosen: Callable[[list[Path]], Any]) -> QFileDialog | None:
        """Ask which bundle files to import (one or several), without blocking."""
        dialog = QFileDialog(parent, "Import which bundles?", start,
                             "srcdesk bundles (*.srcbundle);;All files (*)")
        dialog.setObjectName("bundleFilesDialog")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
        dialog.setLabelText(QFileDialog.DialogLabel.Accept, "&Check")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.filesSelected.connect(lambda chosen: on_chosen([Path(c) for c in chosen]))
        dialog.open()
        return dialog

    @classmethod
    def ask_card_path(cls, parent: QWidget, start: str, on_chosen: Callable[[Path], Any]) -> QFileDialog | None:
        """Ask where to write this PC's enrolment card, without blocking."""
        return choose_save_file(parent, "Write the enrolment card to", start,
                                "Enrolment cards (*.card);;All files (*)", "card", "cardSaveDialog", on_chosen)


__all__ = ["SyncPage"]
