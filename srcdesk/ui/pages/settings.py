"""Settings: this installation (where, who), the idle lock, this PC's clock, the data folder, and backups.

* The idle lock is a setting of this PC (``QSettings`` key :data:`IDLE_LOCK_KEY`, minutes,
  read with :func:`idle_lock_minutes`); changing it announces ``"settings"`` on the data bus.
  Everyone sees it; only an administrator changes it (it is a security setting of a shared PC).
* "Back up now" writes a consistent copy of the data into the data folder's ``backups`` folder
  (anyone signed in); "Back up to…" writes one to a chosen folder (administrators: the copy holds
  every record). Both run in the background with a progress dialog.
* "This PC's clock" (:class:`srcdesk.ui.pages.clock.ClockSection`): srcdesk's clock against this
  PC's, and the repair after the PC's clock was ahead (administrators).
* "Certificates" (:class:`srcdesk.ui.pages.certificate_design.CertificateDesignSection`): the
  signatories, footer and logos printed on certificates (coordinators, at the SRC office).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ...dates import day_month_year_time
from ...paths import backups_dir
from ...services.backup import BackupFile, backup_now, backup_to, human_size, list_backups
from ...services.base import Context
from ...words import plural
from ..bus import data_bus
from ..catalogue_dialogs import open_dialog
from ..lock import IDLE_LOCK_KEY, MAX_IDLE_MINUTES, MIN_IDLE_MINUTES, idle_lock_minutes
from ..progress import run_with_progress
from ..table_model import RIGHT, Column, PagedTableModel
from ..user_dialogs import ChangeMyPasswordDialog
from ..widgets import FieldError, StatusNote, choose_folder, heading, show_service_error
from . import Page
from .certificate_design import CertificateDesignSection
from .clock import ClockSection
from .installation import InstallationSummary

IDLE_LOCK_RANGE = (MIN_IDLE_MINUTES, MAX_IDLE_MINUTES)


def open_folder(path: Path) -> bool:
    """Show a folder in the system's file manager (tests replace this)."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


def choose_backup_folder(parent: QWidget, start: Path, on_chosen: Callable[[Path], Any]) -> QFileDialog:
    """Ask for a folder to back up to, without blocking; ``on_chosen(folder)`` if one is chosen.
    (Tests replace this.)"""
    return choose_folder(parent, "Back up to which folder?", str(start), "&Back up here", "backupFolderDialog",
                         on_chosen)


BACKUP_COLUMNS = [
    Column("Backup", lambda b: b.name, tooltip=lambda b: str(b.path)),
    Column("Made", lambda b: day_month_year_time(b.modified)),
    Column("Size", lambda b: human_size(b.size), align=RIGHT),
]


class SettingsPage(Page):
    key = "settings"
    title = "Settings"
    needs = "password.own"
    topics = frozenset({"settings"})

    def __init__(self, ctx: Context, parent: QWidget | None = None, settings: QSettings | None = None) -> None:
        super().__init__(ctx, parent)
        self.settings = settings if settings is not None else QSettings()
        self.can_change = ctx.can("settings.change")
        self.can_back_up_elsewhere = ctx.can("backup.elsewhere")
        self.last_backup: BackupFile | None = None
        self._backing_up = False

        # -- this installation, with "Open folder" beside the data folder -------------------------
        self.open_folder_button = QPushButton("&Open folder")
        self.open_folder_button.setObjectName("openFolderButton")
        self.open_folder_button.setAccessibleName("Open the data folder")
        self.open_folder_button.setToolTip("Show the data folder in the file manager.")
        self.open_folder_button.setAutoDefault(False)
        self.open_folder_button.clicked.connect(self.open_data_folder)
        # Everyone may change their own password (with the current one); File menu too.
        self.password_button = QPushButton("Change my &password…")
        self.password_button.setObjectName("changeMyPasswordButton")
        self.password_button.setAccessibleName("Change my password")
        self.password_button.setToolTip(ctx.refusal("password.own") or "Choose a new password; the current one "
                                        "is asked for first.")
        self.password_button.setEnabled(ctx.can("password.own"))
        self.password_button.setAutoDefault(False)
        self.password_button.clicked.connect(self.change_my_password)
        self.password_dialog: Any = None
        self.summary = InstallationSummary(ctx, folder_extra=self.open_folder_button,
                                           user_extra=self.password_button)
        for name in ("installation_value", "kind_value", "data_folder_value", "installation_id_value",
                     "user_value", "role_value"):
            setattr(self, name, getattr(self.summary, name))
        self.folder_error = FieldError(self.open_folder_button)
        self.folder_error.setObjectName("folderError")

        # -- the idle lock --------------------------------------------------------------------------
        security = QGroupBox("Locking")
        self.idle_lock = QSpinBox()
        self.idle_lock.setObjectName("idleLockMinutes")
        self.idle_lock.setAccessibleName("Lock after this many minutes without use")
        self.idle_lock.setRange(*IDLE_LOCK_RANGE)
        self.idle_lock.setSuffix(" minutes")
        self.idle_lock.setKeyboardTracking(False)  # typed values count once Enter or Tab confirms them
        self.idle_lock.setValue(idle_lock_minutes(self.settings))
        self.idle_lock.setEnabled(self.can_change)
        self.idle_lock.valueChanged.connect(self._idle_lock_changed)
        lock_label = QLabel("&Lock srcdesk after")
        lock_label.setBuddy(self.idle_lock)
        lock_row = QHBoxLayout()
        lock_row.addWidget(lock_label)
        lock_row.addWidget(self.idle_lock)
        lock_row.addWidget(QLabel("without use"))
        lock_row.addStretch(1)
        lock_note = QLabel(
            "When nobody has used srcdesk for this long it locks, and the password is needed to go on. "
            "This applies to everyone who uses srcdesk on this PC."
            + ("" if self.can_change else " " + ctx.refusal("settings.change")))
        lock_note.setObjectName("idleLockNote")
        lock_note.setWordWrap(True)
        security_layout = QVBoxLayout(security)
        security_layout.addLayout(lock_row)
        security_layout.addWidget(lock_note)

        # -- this PC's clock ------------------------------------------------------------------------
        self.clock = ClockSection(ctx)

        # -- certificates: signatories, footer, logos (kept at the office) ----------------------------
        self.certificates = CertificateDesignSection(ctx)

        # -- backups --------------------------------------------------------------------------------
        backups = QGroupBox("Backups")
        self.backup_button = QPushButton("&Back up now")
        self.backup_button.setObjectName("backupNowButton")
        self.backup_button.setAccessibleName("Back up now")
        self.backup_button.setToolTip(f"Write a copy of all the data to {backups_dir(ctx.db.data_dir)}.")
        self.backup_button.setAutoDefault(False)
        self.backup_button.clicked.connect(self.back_up_now)
        self.backup_to_button = QPushButton("Back up &to…")
        self.backup_to_button.setObjectName("backupToButton")
        self.backup_to_button.setAccessibleName("Back up to a folder")
        self.backup_to_button.setAutoDefault(False)
        self.backup_to_button.setEnabled(self.can_back_up_elsewhere)
        self.backup_to_button.setToolTip(
            "Write a copy of all the data to a folder you choose (e.g. a USB stick)." if self.can_back_up_elsewhere
            else ctx.refusal("backup.elsewhere"))
        self.backup_to_button.clicked.connect(self.back_up_to)
        self.backup_result = QLabel()
        self.backup_result.setObjectName("backupResult")
        self.backup_result.setWordWrap(True)
        self.backup_result.setTextFormat(Qt.TextFormat.PlainText)
        self.backup_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.backup_result.hide()
        self.backup_error = FieldError(self.backup_button)
        self.backup_error.setObjectName("backupError")

        self.backups_model = PagedTableModel(BACKUP_COLUMNS, parent=self)
        self.backups_model.failed.connect(self._backups_failed)
        self.backups_model.modelReset.connect(self._backups_listed)
        self.backups_view = QTableView()
        self.backups_view.setObjectName("backupsTable")
        self.backups_view.setAccessibleName("Recent backups")
        self.backups_view.setModel(self.backups_model)
        self.backups_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.backups_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.backups_view.setTabKeyNavigation(False)
        self.backups_view.setAlternatingRowColors(True)
        self.backups_view.verticalHeader().hide()
        header = self.backups_view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        lines = self.backups_view.fontMetrics().lineSpacing()
        self.backups_view.setMinimumHeight(lines * 8)
        self.backups_label = QLabel("Recent backups in the data folder:")
        self.backups_label.setBuddy(self.backups_view)

        backup_row = QHBoxLayout()
        backup_row.addWidget(self.backup_button)
        backup_row.addWidget(self.backup_to_button)
        backup_row.addStretch(1)
        backups_layout = QVBoxLayout(backups)
        backups_layout.addWidget(QLabel(
            "A backup is a complete copy of this PC's srcdesk data at one moment. srcdesk also makes one "
            "itself before updating the data or importing a bundle."))
        backups_layout.itemAt(0).widget().setWordWrap(True)
        backups_layout.addLayout(backup_row)
        backups_layout.addWidget(self.backup_result)
        backups_layout.addWidget(self.backup_error)
        backups_layout.addWidget(self.backups_label)
        backups_layout.addWidget(self.backups_view, 1)

        self.status = StatusNote()
        self.status.setObjectName("status")

        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(18, 18, 18, 18)
        layout.addWidget(heading("Settings", scale=1.6))
        layout.addWidget(self.status)
        layout.addWidget(self.summary)
        layout.addWidget(self.folder_error)
        layout.addWidget(security)
        layout.addWidget(self.clock)
        layout.addWidget(self.certificates)
        layout.addWidget(backups, 1)
        scroll = QScrollArea()
        self.scroll = scroll
        scroll.setObjectName("settingsScroll")
        scroll.setAccessibleName("Settings")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

        chain = [self.open_folder_button, self.idle_lock, self.clock.repair_button, self.clock.check_button,
                 *self.certificates.fields.values(),
                 *(w for p in self.certificates.logos.values() for w in (p.choose_button, p.remove_button)),
                 self.certificates.save_button, self.backup_button, self.backup_to_button, self.backups_view]
        for first, second in zip(chain, chain[1:], strict=False):
            QWidget.setTabOrder(first, second)

    # -- loading ------------------------------------------------------------------------------------

    def refresh(self) -> None:
        data_dir = self.ctx.db.data_dir
        self.backups_model.set_fetch(lambda _after: list_backups(data_dir))
        self.idle_lock.blockSignals(True)
        self.idle_lock.setValue(idle_lock_minutes(self.settings))
        self.idle_lock.blockSignals(False)
        self.clock.refresh()
        self.certificates.refresh()

    @property
    def loaded(self) -> bool:
        return (self.backups_model.loaded_once and not self.backups_model.loading and self.clock.loaded
                and self.certificates.loaded)

    def show_clock(self) -> None:
        """Bring "This PC's clock" into view (the warning when the app starts leads here)."""
        self.scroll.ensureWidgetVisible(self.clock)
        target = self.clock.repair_button if self.clock.repair_button.isEnabled() else self.clock.check_button
        target.setFocus()

    def _backups_listed(self) -> None:
        count = self.backups_model.rowCount()
        self.backups_label.setText("Recent backups in the data folder:" if count
                                   else "No backups in the data folder yet.")

    def _backups_failed(self, error: BaseException) -> None:
        self._show(self.backup_error, error)

    @staticmethod
    def _show(where: FieldError, error: BaseException) -> None:
        show_service_error(error, where)

    # -- the idle lock --------------------------------------------------------------------------------

    def _idle_lock_changed(self, minutes: int) -> None:
        if not self.can_change:  # the control is disabled; refuse a programmatic change too
            return
        self.settings.setValue(IDLE_LOCK_KEY, int(minutes))
        data_bus().announce("settings")
        self.status.say(f"srcdesk now locks after {plural(minutes, 'minute')} without use.")

    # -- the data folder ----------------------------------------------------------------------------

    def open_data_folder(self) -> None:
        self.folder_error.clear_error()
        folder = self.ctx.db.data_dir
        if not open_folder(folder):
            self.folder_error.show_error(f"The folder {folder} could not be opened on this PC.")

    # -- backups ------------------------------------------------------------------------------------

    def change_my_password(self) -> Any:
        dialog = ChangeMyPasswordDialog(self.ctx, parent=self)
        dialog.savedMessage.connect(self.status.say)
        self.password_dialog = open_dialog(dialog)
        return self.password_dialog

    def back_up_now(self) -> None:
        self._start_backup(backup_now, self.ctx)

    def back_up_to(self) -> None:
        if not self.can_back_up_elsewhere:
            return
        start = self.last_backup.path.parent if self.last_backup is not None else Path.home()
        self.folder_dialog = choose_backup_folder(self, start, self._back_up_to_folder)

    def _back_up_to_folder(self, folder: Path) -> None:
        self._start_backup(backup_to, self.ctx, folder)

    def _start_backup(self, fn: Callable[..., BackupFile], *args: Any) -> None:
        if self._backing_up:
            return
        self._backing_up = True
        self.backup_error.clear_error()
        self.backup_button.setEnabled(False)
        self.backup_to_button.setEnabled(False)
        self.status.say("Backing up…")
        self.backup_task, self.backup_progress = run_with_progress(
            self, fn, *args, title="Back up", label="Backing up the data…", reports_progress=True,
            on_result=self._backed_up, on_error=self._backup_failed, name="back up the data")

    def _backup_finished(self) -> None:
        self._backing_up = False
        self.backup_button.setEnabled(True)
        self.backup_to_button.setEnabled(self.can_back_up_elsewhere)
        self.status.say("")

    def _backed_up(self, made: BackupFile) -> None:
        self._backup_finished()
        self.last_backup = made
        self.backup_result.setText(f"Backed up to {made.path} ({human_size(made.size)}).")
        self.backup_result.setAccessibleName(self.backup_result.text())
        self.backup_result.show()
        self.backups_model.reload()

    def _backup_failed(self, error: BaseException) -> None:
        self._backup_finished()
        self._show(self.backup_error, error)

    @property
    def backing_up(self) -> bool:
        return self._backing_up


__all__ = ["IDLE_LOCK_KEY", "SettingsPage", "choose_backup_folder", "idle_lock_minutes", "open_folder"]
