"""Sync → Import: bundle files are chosen, then :func:`srcdesk.services.sync.import_bundles` does the
rest in the background: it checks each file once, starts the backup, asks for the preview (shown
here, on the UI thread: :class:`~srcdesk.ui.sync_dialogs.ImportPreviewDialog`, while the backup
runs), then applies the bundles with a progress dialog. The outcome or the refusal of each file
is listed, with the records an import held and why."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QProgressDialog

from ....services import sync as sync_service
from ....services.sync import HELD_RETRIED, BatchPreview, BundleOutcome, HeldRecord, ImportBatch, outcome_text
from ...progress import run_with_progress
from ...sync_dialogs import (
    ColouredModel,
    ImportPreviewDialog,
    error_colour,
    error_text,
    fit_columns,
    gap_sentence,
    held_sentence,
    note,
    one_line,
    records_text,
    report_unexpected_errors,
    warning_colour,
)
from ...table_model import RIGHT, Column, record_view
from ...widgets import push_button
from .asking import Question
from .base import Tab, say_error

if TYPE_CHECKING:
    from .page import SyncPage


@dataclass(frozen=True)
class ResultRow:
    """A line of the results: a file's outcome, or a record its import held."""

    file: str
    origin: str
    seq: Any
    outcome: str
    refused: bool = False
    held: HeldRecord | None = None
    path: Path | None = None


def file_outcome(o: BundleOutcome) -> str:
    """What became of one file, in a line."""
    if o.error is not None:
        return f"Refused: {error_text(o.error)}"
    if o.same_as is not None:
        return f"The same bundle as {o.same_as.name}; imported once"
    r = o.result
    if r is None:
        return "Not imported"
    if r.already_imported:
        return "Already imported; nothing changed"
    text = "Imported " + outcome_text(r.counts())
    if r.revocations:
        text += f", {r.revocations} revocation{'' if r.revocations == 1 else 's'}"
    return text


def result_rows(outcomes: list[BundleOutcome]) -> list[ResultRow]:
    """Each file's line, then a line for each record its import held."""
    rows = []
    for o in outcomes:
        v = o.verified
        origin, seq = (v.origin_name, v.seq) if v is not None else ("", "")
        rows.append(ResultRow(o.path.name, origin, seq, file_outcome(o), refused=o.refused, path=o.path))
        for h in o.result.held_records if o.result is not None else ():
            rows.append(ResultRow(f"Held: {h.record}", origin, seq,
                                  f"Held: {h.reason}. Tried again at every import.", held=h))
    return rows


def summary_lines(batch: ImportBatch) -> list[str]:
    """What the import did, a sentence a line; counts add up to what the list below says."""
    applied = batch.applied
    lines = []
    if applied:
        t = batch.totals()
        lines.append(f"Imported {len(applied)} bundle{'' if len(applied) == 1 else 's'}, {outcome_text(t)}.")
        held = {(h.table, h.row_id): h for r in applied for h in r.held_records}
        again = {(h.table, h.row_id): h for r in applied for h in r.held_again if (h.table, h.row_id) not in held}
        if held:
            lines.append(held_sentence(list(held.values()), limit=1))
        if again:
            first = next(iter(again.values()))
            lines.append(f"Still held from an earlier bundle: {first.text()}"
                         + (f"; and {records_text(len(again) - 1)} more, listed on the History tab." if len(again) > 1
                            else "."))
        if held or again:
            lines.append(HELD_RETRIED)
        if t["waiting"]:
            one = t["waiting"] == 1
            lines.append(f"{records_text(t['waiting'])} {'waits' if one else 'wait'} for a record in a bundle not "
                         f"imported yet; {'it is' if one else 'they are'} applied when that bundle is imported.")
        if t["merged"]:
            lines.append(f"{records_text(t['merged'])} made on two PCs {'is' if t['merged'] == 1 else 'are'} now "
                         "one.")
        if t["conflicts"]:
            lines.append(f"{t['conflicts']} value{'' if t['conflicts'] == 1 else 's'} changed in two places at once: "
                         "decide which is right on the Conflicts tab.")
        if batch.backup is not None:
            lines.append(f"The data was backed up first ({batch.backup.name}).")
    repeats = batch.repeats
    if repeats:
        lines.append(f"{len(repeats)} bundle{' was' if len(repeats) == 1 else 's were'} already imported; "
                     "nothing changed.")
    for o in batch.refused:
        lines.append(f"{o.path.name} was refused; nothing from it was applied. {error_text(o.error)}")
    lines.extend(gap_sentence(origin, seqs) for origin, seqs in batch.missing.items())
    return lines


IMPORT_COLUMNS = [
    Column("File", lambda r: r.file, tooltip=lambda r: str(r.path) if r.path else r.file),
    Column("From", lambda r: r.origin),
    Column("Bundle", lambda r: r.seq, align=RIGHT),
    Column("Outcome", lambda r: one_line(r.outcome, 200), tooltip=lambda r: r.outcome),
]


class ImportTab(Tab):
    def __init__(self, page: SyncPage) -> None:
        super().__init__(page, "importTab")
        self.dialog: ImportPreviewDialog | None = None
        self.preview: BatchPreview | None = None
        self.batch: ImportBatch | None = None
        self.progress: QProgressDialog | None = None
        self._question: Question | None = None
        self._busy = False
        intro = note(
            "Import the bundles " + ("the establishments send" if self.ctx.installation.is_office
                                     else "the SRC office sends") +
            ". Each one is checked first — who signed it, that nothing was changed on the way — and you see "
            "what it holds before anything is applied. srcdesk backs up the data while you read that, once for "
            "all the bundles chosen.", "importIntro")
        self.button = push_button("Import &bundles…", "importBundlesButton", self.import_bundles)
        self.summary = note("", "importSummary")
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary.hide()
        self.model = ColouredModel(IMPORT_COLUMNS, self._colour, self)
        self.view = record_view(self.model, "importTable", "Bundles imported", stretch=3)
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

    @property
    def outcomes(self) -> list[BundleOutcome]:
        return list(self.batch.outcomes) if self.batch is not None else []

    def _colour(self, row: ResultRow) -> str | None:
        if row.refused:
            return error_colour(self)
        return warning_colour(self) if row.held is not None else None

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

    # -- the import, in the background -----------------------------------------------------------

    def check(self, paths: list[Path]) -> None:
        """Import the chosen files: the service checks them, then asks for the preview (below)."""
        if self._busy or not paths:
            return
        self.error.clear_error()
        self.page.remember_folder(Path(paths[0]).parent)
        self._set_busy(True)
        self.dialog = self.preview = None
        count = len(paths)
        label = f"Checking {count} bundle{'' if count == 1 else 's'}…"
        self.status.say(label)
        question = Question()
        question.asked.connect(self._show_preview)
        self.destroyed.connect(question.close)  # a page closed meanwhile answers "no"
        self._question = question
        task, self.progress = run_with_progress(
            self, sync_service.import_bundles, self.ctx, [Path(p) for p in paths], preview=question.ask,
            title="Import", label=label, on_result=self._imported, on_error=self._failed, reports_progress=True,
            name="import bundles")
        self.page.track(task)

    def _show_preview(self, preview: BatchPreview) -> None:
        """On the UI thread, while the service waits (and backs up): what the files hold."""
        if self.progress is not None:
            self.progress.reset()  # no progress while the person reads
            self.progress.hide()
        self.preview = preview
        backing_up = " srcdesk is backing up the data meanwhile." if preview.backing_up else ""
        self.status.say(f"Check what the bundles hold, then import them.{backing_up}")
        self.dialog = ImportPreviewDialog(preview, parent=self)
        self.dialog.answered.connect(self._answered)
        self.dialog.open_()

    def _answered(self, yes: bool) -> None:
        if self._question is not None:
            self._question.answer(yes)
        ready = len(self.preview.ready) if self.preview is not None else 0
        if not yes:
            self.status.say("Cancelled: nothing will be imported." + (" Removing the backup made meanwhile…"
                                                                      if self.preview and self.preview.backing_up
                                                                      else ""))
            return
        label = f"Importing {ready} bundle{'' if ready == 1 else 's'}…"
        self.status.say(label)
        if self.progress is not None:
            self.progress.setRange(0, 0)
            self.progress.setLabelText(label)
            self.progress.setValue(0)  # shows itself if it takes a while

    def _imported(self, batch: ImportBatch) -> None:
        self._finish()
        if batch.cancelled:
            self.status.say("Nothing was imported.")
            return
        self.status.say("")
        report_unexpected_errors(batch.outcomes)
        self._show(batch)

    def _failed(self, error: BaseException) -> None:
        self._finish()
        self.status.say("")
        say_error(self.error, error)

    def _finish(self) -> None:
        self._set_busy(False)
        self.progress = None
        if self._question is not None:
            self._question.close()  # (answered already, unless the service stopped before asking)
            self.destroyed.disconnect(self._question.close)
            self._question = None

    # -- the results -------------------------------------------------------------------------------

    def _show(self, batch: ImportBatch) -> None:
        self.batch = batch
        lines = summary_lines(batch)
        self.summary.setText("\n".join(lines))
        self.summary.setAccessibleName(self.summary.text())
        self.summary.setStyleSheet(f"color: {error_colour(self)};" if batch.refused and not batch.applied else "")
        self.summary.show()
        self.model.set_rows(result_rows(list(batch.outcomes)))
        fit_columns(self.view, 44)
        self.view.show()
