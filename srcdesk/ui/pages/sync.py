"""Sync: carry changes between this PC and the SRC office in signed, encrypted bundle files.

Five tabs:

* **Export** — an establishment writes a bundle for the office into a folder or USB drive it
  chooses; the office writes one for an establishment, or one for each ("All establishments").
* **Import** — bundle files are chosen, checked in the background (signature, decryption,
  manifest), previewed (:class:`~srcdesk.ui.sync_dialogs.ImportPreviewDialog`), then applied,
  each after an automatic backup, with a progress dialog; the outcome or the refusal of each is
  listed.
* **History** — bundles sent and received per origin; bundles missing from an origin's sequence
  are shown in a warning colour.
* **Trust** — this PC's fingerprint, its enrolment card, and the installations it trusts;
  administrators enrol (card + fingerprint read out by phone) and revoke.
* **Conflicts** — values that lost a merge, beside the value shown now; keep, use the other, or
  edit. The tab's title (and :attr:`SyncPage.conflictsChanged`) carries the count.

Every call that touches the database or a file runs in the background. The file choosers are
classmethods (:meth:`SyncPage.ask_folder`, :meth:`SyncPage.ask_files`,
:meth:`SyncPage.ask_card_path`) so tests can replace them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ...services import conflicts as conflict_service
from ...services import sync as sync_service
from ...services import trust
from ...services.backup import human_size
from ...services.base import ROLE_RANK, Context
from ...services.conflicts import ConflictItem
from ...services.sync import ExportResult
from ..bus import data_bus
from ..catalogue_dialogs import open_dialog
from ..progress import run_with_progress
from ..sync_dialogs import (
    Checked,
    ColouredModel,
    ColouredPagedModel,
    ConflictEditDialog,
    EnrolDialog,
    ImportPreviewDialog,
    Outcome,
    RevokeDialog,
    changes_text,
    check_bundles,
    error_colour,
    error_text,
    fit_columns,
    gap_sentence,
    import_checked,
    local_time,
    monospace_font,
    note,
    one_line,
    report_unexpected_errors,
    revoked_scope,
    select_first,
    seq_runs,
    side_origin,
    side_text,
    warning_colour,
)
from ..table_model import RIGHT, Column, PagedTableModel, record_view
from ..tasks import run_task
from ..widgets import FieldError, StatusNote, choose_folder, describe_error, heading, push_button
from . import Page
from . import settings as settings_page

TRUST_ROLE = "administrator"  # who enrols and revokes installations, and exports this PC's card
LAST_FOLDER_KEY = "sync/lastFolder"
#: What an import (or a conflict settled) may change: every page showing synced data reloads.
IMPORT_TOPICS = ("people", "sessions", "attendance", "ladder", "catalogue", "users", "sync")


def _say_error(label: FieldError, error: BaseException) -> None:
    label.show_error(describe_error(error))


class _Tab(QWidget):
    """One tab of the Sync page: a column of widgets with the page's margins."""

    def __init__(self, page: SyncPage, name: str) -> None:
        super().__init__()
        self.page = page
        self.ctx = page.ctx
        self.setObjectName(name)
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(12, 12, 12, 12)
        self.layout_.setSpacing(8)
        self.status = StatusNote()
        self.status.setObjectName(f"{name}Status")
        self.error = FieldError()
        self.error.setObjectName(f"{name}Error")

    def load(self) -> None:
        """Load what the tab shows (in the background)."""


# -- export --------------------------------------------------------------------------------------

EXPORT_COLUMNS = [
    Column("For", lambda r: r.recipient_name),
    Column("Bundle", lambda r: r.seq, align=RIGHT),
    Column("Changes", lambda r: r.changes, align=RIGHT),
    Column("Size", lambda r: human_size(r.size), align=RIGHT),
    Column("File", lambda r: r.path.name, tooltip=lambda r: str(r.path)),
]


class ExportTab(_Tab):
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
            _say_error(self.error, error)
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
        data_bus().announce("sync")

    def _failed(self, error: BaseException) -> None:
        self._set_busy(False)
        self.status.say("")
        _say_error(self.error, error)

    def show_folder(self) -> None:
        if self.results:
            folder = self.results[0].path.parent
            if not settings_page.open_folder(folder):
                self.error.show_error(f"Couldn't open {folder} in the file manager.")


# -- import --------------------------------------------------------------------------------------

IMPORT_COLUMNS = [
    Column("File", lambda o: o.path.name, tooltip=lambda o: str(o.path)),
    Column("From", lambda o: o.verified.origin_name if o.verified else ""),
    Column("Bundle", lambda o: o.verified.seq if o.verified else "", align=RIGHT),
    Column("Outcome", lambda o: one_line(o.text(), 200), tooltip=lambda o: o.text()),
]


class ImportTab(_Tab):
    def __init__(self, page: SyncPage) -> None:
        super().__init__(page, "importTab")
        self.dialog: ImportPreviewDialog | None = None
        self.checked: list[Checked] = []
        self.outcomes: list[Outcome] = []
        self._busy = False
        intro = note(
            "Import the bundles " + ("the establishments send" if self.ctx.installation.is_office
                                     else "the SRC office sends") +
            ". Each one is checked first — who signed it, that nothing was changed on the way — and you see "
            "what it holds before anything is applied. srcdesk backs up the data before each import.",
            "importIntro")
        self.button = push_button("Import &bundles…", "importBundlesButton", self.import_bundles)
        self.summary = note("", "importSummary")
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary.hide()
        self.model = ColouredModel(IMPORT_COLUMNS, self._colour, self)
        self.view = record_view(self.model, "importTable", "Bundles imported", stretch=1)
        self.view.hide()
        buttons = QHBoxLayout()
        buttons.addWidget(self.button)
        buttons.addStretch(1)
        self.layout_.addWidget(intro)
        self.layout_.addLayout(buttons)
        self.layout_.addWidget(self.status)
        self.layout_.addWidget(self.error)
        self.layout_.addWidget(self.summary)
        self.layout_.addWidget(self.view, 1)
        self.layout_.addStretch(0)

    def _colour(self, outcome: Outcome) -> str | None:
        return error_colour(self) if outcome.error is not None else None

    @property
    def busy(self) -> bool:
        return self._busy

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.button.setEnabled(not busy)

    def import_bundles(self) -> None:
        if self._busy:
            return
        self.page.ask_files(self, self.page.last_folder(), self.check)

    def check(self, paths: list[Path]) -> None:
        """Check the chosen files in the background, then preview them."""
        if self._busy or not paths:
            return
        self.error.clear_error()
        self.page.remember_folder(Path(paths[0]).parent)
        self._set_busy(True)
        count = len(paths)
        self.status.say(f"Checking {count} bundle{'' if count == 1 else 's'}…")
        self.page.track(run_task(check_bundles, self.ctx, [Path(p) for p in paths], owner=self,
                                 name="check bundles", on_result=self._checked, on_error=self._failed))

    def _checked(self, checked: list[Checked]) -> None:
        self.status.say("")
        report_unexpected_errors(checked)
        self.checked = checked
        if not any(c.importable for c in checked):
            # nothing to apply: say why for each file, without a dialog
            self._set_busy(False)
            outcomes = [Outcome(c.path, sync_service.ImportResult(c.verified, True) if c.error is None else None,
                                c.error, c.verified) for c in checked]
            self._show(outcomes, imported=False)
            return
        self.dialog = ImportPreviewDialog(checked, parent=self)
        self.dialog.accepted.connect(self._apply)
        self.dialog.rejected.connect(self._cancelled)
        self.dialog.open_()

    def _cancelled(self) -> None:
        self._set_busy(False)
        self.status.say("Nothing was imported.")

    def _apply(self) -> None:
        bundles = self.dialog.importable if self.dialog is not None else []
        if not bundles:
            self._set_busy(False)
            return
        count = len(bundles)
        label = f"Backing up, then importing {count} bundle{'' if count == 1 else 's'}…"
        self.status.say(label)
        task, _dialog = run_with_progress(self, import_checked, self.ctx, bundles, title="Import", label=label,
                                          on_result=self._imported, on_error=self._failed, reports_progress=True,
                                          name="import bundles")
        self.page.track(task)

    def _imported(self, outcomes: list[Outcome]) -> None:
        self._set_busy(False)
        self.status.say("")
        report_unexpected_errors(outcomes)
        # files refused or already imported when they were checked are listed too
        done = {o.path for o in outcomes}
        others = [Outcome(c.path, sync_service.ImportResult(c.verified, True) if c.error is None else None, c.error,
                          c.verified) for c in self.checked if c.path not in done]
        self._show([*outcomes, *others], imported=True)

    def _show(self, outcomes: list[Outcome], *, imported: bool) -> None:
        self.outcomes = outcomes
        applied = [o.result for o in outcomes if o.result is not None and not o.result.already_imported]
        refused = [o for o in outcomes if o.error is not None]
        repeats = [o for o in outcomes if o.result is not None and o.result.already_imported]
        lines = []
        if applied:
            new = sum(r.new for r in applied)
            updated = sum(r.updated for r in applied)
            conflicts = sum(r.conflicts for r in applied)
            lines.append(f"Imported {len(applied)} bundle{'' if len(applied) == 1 else 's'}: {new} new, "
                         f"{updated} updated, {sum(r.unchanged for r in applied)} unchanged.")
            waiting = sum(r.waiting for r in applied)
            if waiting:
                lines.append(f"{waiting} change{'' if waiting == 1 else 's'} wait for an earlier bundle; they are "
                             "applied when it is imported.")
            if conflicts:
                lines.append(f"{conflicts} value{'' if conflicts == 1 else 's'} changed in two places at once: "
                             "decide which is right on the Conflicts tab.")
            backups = [r.backup for r in applied if r.backup is not None]
            if backups:
                lines.append(f"The data was backed up first ({backups[0].name}).")
        if repeats:
            lines.append(f"{len(repeats)} bundle{' was' if len(repeats) == 1 else 's were'} already imported; "
                         "nothing changed.")
        for o in refused:
            lines.append(f"{o.path.name} was refused; nothing from it was applied. {error_text(o.error)}")
        self.summary.setText("\n".join(lines))
        self.summary.setAccessibleName(self.summary.text())
        self.summary.setStyleSheet(f"color: {error_colour(self)};" if refused and not applied else "")
        self.summary.show()
        self.model.set_rows(outcomes)
        fit_columns(self.view, 44)
        self.view.show()
        if applied:
            data_bus().announce(*IMPORT_TOPICS)

    def _failed(self, error: BaseException) -> None:
        self._set_busy(False)
        self.status.say("")
        _say_error(self.error, error)


# -- history -------------------------------------------------------------------------------------

class _HistoryRow:
    """A bundle sent or received, or a run of bundles missing from an origin's sequence."""

    def __init__(self, origin: str, direction: str, seq: str, made: str, recorded: str, changes: Any,
                 outcome: str, file: str, missing: list[int] | None = None, origin_name: str = "") -> None:
        self.origin, self.direction, self.seq, self.made = origin, direction, seq, made
        self.recorded, self.changes, self.outcome, self.file = recorded, changes, outcome, file
        self.missing = missing or []  # the seqs of a "missing" row
        self.origin_name = origin_name


def _received_outcome(summary: dict[str, Any]) -> str:
    conflicts = summary.get("conflicts", 0)
    text = (f"{summary.get('new', 0)} new, {summary.get('updated', 0)} updated, {summary.get('unchanged', 0)} "
            f"unchanged, {conflicts} conflict{'' if conflicts == 1 else 's'}")
    if summary.get("waiting"):
        text += f", {summary['waiting']} waiting"
    return text


def history_rows(ctx: Context) -> list[_HistoryRow]:
    """The history as table rows: per origin (this PC first), newest first, missing bundles in their place."""
    rows: list[_HistoryRow] = []
    for origin in sync_service.bundle_history(ctx):
        name = origin.origin_name + (" (this PC)" if origin.origin_id == ctx.installation.id else "")
        gaps = sorted(seq_runs(origin.gaps), reverse=True)
        for e in sorted(origin.entries, key=lambda e: -e.seq):
            while gaps and gaps[0][1] > e.seq:
                rows.append(_gap_row(name, origin.origin_name, gaps.pop(0)))
            if e.direction == "sent":
                direction = f"Sent to {e.recipient_name}"
                outcome = "Written" + (" (everything again)" if e.full else "")
            else:
                direction, outcome = "Received", _received_outcome(e.summary)
            rows.append(_HistoryRow(name, direction, str(e.seq), local_time(e.created_at), local_time(e.recorded_at),
                                    e.changes, outcome, e.file_name))
        rows.extend(_gap_row(name, origin.origin_name, run) for run in gaps)
    return rows


def _gap_row(name: str, origin_name: str, run: tuple[int, int]) -> _HistoryRow:
    a, b = run
    return _HistoryRow(name, "Missing", str(a) if a == b else f"{a}–{b}", "", "", "",
                       "Not imported yet: ask for " + ("it" if a == b else "them"), "",
                       missing=list(range(a, b + 1)), origin_name=origin_name)


def gap_warnings(rows: list[_HistoryRow]) -> list[str]:
    """One sentence per origin with missing bundles."""
    missing: dict[str, list[int]] = {}
    for row in rows:
        if row.missing:
            missing.setdefault(row.origin_name, []).extend(row.missing)
    return [gap_sentence(origin, seqs) for origin, seqs in missing.items()]


HISTORY_COLUMNS = [
    Column("From", lambda r: r.origin),
    Column("Direction", lambda r: r.direction),
    Column("Bundle", lambda r: r.seq, align=RIGHT),
    Column("Made", lambda r: r.made),
    Column("Recorded here", lambda r: r.recorded),
    Column("Changes", lambda r: r.changes, align=RIGHT),
    Column("File", lambda r: r.file),
    Column("Outcome", lambda r: r.outcome, tooltip=lambda r: r.outcome),
]


class HistoryTab(_Tab):
    def __init__(self, page: SyncPage) -> None:
        super().__init__(page, "historyTab")
        self.warnings: list[str] = []
        intro = note("Every bundle this PC wrote or imported, by the installation that made it, newest first. "
                     "Each installation numbers its bundles one after another; a missing number means a bundle "
                     "has not been imported yet.", "historyIntro")
        self.gap_warning = note("", "gapWarning")
        self.gap_warning.setStyleSheet(f"color: {warning_colour(self)}; font-weight: bold;")
        self.gap_warning.hide()
        self.empty = note("No bundles have been written or imported on this PC yet.", "historyEmpty")
        self.empty.hide()
        self.model = ColouredPagedModel(HISTORY_COLUMNS, self._colour, parent=self)
        self.view = record_view(self.model, "historyTable", "Bundle history", fit=False)
        self.model.loaded.connect(self._loaded)
        self.model.failed.connect(lambda error: _say_error(self.error, error))
        self.layout_.addWidget(intro)
        self.layout_.addWidget(self.gap_warning)
        self.layout_.addWidget(self.empty)
        self.layout_.addWidget(self.error)
        self.layout_.addWidget(self.view, 1)

    def _colour(self, row: _HistoryRow) -> str | None:
        return warning_colour(self) if row.missing else None

    def load(self) -> None:
        ctx = self.ctx
        self.model.set_fetch(lambda _after: history_rows(ctx))
        self.page.track_model(self.model)

    def _loaded(self) -> None:
        self.error.clear_error()
        self.warnings = gap_warnings(self.model.rows)
        self.gap_warning.setText("\n".join(self.warnings))
        self.gap_warning.setAccessibleName(self.gap_warning.text())
        self.gap_warning.setVisible(bool(self.warnings))
        self.empty.setVisible(self.model.rowCount() == 0)
        fit_columns(self.view, 36)


# -- trust ---------------------------------------------------------------------------------------

def _status(t: trust.TrustedInstallation, *, long: bool = False) -> str:
    when = (lambda m: local_time(m)) if long else (lambda m: local_time(m).rsplit(" ", 1)[0])
    if t.revoked_at is not None:
        return f"Revoked {when(t.revoked_at)}"
    if t.enrolled_at is not None:
        return f"Enrolled {when(t.enrolled_at)}"
    return "Known (not enrolled)"


def _status_tip(t: trust.TrustedInstallation) -> str:
    text = _status(t, long=True)
    return f"{text}: {t.revoked_reason}" if t.revoked_reason else text


def describe_installation(t: trust.TrustedInstallation) -> str:
    """A few lines about a trusted installation, under the list."""
    kind = "the SRC office" if t.role == "office" else (
        f"establishment {t.establishment_code}" if t.establishment_code else "an establishment")
    lines = [f"{t.name} ({kind}), installation {t.installation_id}.",
             _status_tip(t) + (f"; {revoked_scope(t.revoked_after_seq)}" if t.is_revoked else "."),
             ("Last bundle imported from it: number " + str(t.last_received_seq) + "." if t.last_received_seq
              else "No bundle imported from it yet.")]
    return "\n".join(lines)


TRUST_COLUMNS = [
    Column("Installation", lambda t: t.name, tooltip=lambda t: t.installation_id),
    Column("Establishment", lambda t: t.establishment_code or ("SRC office" if t.role == "office" else "")),
    Column("Status", _status, tooltip=_status_tip),
    Column("Last bundle", lambda t: t.last_received_seq or "none yet", align=RIGHT),
    Column("Fingerprint", lambda t: t.fingerprint or "", tooltip=lambda t: t.fingerprint),
]


class TrustTab(_Tab):
    def __init__(self, page: SyncPage) -> None:
        super().__init__(page, "trustTab")
        self.dialog: Any = None
        self.identity: Any = None
        admin = page.can_trust
        only_admin = "Only an administrator can do this."

        mine = QGroupBox("This PC")
        self.who = note("", "thisPc")
        self.fingerprint = QLabel()
        self.fingerprint.setObjectName("fingerprintLabel")
        self.fingerprint.setFont(monospace_font(self, 1.5))
        self.fingerprint.setTextFormat(Qt.TextFormat.PlainText)
        self.fingerprint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fingerprint.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.fingerprint.setAccessibleName("Fingerprint of this PC")
        fp_label = QLabel("Fingerprint:")
        how = note("Another installation enrols this PC from its enrolment card. Give them the card (a file, on a "
                   "USB drive or by email) and read this fingerprint out to them by phone, or send it on paper, "
                   "so they can check the card really comes from this PC.", "fingerprintNote")
        self.card_button = push_button("E&xport enrolment card…", "exportCardButton", self.export_card)
        self.card_button.setEnabled(admin)
        self.card_button.setToolTip("Write this PC's enrolment card to a file." if admin else only_admin)
        mine_layout = QGridLayout(mine)
        mine_layout.addWidget(self.who, 0, 0, 1, 2)
        mine_layout.addWidget(fp_label, 1, 0, Qt.AlignmentFlag.AlignVCenter)
        mine_layout.addWidget(self.fingerprint, 1, 1)
        mine_layout.addWidget(how, 2, 0, 1, 2)
        card_row = QHBoxLayout()
        card_row.addWidget(self.card_button)
        card_row.addStretch(1)
        mine_layout.addLayout(card_row, 3, 0, 1, 2)
        mine_layout.setColumnStretch(1, 1)

        others = QGroupBox("Installations this PC trusts")
        self.model = PagedTableModel(TRUST_COLUMNS, parent=self)
        self.view = record_view(self.model, "trustTable", "Installations this PC trusts", fit=False)
        self.model.loaded.connect(self._loaded)
        self.model.failed.connect(lambda error: _say_error(self.error, error))
        self.view.selectionModel().currentRowChanged.connect(self._update_buttons)
        self.empty = note("", "trustEmpty")
        self.empty.hide()
        self.enrol_button = push_button("E&nrol…", "enrolButton", self.enrol)
        self.revoke_button = push_button("&Revoke…", "revokeButton", self.revoke)
        self.enrol_button.setEnabled(admin)
        self.enrol_button.setToolTip(
            "Trust another installation: its card and its fingerprint read out by phone." if admin else only_admin)
        self.revoke_button.setToolTip("Stop trusting the installation chosen above, for good." if admin else only_admin)
        buttons = QHBoxLayout()
        buttons.addWidget(self.enrol_button)
        buttons.addWidget(self.revoke_button)
        buttons.addStretch(1)
        self.details = note("", "installationDetails")
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details_fingerprint = QLabel()
        self.details_fingerprint.setObjectName("installationFingerprint")
        self.details_fingerprint.setFont(monospace_font(self, 1.15))
        self.details_fingerprint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        others_layout = QVBoxLayout(others)
        others_layout.addWidget(self.empty)
        others_layout.addWidget(self.view, 1)
        others_layout.addWidget(self.details)
        others_layout.addWidget(self.details_fingerprint)
        others_layout.addLayout(buttons)

        self.layout_.addWidget(mine)
        self.layout_.addWidget(self.status)
        self.layout_.addWidget(self.error)
        self.layout_.addWidget(others, 1)
        QWidget.setTabOrder(self.card_button, self.view)
        QWidget.setTabOrder(self.view, self.enrol_button)
        QWidget.setTabOrder(self.enrol_button, self.revoke_button)
        self._update_buttons()

    def load(self) -> None:
        ctx = self.ctx
        if self.identity is None:
            self.page.track(run_task(trust.my_identity, ctx, owner=self, name="load this PC's identity",
                                     on_result=self._identity, on_error=lambda e: _say_error(self.error, e)))
        self.model.set_fetch(lambda _after: trust.trusted_installations(ctx))
        self.page.track_model(self.model)

    def _identity(self, identity: Any) -> None:
        self.identity = identity
        if identity.role == "office":
            self.who.setText(f"{identity.name}, the office installation {identity.installation_id}.")
        else:
            self.who.setText(f"{identity.name} ({identity.establishment_code}), establishment installation "
                             f"{identity.installation_id}.")
        groups = identity.fingerprint.split()
        self.fingerprint.setText(" ".join(groups[:8]) + "\n" + " ".join(groups[8:]))
        self.fingerprint.setAccessibleDescription(identity.fingerprint)

    def _loaded(self) -> None:
        self.error.clear_error()
        office = self.ctx.installation.is_office
        if self.model.rowCount() == 0:
            self.empty.setText(
                "No establishment PC is enrolled yet. Enrol each establishment's card to exchange bundles with it."
                 if office else
                 "The SRC office is not enrolled yet. Enrol the office's card to exchange bundles with it.")
        self.empty.setVisible(self.model.rowCount() == 0)
        fit_columns(self.view, 30)
        self._update_buttons()

    def selected(self) -> trust.TrustedInstallation | None:
        return self.model.row(self.view.currentIndex())

    def _update_buttons(self, *_: Any) -> None:
        chosen = self.selected()
        self.revoke_button.setEnabled(self.page.can_trust and chosen is not None and not chosen.is_revoked)
        self.details.setText(describe_installation(chosen) if chosen is not None else "")
        self.details.setVisible(chosen is not None)
        fp = chosen.fingerprint if chosen is not None and chosen.fingerprint else ""
        groups = fp.split()
        self.details_fingerprint.setText(f"Fingerprint: {' '.join(groups[:8])}\n             {' '.join(groups[8:])}"
                                         if groups else "")
        self.details_fingerprint.setAccessibleName(f"Fingerprint: {fp}")
        self.details_fingerprint.setVisible(bool(groups))

    # -- actions -------------------------------------------------------------------------------

    def export_card(self) -> None:
        if not self.page.can_trust:
            return
        inst = self.ctx.installation
        name = f"{(inst.establishment_code or 'office').lower()}-enrolment.card"
        self.page.ask_card_path(self, str(Path(self.page.last_folder()) / name), self._write_card)

    def _write_card(self, path: Path) -> None:
        self.error.clear_error()
        self.page.remember_folder(Path(path).parent)
        self.status.say(f"Writing the enrolment card to {path}…")

        def written(result: Path) -> None:
            fp = self.identity.fingerprint if self.identity is not None else "shown above"
            self.status.say(f"Wrote the enrolment card to {result}. Read the fingerprint to the other side by "
                            f"phone or on paper: {fp}")

        def failed(error: BaseException) -> None:
            self.status.say("")
            _say_error(self.error, error)

        self.page.track(run_task(trust.export_card, self.ctx, Path(path), owner=self, name="export the card",
                                 on_result=written, on_error=failed))

    def _open(self, dialog: Any) -> Any:
        self.error.clear_error()
        dialog.savedMessage.connect(self.status.say)
        self.dialog = open_dialog(dialog)
        return self.dialog

    def enrol(self) -> Any:
        if not self.page.can_trust:
            return None
        return self._open(EnrolDialog(self.ctx, parent=self))

    def revoke(self) -> Any:
        chosen = self.selected()
        if not self.page.can_trust or chosen is None or chosen.is_revoked:
            return None
        return self._open(RevokeDialog(self.ctx, chosen, parent=self))


# -- conflicts -----------------------------------------------------------------------------------

def _short_origin(side: Any) -> str:
    """"Ann Admin, HMP Perth" (this PC's name as "this PC"); when is in the tooltip and below the table."""
    where = "this PC" if side.mine else side.origin_name
    return f"{side.user_name or 'someone'}, {where}"


CONFLICT_COLUMNS = [
    Column("Record", lambda c: c.record),
    Column("Field", lambda c: c.field_label),
    Column("Current value", lambda c: one_line(side_text(c.current, deleted=c.is_delete), 60),
           tooltip=lambda c: side_text(c.current, deleted=c.is_delete)),
    Column("Set by", lambda c: _short_origin(c.current), tooltip=lambda c: side_origin(c.current)),
    Column("Other value", lambda c: one_line(side_text(c.other), 60), tooltip=lambda c: side_text(c.other)),
    Column("Set by", lambda c: _short_origin(c.other), tooltip=lambda c: side_origin(c.other)),
]


class _SideBox(QGroupBox):
    """One side of the conflict chosen: its value in full, and who changed it, where and when."""

    def __init__(self, title: str, name: str) -> None:
        super().__init__(title)
        self.setObjectName(name)
        self.value = note("", f"{name}Value")
        self.value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.origin = note("", f"{name}Origin")
        self.origin.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        layout = QVBoxLayout(self)
        layout.addWidget(self.value)
        layout.addWidget(self.origin)
        layout.addStretch(1)

    def show_side(self, value: str, origin: str) -> None:
        self.value.setText(value)
        self.value.setAccessibleName(f"{self.title()}: {value}")
        self.origin.setText(origin)


class ConflictsTab(_Tab):
    countChanged = Signal(int)

    def __init__(self, page: SyncPage) -> None:
        super().__init__(page, "conflictsTab")
        self.dialog: Any = None
        self.count = 0
        intro = note(
            "When the same thing was changed in two places before they synced, srcdesk shows the later change "
            "and keeps the other here, so nothing is lost. Decide which value is right (or type the right one); "
            "your decision travels in the next bundles.", "conflictsIntro")
        self.model = PagedTableModel(CONFLICT_COLUMNS, parent=self)
        self.view = record_view(self.model, "conflictsTable", "Open conflicts", fit=False)
        self.view.selectionModel().currentRowChanged.connect(self._selected)
        self.model.loaded.connect(self._loaded)
        self.model.failed.connect(lambda error: _say_error(self.error, error))
        self.view.activated.connect(lambda _i: self.edit())
        self.empty = note("There are no conflicts: every change arrived in order.", "conflictsEmpty")
        self.empty.hide()

        self.current_box = _SideBox("Current value (shown now)", "currentSide")
        self.other_box = _SideBox("Other value (overwritten)", "otherSide")
        sides = QHBoxLayout()
        sides.addWidget(self.current_box, 1)
        sides.addWidget(self.other_box, 1)
        self.keep_button = push_button("&Keep current", "keepButton", lambda: self.resolve("keep"))
        self.other_button = push_button("&Use other", "useOtherButton", lambda: self.resolve("other"))
        self.edit_button = push_button("E&dit…", "editButton", self.edit)
        buttons = QHBoxLayout()
        for button in (self.keep_button, self.other_button, self.edit_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.layout_.addWidget(intro)
        self.layout_.addWidget(self.empty)
        self.layout_.addWidget(self.view, 1)
        self.layout_.addLayout(sides)
        self.layout_.addLayout(buttons)
        self.layout_.addWidget(self.status)
        self.layout_.addWidget(self.error)
        QWidget.setTabOrder(self.view, self.keep_button)
        QWidget.setTabOrder(self.keep_button, self.other_button)
        QWidget.setTabOrder(self.other_button, self.edit_button)
        self._busy = False
        self._selected()

    def load(self) -> None:
        ctx = self.ctx
        self.model.set_fetch(lambda _after: conflict_service.list_conflicts(ctx))
        self.page.track_model(self.model)

    def _loaded(self) -> None:
        self.error.clear_error()
        self.count = self.model.rowCount()
        self.empty.setVisible(self.count == 0)
        self.view.setVisible(self.count > 0)
        for box in (self.current_box, self.other_box):
            box.setVisible(self.count > 0)
        fit_columns(self.view, 38)
        if self.count and not self.view.currentIndex().isValid():
            select_first(self.view)
        self._selected()
        self.countChanged.emit(self.count)

    def selected(self) -> ConflictItem | None:
        return self.model.row(self.view.currentIndex())

    def _selected(self, *_: Any) -> None:
        item = self.selected()
        if item is None:
            self.current_box.show_side("", "")
            self.other_box.show_side("", "")
        else:
            self.current_box.show_side(side_text(item.current, deleted=item.is_delete),
                                       f"Set by {side_origin(item.current)}")
            other = ("Edited while it was being deleted: " if item.is_delete else "") + side_text(item.other)
            self.other_box.show_side(other, f"Set by {side_origin(item.other)}")
        deleting = item is not None and item.is_delete
        self.keep_button.setText("&Keep deleted" if deleting else "&Keep current")
        self.other_button.setText("&Restore with the edit" if deleting else "&Use other")
        self.keep_button.setAccessibleName(self.keep_button.text().replace("&", ""))
        self.other_button.setAccessibleName(self.other_button.text().replace("&", ""))
        self.edit_button.setToolTip("A deleted record can be kept deleted or restored, not edited."
                                    if deleting else "Type the right value yourself.")
        for button in (self.keep_button, self.other_button):
            button.setEnabled(item is not None and not self._busy)
        self.edit_button.setEnabled(item is not None and not deleting and not self._busy)

    def resolve(self, choice: str) -> None:
        item = self.selected()
        if item is None or self._busy:
            return
        self.error.clear_error()
        self._busy = True
        self._selected()
        if item.is_delete:
            done = (f"{item.record} stays deleted." if choice == "keep"
                    else f"{item.record} is restored with the edit.")
        else:
            done = (f"Kept the current {item.field_label.lower()} of {item.record}." if choice == "keep"
                    else f"The {item.field_label.lower()} of {item.record} is now the other value.")

        def finished(_result: Any) -> None:
            self._busy = False
            self.status.say(done)
            data_bus().announce(*IMPORT_TOPICS)

        def failed(error: BaseException) -> None:
            self._busy = False
            self._selected()
            _say_error(self.error, error)

        self.page.track(run_task(conflict_service.resolve_conflict, self.ctx, item.id, choice, owner=self,
                                 name="settle a conflict", on_result=finished, on_error=failed))

    def edit(self) -> Any:
        item = self.selected()
        if item is None or item.is_delete or self._busy:
            return None
        self.error.clear_error()
        dialog = ConflictEditDialog(self.ctx, item, parent=self)
        dialog.savedMessage.connect(self.status.say)
        dialog.saved.connect(lambda _r: data_bus().announce(*IMPORT_TOPICS))
        self.dialog = open_dialog(dialog)
        return self.dialog


# -- the page ------------------------------------------------------------------------------------

class SyncPage(Page):
    key = "sync"
    title = "Sync"
    min_role = "coordinator"
    topics = frozenset({"sync"})

    #: The number of open conflicts, each time it is counted (for a "Sync (2)" in the navigation).
    conflictsChanged = Signal(int)

    def __init__(self, ctx: Context, parent: QWidget | None = None, settings: QSettings | None = None) -> None:
        super().__init__(ctx, parent)
        self.settings = settings if settings is not None else QSettings()
        self.can_trust = ctx.user is not None and ROLE_RANK.get(ctx.user.role, -1) >= ROLE_RANK[TRUST_ROLE]
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
        dialog = QFileDialog(parent, "Write the enrolment card to", start, "Enrolment cards (*.card);;All files (*)")
        dialog.setObjectName("cardSaveDialog")
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("card")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(lambda chosen: on_chosen(Path(chosen)))
        dialog.open()
        return dialog


__all__ = ["IMPORT_TOPICS", "SyncPage"]
