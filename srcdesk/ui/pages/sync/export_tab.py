"""Sync → Export: an establishment writes a bundle for the office into a folder or USB drive it
chooses; the office writes one for an establishment, or one for each ("All establishments")."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QGroupBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ....services import sync as sync_service
from ....services import trust
from ....services.backup import human_size
from ....services.sync import ExportResult
from ...progress import run_with_progress
from ...sync_dialogs import ColouredModel, changes_text, fit_columns, note, warning_colour
from ...table_model import RIGHT, Column, record_view
from ...tasks import run_task
from ...widgets import heading, push_button
from .. import settings as settings_page
from .base import Tab, say_error

if TYPE_CHECKING:
    from .page import SyncPage

EXPORT_COLUMNS = [
    Column("For", lambda r: r.recipient_name),
    Column("Bundle", lambda r: r.seq, align=RIGHT),
    Column("Changes", lambda r: r.changes, align=RIGHT),
    Column("Size", lambda r: human_size(r.size), align=RIGHT),
    Column("File", lambda r: r.path.name, tooltip=lambda r: str(r.path)),
]


class ExportTab(Tab):
    def __init__(self, page: SyncPage) -> None:
        super().__init__(page, "exportTab")
        office = self.ctx.installation.is_office
        self.targets: list[trust.TrustedInstallation] | None = None
        self.results: list[ExportResult] = []
        self._generation = 0
        self._busy = False
        self._has_recipient = False
        if office:
            text = ("Write a bundle for an establishment: its own people and sessions, the people transferred "
                    "to it with their history, reference data and certificates — only what it has not had yet. "
                    "Each bundle is signed by this PC and encrypted so only that establishment can read it.")
        else:
            text = ("Write a bundle of everything recorded on this PC since the last one, for the SRC office. "
                    "It is signed by this PC and encrypted so only the office can read it. Carry it to the "
                    "office on a USB drive.")
        intro = note(text, "exportIntro")

        self.target = QComboBox()
        self.target.setObjectName("exportTarget")
        self.target.setAccessibleName("Write bundles for")
        self.target.setMinimumContentsLength(28)
        self.target_label = QLabel("Fo&r:")
        self.target_label.setBuddy(self.target)
        target_row = QHBoxLayout()
        target_row.addWidget(self.target_label)
        target_row.addWidget(self.target)
        target_row.addStretch(1)

        self.full = QCheckBox("Resend e&verything, not only what " +
                              ("it" if office else "the office") + " has not had yet")
        self.full.setObjectName("fullExport")
        self.full.setAccessibleName("Resend everything")
        self.full.setToolTip("For a PC restored from an old backup, or when a bundle was lost: the bundle then "
                             "holds everything again. Importing something twice changes nothing.")
        self.button = push_button("Export &bundles…" if office else "Export for the &office…", "exportButton",
                                  self.export)
        self.button.setEnabled(False)
        self.show_button = push_button("Show in fol&der", "showFolderButton", self.show_folder,
                                       accessible="Show the bundle in its folder")
        self.show_button.hide()

        self.missing = note("", "noRecipientNote")
        self.missing.setStyleSheet(f"color: {warning_colour(self)};")
        self.missing.hide()
        self.result = note("", "exportResult")
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.file_label = heading("", scale=1.15)
        self.file_label.setObjectName("exportFile")
        self.file_label.setTextFormat(Qt.TextFormat.PlainText)
        self.file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.model = ColouredModel(EXPORT_COLUMNS, lambda _r: None, self)
        self.view = record_view(self.model, "exportTable", "Bundles written")
        self.done_box = QGroupBox("Written")
        self.done_box.setObjectName("exportDone")
        done_layout = QVBoxLayout(self.done_box)
        done_layout.addWidget(self.file_label)
        done_layout.addWidget(self.result)
        done_layout.addWidget(self.view, 1)
        show_row = QHBoxLayout()
        show_row.addWidget(self.show_button)
        show_row.addStretch(1)
        done_layout.addLayout(show_row)
        self.done_box.hide()

        buttons = QHBoxLayout()
        buttons.addWidget(self.button)
        buttons.addStretch(1)
        self.layout_.addWidget(intro)
        self.layout_.addLayout(target_row)
        if not office:
            self.target.hide()
            self.target_label.hide()
        self.layout_.addWidget(self.full)
        self.layout_.addLayout(buttons)
        self.layout_.addWidget(self.missing)
        self.layout_.addWidget(self.status)
        self.layout_.addWidget(self.error)
        self.layout_.addWidget(self.done_box, 10)
        self.layout_.addStretch(1)
        QWidget.setTabOrder(self.target, self.full)
        QWidget.setTabOrder(self.full, self.button)
        QWidget.setTabOrder(self.button, self.view)
        QWidget.setTabOrder(self.view, self.show_button)

    # -- who to write for ----------------------------------------------------------------------

    def load(self) -> None:
        self._generation += 1
        generation = self._generation
        self.page.track(run_task(sync_service.export_targets, self.ctx, owner=self, name="load export targets",
                                 on_done=lambda rows, error: self._targets(generation, rows, error)))

    def _targets(self, generation: int, rows: list[trust.TrustedInstallation] | None,
                 error: BaseException | None) -> None:
        if generation != self._generation:
            return
        if error is not None:
            say_error(self.error, error)
            return
        assert rows is not None
        self.targets = rows
        office = self.ctx.installation.is_office
        sites = [t for t in rows if t.role == "establishment"] if office else []
        if office:
            chosen = self.target.currentData()
            self.target.clear()
            if sites:
                self.target.addItem(f"All establishments ({len(sites)})", "")
            for t in sites:
                code = f" ({t.establishment_code})" if t.establishment_code and t.establishment_code not in t.name else ""
                self.target.addItem(f"{t.name}{code}", t.installation_id)
            self.target.setCurrentIndex(max(0, self.target.findData(chosen)) if chosen is not None else 0)
        has = bool(sites) if office else any(t.role == "office" for t in rows)
        if not has:
            admin = "you" if self.page.can_trust else "an administrator"
            self.missing.setText(
                ("No establishment PC is enrolled on this PC yet, so there is no one to write a bundle for. "
                 f"On the Trust tab {admin} can enrol an establishment's card.") if office else
                ("The SRC office is not enrolled on this PC yet, so no bundle can be written for it. "
                 f"On the Trust tab {admin} can enrol the office's card."))
        self._has_recipient = has
        self.missing.setVisible(not has)
        self.target.setEnabled(has)
        self.button.setEnabled(has and not self._busy)

    # -- writing -------------------------------------------------------------------------------

    def export(self) -> None:
        if self._busy or not self.button.isEnabled():
            return
        self.page.ask_folder(self, self.page.last_folder(), self.export_to)

    def export_to(self, folder: Path) -> None:
        if self._busy:
            return
        self.error.clear_error()
        self.page.remember_folder(folder)
        kwargs: dict[str, Any] = {"full": self.full.isChecked()}
        what = "the bundle for the SRC office"
        if self.ctx.installation.is_office:
            target = self.target.currentData()
            if target:
                kwargs["for_installation"] = target
                what = f"the bundle for {self.target.currentText()}"
            else:
                kwargs["all_"] = True
                what = "a bundle for each establishment"
        self._set_busy(True)
        self.status.say(f"Writing {what} into {folder}…")
        task, _dialog = run_with_progress(
            self, sync_service.export_bundles, self.ctx, Path(folder), title="Export", label=f"Writing {what}…",
            on_result=self._written, on_error=self._failed, reports_progress=True, name="export bundles", **kwargs)
        self.page.track(task)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.button.setEnabled(not busy and self._has_recipient)

    def _written(self, results: list[ExportResult]) -> None:
        self._set_busy(False)
        self.status.say("")
        self.results = list(results)
        if len(results) == 1:
            r = results[0]
            self.done_box.setTitle("Bundle written")
            self.file_label.setText(r.path.name)
            where = r.recipient_name if self.ctx.installation.is_office else "the SRC office"
            self.result.setText(
                f"For {where}: bundle {r.seq}, {changes_text(r.changes)}{', everything again' if r.full else ''}, "
                f"{human_size(r.size)}.\nIn {r.path.parent}.\nTake it to {where} and import it there.")
        else:
            total = sum(r.changes for r in results)
            self.done_box.setTitle("Bundles written")
            self.file_label.setText(f"{len(results)} bundles, one for each establishment")
            where = results[0].path.parent if results else ""
            self.result.setText(f"{changes_text(total)} in all, in {where}. Take each one to its establishment.")
        self.file_label.setAccessibleName(self.file_label.text())
        self.result.setAccessibleName(self.result.text())
        self.model.set_rows(results)
        fit_columns(self.view, 40)
        self.view.setVisible(len(results) > 1)
        self.layout_.setStretchFactor(self.done_box, 10 if len(results) > 1 else 0)
        self.show_button.setVisible(bool(results))
        self.done_box.show()

    def _failed(self, error: BaseException) -> None:
        self._set_busy(False)
        self.status.say("")
        say_error(self.error, error)

    def show_folder(self) -> None:
        if self.results:
            folder = self.results[0].path.parent
            if not settings_page.open_folder(folder):
                self.error.show_error(f"Couldn't open {folder} in the file manager.")
