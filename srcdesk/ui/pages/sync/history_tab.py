"""Sync → History: bundles sent and received per origin, newest first. Bundles missing from an
origin's sequence are shown in their place, and under each bundle received the records its import
held (they can't be applied yet), with the reason, in a warning colour while they are held."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt

from ....services import sync as sync_service
from ....services.base import Context
from ....services.sync import HELD_RETRIED, HeldRecord
from ...sync_dialogs import (
    ColouredPagedModel,
    fit_columns,
    gap_sentence,
    local_time,
    note,
    records_text,
    seq_runs,
    short_time,
    warning_colour,
)
from ...table_model import RIGHT, Column, record_view
from .base import Tab, say_error

if TYPE_CHECKING:
    from .page import SyncPage


@dataclass(frozen=True)
class HistoryRow:
    """A bundle sent or received, a run of bundles missing from an origin's sequence, or a record
    the import of a bundle held."""

    origin: str
    direction: str
    seq: str
    made: dt.datetime | None = None
    recorded: dt.datetime | None = None
    changes: Any = ""
    outcome: str = ""
    file: str = ""
    missing: list[int] = field(default_factory=list)  # the seqs of a "missing" row
    origin_name: str = ""
    held: HeldRecord | None = None  # the record of a "held" row


def held_outcome(h: HeldRecord) -> str:
    """A held record's line: what it is, why it is held, and what happens next."""
    then = "still held; tried again at every import" if h.still_held else "applied since"
    return f"{h.text()}; {then}."


def history_rows(ctx: Context) -> list[HistoryRow]:
    """The history as table rows: per origin (this PC first), newest first, missing bundles in their
    place, the records a bundle's import held under it."""
    rows: list[HistoryRow] = []
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
                direction, outcome = "Received", e.outcome()
            rows.append(HistoryRow(name, direction, str(e.seq), e.created_at, e.recorded_at, e.changes, outcome,
                                   e.file_name, origin_name=origin.origin_name))
            rows.extend(HistoryRow(name, "Held record", str(e.seq), outcome=held_outcome(h),
                                   origin_name=origin.origin_name, held=h) for h in e.held)
        rows.extend(_gap_row(name, origin.origin_name, run) for run in gaps)
    return rows


def _gap_row(name: str, origin_name: str, run: tuple[int, int]) -> HistoryRow:
    a, b = run
    return HistoryRow(name, "Missing", str(a) if a == b else f"{a}–{b}",
                      outcome="Not imported yet: ask for " + ("it" if a == b else "them"),
                      missing=list(range(a, b + 1)), origin_name=origin_name)


def gap_warnings(rows: list[HistoryRow]) -> list[str]:
    """One sentence per origin with missing bundles."""
    missing: dict[str, list[int]] = {}
    for row in rows:
        if row.missing:
            missing.setdefault(row.origin_name, []).extend(row.missing)
    return [gap_sentence(origin, seqs) for origin, seqs in missing.items()]


def held_warning(rows: list[HistoryRow]) -> str:
    """How many records are held now (each counted once), and what happens to them."""
    held = {(r.held.table, r.held.row_id) for r in rows if r.held is not None and r.held.still_held}
    if not held:
        return ""
    one = len(held) == 1
    return (f"{records_text(len(held))} {'is' if one else 'are'} held: {'it' if one else 'they'} can't be applied "
            f"yet (the reason is under the bundle that brought {'it' if one else 'them'}). {HELD_RETRIED}")


def row_details(row: HistoryRow) -> str:
    """The chosen row in full, under the table (the columns may cut it short)."""
    if row.held is not None:
        return f"Held from bundle {row.seq} from {row.origin_name}: {held_outcome(row.held)}"
    if row.missing:
        return gap_sentence(row.origin_name or row.origin, row.missing)
    if row.direction == "Received":
        return (f"{row.file}: bundle {row.seq} from {row.origin_name}, made {local_time(row.made)}, imported "
                f"{local_time(row.recorded)}: {row.changes} changes. {row.outcome}.")
    return (f"{row.file}: bundle {row.seq}, {row.direction[:1].lower()}{row.direction[1:]}, written "
            f"{local_time(row.recorded)}: {row.changes} changes.")


HISTORY_COLUMNS = [
    Column("From", lambda r: r.origin),
    Column("Direction", lambda r: r.direction),
    Column("Bundle", lambda r: r.seq, align=RIGHT),
    Column("Made", lambda r: short_time(r.made), tooltip=lambda r: local_time(r.made)),
    Column("Recorded here", lambda r: short_time(r.recorded), tooltip=lambda r: local_time(r.recorded)),
    Column("Changes", lambda r: r.changes, align=RIGHT),
    Column("File", lambda r: r.file, tooltip=lambda r: r.file),
    Column("Outcome", lambda r: r.outcome, tooltip=lambda r: r.outcome),
]


FILE_COLUMN = 6


class HistoryTab(Tab):
    def __init__(self, page: SyncPage) -> None:
        super().__init__(page, "historyTab")
        self.warnings: list[str] = []
        intro = note("Every bundle this PC wrote or imported, by the installation that made it, newest first. "
                     "Each installation numbers its bundles one after another; a missing number means a bundle "
                     "has not been imported yet.", "historyIntro")
        self.gap_warning = note("", "gapWarning")
        self.gap_warning.setStyleSheet(f"color: {warning_colour(self)}; font-weight: bold;")
        self.gap_warning.hide()
        self.held_warning = note("", "heldWarning")
        self.held_warning.setStyleSheet(f"color: {warning_colour(self)};")
        self.held_warning.hide()
        self.empty = note("No bundles have been written or imported on this PC yet.", "historyEmpty")
        self.empty.hide()
        self.model = ColouredPagedModel(HISTORY_COLUMNS, self._colour, parent=self)
        self.view = record_view(self.model, "historyTable", "Bundle history", fit=False)
        self.model.loaded.connect(self._loaded)
        self.model.failed.connect(lambda error: say_error(self.error, error))
        self.view.selectionModel().currentRowChanged.connect(self._selected)
        self.details = note("", "historyDetails")
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.hide()
        self.layout_.addWidget(intro)
        self.layout_.addWidget(self.gap_warning)
        self.layout_.addWidget(self.held_warning)
        self.layout_.addWidget(self.empty)
        self.layout_.addWidget(self.error)
        self.layout_.addWidget(self.view, 1)
        self.layout_.addWidget(self.details)

    def _colour(self, row: HistoryRow) -> str | None:
        return warning_colour(self) if row.missing or (row.held is not None and row.held.still_held) else None

    def load(self) -> None:
        ctx = self.ctx
        self.model.set_fetch(lambda _after: history_rows(ctx))
        self.page.track_model(self.model)

    def _loaded(self) -> None:
        self.error.clear_error()
        rows = self.model.rows
        self.warnings = gap_warnings(rows)
        self.gap_warning.setText("\n".join(self.warnings))
        self.gap_warning.setAccessibleName(self.gap_warning.text())
        self.gap_warning.setVisible(bool(self.warnings))
        held = held_warning(rows)
        self.held_warning.setText(held)
        self.held_warning.setAccessibleName(held)
        self.held_warning.setVisible(bool(held))
        self.empty.setVisible(self.model.rowCount() == 0)
        fit_columns(self.view, 36)
        cap = self.view.fontMetrics().averageCharWidth() * 22  # file names are long: in full below the table
        if self.view.columnWidth(FILE_COLUMN) > cap:
            self.view.setColumnWidth(FILE_COLUMN, cap)
        self._selected()

    def _selected(self, *_: Any) -> None:
        row = self.model.row(self.view.currentIndex())
        self.details.setText(row_details(row) if row is not None else "")
        self.details.setAccessibleName(self.details.text())
        self.details.setVisible(row is not None)
