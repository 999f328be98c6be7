"""Dialogs of the Sync page: the import preview, enrolling and revoking an installation, and
editing the value of a sync conflict; with the small helpers the page shares with them.

Every dialog is non-blocking (``show()``/``open()``) and does its work in the background; a
service's refusal is shown in the dialog in its own words.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QColor, QFont, QFontDatabase, QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..errors import SrcdeskError, ValidationError
from ..services import conflicts as conflict_service
from ..services import trust
from ..services.base import Context
from ..services.conflicts import ConflictItem, Side
from ..services.sync import ImportResult, Verified
from ..sync.errors import BundleRefused
from ..sync.identity import MAX_CARD_BYTES, read_card
from .catalogue_dialogs import FormDialog
from .errors import report_unexpected
from .table_model import RIGHT, Column, PagedTableModel, RowsTableModel, record_view
from .tasks import Task, run_task
from .widgets import FieldError, confirm, describe_error, grow_to_fit, heading, push_button

# -- shared helpers ------------------------------------------------------------------------------

PLURALS = {
    "person": "people", "app_user": "user accounts", "attendance": "register lines",
    "attendance_role": "attendance roles", "attendance_status": "attendance statuses",
    "milestone_achievement": "milestones reached", "milestone_definition": "ladder levels",
    "milestone_evidence": "milestone evidence", "person_transfer": "transfers", "session_facilitator": "facilitators",
    "community_organisation": "community organisations", "organisation_link": "organisation links",
    "plan_focus": "plan focuses", "plan_target": "plan targets", "plan_year": "plan years",
    "recruit_cohort": "recruit cohorts", "referral_stage": "referral stages", "activity_type": "activity types",
}


def local_time(moment: dt.datetime | None) -> str:
    """A UTC time (naive, as the services keep them) as local time for people: 27 Nov 2026 14:05."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone().strftime("%-d %b %Y %H:%M")


def short_time(moment: dt.datetime | None) -> str:
    """Like :func:`local_time`, without the year when it is this year: 27 Nov 14:05."""
    if moment is None:
        return ""
    local = (moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment).astimezone()
    if local.year == dt.datetime.now().astimezone().year:
        return local.strftime("%-d %b %H:%M")
    return local.strftime("%-d %b %Y %H:%M")


def warning_colour(widget: QWidget) -> str:
    """Amber that stays readable (WCAG AA) on the window background, light or dark."""
    dark = widget.palette().color(QPalette.ColorRole.Window).lightness() < 128
    return "#ffcc80" if dark else "#8a4500"


def error_colour(widget: QWidget) -> str:
    dark = widget.palette().color(QPalette.ColorRole.Window).lightness() < 128
    return "#ff8a80" if dark else "#a4000f"


def monospace_font(widget: QWidget, scale: float = 1.0) -> QFont:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    base = widget.font().pointSizeF()
    if base > 0:
        font.setPointSizeF(base * scale)
    return font


def seq_runs(seqs: Sequence[int]) -> list[tuple[int, int]]:
    """[1, 2, 3, 7, 9, 10] → [(1, 3), (7, 7), (9, 10)]."""
    runs: list[tuple[int, int]] = []
    for seq in sorted(set(seqs)):
        if runs and seq == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], seq)
        else:
            runs.append((seq, seq))
    return runs


def seq_text(seqs: Sequence[int], limit: int = 6) -> str:
    """"4–6, 9 and 12" (at most ``limit`` runs, then "and more")."""
    parts = [f"{a}" if a == b else f"{a}–{b}" for a, b in seq_runs(seqs)]
    if len(parts) > limit:
        parts = [*parts[:limit], "more"]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def gap_sentence(origin: str, seqs: Sequence[int]) -> str:
    """"Bundles 4–6 from HMP Perth have not been imported yet." (or "Bundle 4 … has not")."""
    one = len(seqs) == 1
    return (f"{'Bundle' if one else 'Bundles'} {seq_text(seqs)} from {origin} "
            f"{'has' if one else 'have'} not been imported yet.")


def counts_text(counts: dict[str, int]) -> str:
    """{"person": 3, "attendance": 9} → "3 people, 9 register lines"."""
    parts = []
    for table, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if not count:
            continue
        single = conflict_service.TABLE_LABELS.get(table, table.replace("_", " ")).lower()
        label = single if count == 1 else PLURALS.get(table, single + "s")
        parts.append(f"{count} {label}")
    return ", ".join(parts) if parts else "no changes"


def changes_text(count: int) -> str:
    return f"{count} change" if count == 1 else f"{count} changes"


def origin_text(v: Verified) -> str:
    where = f"{v.origin_name} ({v.origin_code})" if v.origin_code and v.origin_code not in v.origin_name else v.origin_name
    return where


def one_line(text: str, limit: int = 120) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class _Coloured:
    """Rows drawn in the colour ``colour(row)`` names (None: the usual colour)."""

    _colour: Callable[[Any], str | None]

    def data(self, index: Any, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.ForegroundRole and index.isValid():
            row = self.row(index)  # type: ignore[attr-defined]
            colour = self._colour(row) if row is not None else None
            return QColor(colour) if colour else None
        return super().data(index, role)  # type: ignore[misc]


class ColouredModel(_Coloured, RowsTableModel):
    """A table whose rows may be drawn in a colour (a refusal, a missing bundle)."""

    def __init__(self, columns: Sequence[Column], colour: Callable[[Any], str | None], parent: Any = None) -> None:
        super().__init__(columns, parent)
        self._colour = colour


class ColouredPagedModel(_Coloured, PagedTableModel):
    """A list loaded in the background whose rows may be drawn in a colour."""

    def __init__(self, columns: Sequence[Column], colour: Callable[[Any], str | None], parent: Any = None) -> None:
        super().__init__(columns, parent=parent)
        self._colour = colour


def fit_columns(view: QTableView, max_chars: int = 40) -> None:
    """Columns as wide as their contents, none wider than ``max_chars`` characters; the last
    column takes what is left."""
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(True)
    cap = view.fontMetrics().averageCharWidth() * max_chars
    model = view.model()
    for column in range(model.columnCount() - 1):
        view.resizeColumnToContents(column)
        if view.columnWidth(column) > cap:
            view.setColumnWidth(column, cap)


def select_first(view: QTableView) -> None:
    model = view.model()
    if model.rowCount() and not view.currentIndex().isValid():
        view.selectionModel().setCurrentIndex(
            model.index(0, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)


def note(text: str, name: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    if name:
        label.setObjectName(name)
    return label


# -- import: the files checked, and the preview --------------------------------------------------

@dataclass(frozen=True)
class Checked:
    """A bundle file after :func:`check_bundles`: what it holds, or why it is refused."""

    path: Path
    verified: Verified | None
    error: BaseException | None

    @property
    def importable(self) -> bool:
        return self.verified is not None and not self.verified.already_imported

    def state(self) -> str:
        if self.error is not None:
            return f"Refused: {error_text(self.error)}"
        v = self.verified
        assert v is not None
        if v.already_imported:
            return "Already imported; nothing to do"
        if v.missing_before:
            return f"Ready (bundle{'s' if len(v.missing_before) > 1 else ''} {seq_text(v.missing_before)} not here yet)"
        return "Ready"


@dataclass(frozen=True)
class Outcome:
    """What happened to one bundle file: imported (``result``) or refused (``error``)."""

    path: Path
    result: ImportResult | None
    error: BaseException | None
    verified: Verified | None = None  # what the file was found to be when it was checked

    def text(self) -> str:
        if self.error is not None:
            return f"Refused: {error_text(self.error)}"
        r = self.result
        assert r is not None
        if r.already_imported:
            return "Already imported; nothing changed"
        parts = [f"{r.new} new", f"{r.updated} updated", f"{r.unchanged} unchanged",
                 f"{r.conflicts} conflict{'' if r.conflicts == 1 else 's'}"]
        if r.waiting:
            parts.append(f"{r.waiting} waiting for an earlier bundle")
        if r.revocations:
            parts.append(f"{r.revocations} revocation{'' if r.revocations == 1 else 's'}")
        return "Imported: " + ", ".join(parts)


UNEXPECTED = "something unexpected went wrong; the details are in the error window."


def error_text(error: BaseException) -> str:
    """A refusal in the service's words. An unexpected error is reported once, on arrival, by
    :func:`report_unexpected_errors`; here it is only named."""
    return str(error) if isinstance(error, SrcdeskError) else UNEXPECTED


def report_unexpected_errors(items: Sequence[Checked | Outcome]) -> None:
    """Open the error window for each error that is not a refusal (on the UI thread, once)."""
    for item in items:
        if item.error is not None and not isinstance(item.error, SrcdeskError):
            report_unexpected(item.error)


def check_bundles(ctx: Context, paths: Sequence[Path]) -> list[Checked]:
    """Verify each file (in the background); a refusal is kept with its file, not raised."""
    from ..services import sync

    out = []
    for path in paths:
        try:
            out.append(Checked(Path(path), sync.verify_bundle(ctx, Path(path)), None))
        except Exception as exc:  # noqa: BLE001 - shown next to its file; unexpected ones are reported there
            out.append(Checked(Path(path), None, exc))
    return out


def import_checked(ctx: Context, bundles: Sequence[Verified],
                   progress: Callable[[int, int, str], None] | None = None) -> list[Outcome]:
    """Import the previewed bundles, each in its own transaction after a backup, oldest first per
    origin. A file that changed since it was previewed is refused."""
    from ..services import sync

    order = sorted(bundles, key=lambda v: (v.origin_name, v.origin_id, v.seq))
    grand = sum(max(v.total, 1) for v in order) or 1
    offset = 0
    out = []
    for number, v in enumerate(order, 1):
        def step(done: int, total: int, what: str, v: Verified = v, number: int = number, offset: int = offset) -> None:
            if progress is not None:
                progress(offset + min(done, max(v.total, 1)), grand,
                         f"Bundle {number} of {len(order)} ({v.path.name}): {what}")

        def same(got: Verified, v: Verified = v) -> bool:
            if got.bundle_id != v.bundle_id:
                raise BundleRefused(f"{v.path.name} changed after it was checked; nothing was imported from it. "
                                    "Import it again to see what it holds now.")
            return True

        step(0, max(v.total, 1), "Backing up and applying")
        try:
            out.append(Outcome(v.path, sync.import_bundle(ctx, v.path, preview=same, progress=step, backup=True),
                               None, v))
        except Exception as exc:  # noqa: BLE001 - shown next to its file; unexpected ones are reported there
            out.append(Outcome(v.path, None, exc, v))
        offset += max(v.total, 1)
    if progress is not None:
        progress(grand, grand, "Done")
    return out


PREVIEW_COLUMNS = [
    Column("File", lambda c: c.path.name, tooltip=lambda c: str(c.path)),
    Column("From", lambda c: origin_text(c.verified) if c.verified else ""),
    Column("Bundle", lambda c: c.verified.seq if c.verified else "", align=RIGHT),
    Column("Made", lambda c: local_time(c.verified.created) if c.verified else ""),
    Column("Changes", lambda c: c.verified.total if c.verified else "", align=RIGHT),
    Column("State", lambda c: one_line(c.state()), tooltip=lambda c: c.state()),
]


class ImportPreviewDialog(QDialog):
    """What the chosen bundles hold, before anything is applied; Import applies the ready ones.

    Non-blocking: the page connects ``accepted`` and reads :attr:`importable`.
    """

    def __init__(self, checked: Sequence[Checked], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("importPreviewDialog")
        self.setWindowTitle("Import bundles")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.checked = list(checked)
        ready = [c for c in self.checked if c.importable]

        self.model = ColouredModel(PREVIEW_COLUMNS, self._colour, self)
        self.model.set_rows(self.checked)
        self.view = record_view(self.model, "previewTable", "Bundles chosen", fit=False)
        fit_columns(self.view, 48)
        self.view.setMinimumHeight(self.view.verticalHeader().defaultSectionSize() * min(len(self.checked) + 1, 6) + 8)
        self.view.selectionModel().currentRowChanged.connect(self._show_details)

        self.details = note("", "previewDetails")
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        details_box = QGroupBox("The bundle chosen above")
        details_layout = QVBoxLayout(details_box)
        details_layout.addWidget(self.details)

        skipped = len(self.checked) - len(ready)
        summary = (f"{len(ready)} of {len(self.checked)} bundles can be imported" if skipped
                   else f"{len(ready)} bundle{'' if len(ready) == 1 else 's'} ready to import")
        self.backup_note = note(
            f"{summary}. Before applying them srcdesk backs up the data; each bundle is applied whole or not "
            "at all. Changes made in two places at once are kept for you to decide on the Conflicts tab.",
            "backupNote")

        self.buttons = QDialogButtonBox()
        label = f"&Import {len(ready)} bundle{'' if len(ready) == 1 else 's'}"
        self.import_button = self.buttons.addButton(label, QDialogButtonBox.ButtonRole.AcceptRole)
        self.import_button.setObjectName("importButton")
        self.import_button.setAccessibleName(label.replace("&", ""))
        self.import_button.setDefault(True)
        self.import_button.setEnabled(bool(ready))
        self.cancel_button = self.buttons.addButton("Cancel", QDialogButtonBox.ButtonRole.RejectRole)
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setAccessibleName("Cancel")
        self.cancel_button.setAutoDefault(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(heading("Check what the bundles hold"))
        layout.addWidget(self.view, 1)
        layout.addWidget(details_box)
        layout.addWidget(self.backup_note)
        layout.addWidget(self.buttons)
        QWidget.setTabOrder(self.view, self.import_button)
        QWidget.setTabOrder(self.import_button, self.cancel_button)
        select_first(self.view)
        self._show_details()

    def open_(self) -> ImportPreviewDialog:
        """Show it window-modal without blocking, wide enough for the file names."""
        self.setWindowModality(Qt.WindowModality.WindowModal)
        margins = self.layout().contentsMargins()
        cap = self.fontMetrics().averageCharWidth() * 48
        header = self.view.horizontalHeader()
        last = self.model.columnCount() - 1
        columns = sum(min(max(self.view.sizeHintForColumn(c), header.sectionSizeHint(c),
                              cap * 30 // 48 if c == last else 0), cap)
                      for c in range(last + 1))
        table = columns + 2 * self.view.frameWidth() + self.view.verticalScrollBar().sizeHint().width()
        screen = self.screen().availableGeometry().width() if self.screen() is not None else 1600
        width = min(max(self.sizeHint().width(), table + margins.left() + margins.right(),
                        self.fontMetrics().averageCharWidth() * 100), int(screen * 0.9))
        self.resize(width, self.sizeHint().height())
        self.show()
        grow_to_fit(self)
        self.view.setFocus()
        return self

    @property
    def importable(self) -> list[Verified]:
        return [c.verified for c in self.checked if c.importable and c.verified is not None]

    @property
    def first_field(self) -> QWidget:
        return self.view

    def _colour(self, c: Checked) -> str | None:
        if c.error is not None:
            return error_colour(self)
        if c.verified is not None and c.verified.missing_before:
            return warning_colour(self)
        return None

    def _show_details(self, *_: Any) -> None:
        c = self.model.row(self.view.currentIndex())
        self.details.setText(describe_checked(c) if c is not None else "")
        self.details.setAccessibleName(self.details.text())


def describe_checked(c: Checked) -> str:
    """Several lines about one checked bundle, for the preview."""
    if c.error is not None:
        return f"{c.path.name}\nRefused: {error_text(c.error)}\nNothing from this file will be imported."
    v = c.verified
    assert v is not None
    kind = "the SRC office" if v.origin_role == "office" else "an establishment PC"
    lines = [
        f"{v.path.name}",
        f"From {origin_text(v)} ({kind}), signed by its key and checked: nothing was changed on the way.",
        f"Bundle {v.seq}, made {local_time(v.created)}" + (" — a full bundle: everything again." if v.full else "."),
        f"It holds {changes_text(v.total)}: {counts_text(v.counts)}."
        + (f" It also passes on {v.revocations} revoked key{'' if v.revocations == 1 else 's'}."
           if v.revocations else ""),
    ]
    if v.already_imported:
        lines.append("Already imported: importing it again changes nothing.")
    elif v.missing_before:
        lines.append(gap_sentence(v.origin_name, v.missing_before)
                     + " This one can be imported now; import the missing ones when they arrive.")
    return "\n".join(lines)


# -- trust: enrol and revoke ---------------------------------------------------------------------

def read_card_file(path: Path) -> bytes:
    """The bytes of an enrolment card file (at most a little more than any card; larger is refused)."""
    try:
        with Path(path).open("rb") as fh:
            return fh.read(MAX_CARD_BYTES + 1)
    except OSError as exc:
        raise ValidationError(f"Can't read {Path(path).name}: {exc.strerror or exc}.", "card") from exc


def peek_card(path: Path) -> Any:
    """The identity an enrolment card states (checked: its own signature), without trusting it."""
    return read_card(read_card_file(path))


def enrol_card_file(ctx: Context, path: Path, fingerprint: str) -> trust.TrustedInstallation:
    return trust.enrol(ctx, read_card_file(path), fingerprint)


def describe_identity(identity: Any) -> str:
    if identity.role == "office":
        return f"{identity.name}, the SRC office"
    code = f" ({identity.establishment_code})" if identity.establishment_code else ""
    return f"{identity.name}{code}, an establishment PC"


class EnrolDialog(FormDialog):
    """Trust another installation: its enrolment card, and the fingerprint read out by phone."""

    topic = "sync"

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(ctx, "Enrol an installation", "Enrol an installation", "&Enrol", parent)
        self.setObjectName("enrolDialog")
        self.grid.setVerticalSpacing(8)
        other = "an establishment's PC" if ctx.installation.is_office else "the SRC office"
        intro = note(
            f"Enrolling {other} lets this PC read the bundles it signs and write bundles only it can read. "
            "You need its enrolment card (a file, e.g. on a USB drive) and its fingerprint.", "enrolIntro")
        self.layout_.insertWidget(1, intro)
        self._peek: Task | None = None
        self._peek_generation = 0

        # the card: a path with a Choose… button beside it
        self.card = QLineEdit()
        self.card.setObjectName("cardPath")
        self.card.setAccessibleName("Enrolment card file")
        self.card.setPlaceholderText("the card file from the other PC")
        self.choose_button = push_button("C&hoose…", "chooseCardButton", self.choose_card,
                                         accessible="Choose the enrolment card file")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.card, 1)
        row.addWidget(self.choose_button)
        holder = QWidget()
        holder.setLayout(row)
        card_label = QLabel("Enrolment &card:")
        card_label.setBuddy(self.card)
        card_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        r = self.grid.rowCount()
        self.grid.addWidget(card_label, r, 0)
        self.grid.addWidget(holder, r, 1)
        self.card_info = note("", "cardInfo")
        self.card_info.hide()
        self.grid.addWidget(self.card_info, r + 1, 1)
        self.errors["card"] = FieldError(self.card)
        self.errors["card"].setObjectName("cardError")
        self.grid.addWidget(self.errors["card"], r + 2, 1)
        self._fields.append(self.card)
        self._watch(self.card)
        self.card.editingFinished.connect(self._card_changed)

        how = note(
            "Phone the person at that PC (or ask for it on paper) and have them read out the fingerprint shown "
            "on their Sync → Trust tab. Type it here; srcdesk enrols the card only if it matches. Don't copy it "
            "from the card file: a forged card would carry a forged fingerprint.", "fingerprintHow")
        r = self.grid.rowCount()
        self.grid.addWidget(how, r, 1)
        self.fingerprint = self.add_row("&Fingerprint:", QLineEdit(), "fingerprint", "fingerprint",
                                        "Fingerprint, as read out by phone")
        self.fingerprint.setFont(monospace_font(self))
        self.fingerprint.setPlaceholderText("16 groups of 4 letters and digits")
        self.fingerprint.setMaxLength(120)
        self.finish_layout()
        self.fingerprint.setMinimumWidth(self.fingerprint.fontMetrics().horizontalAdvance("0000 " * 16) + 16)

    # -- the card file -------------------------------------------------------------------------

    @classmethod
    def ask_card_file(cls, parent: QWidget, start: str, on_chosen: Callable[[Path], Any]) -> QFileDialog | None:
        """Ask which enrolment card to read, without blocking (tests replace this)."""
        dialog = QFileDialog(parent, "Choose the enrolment card", start,
                             "Enrolment cards (*.card);;All files (*)")
        dialog.setObjectName("cardFileDialog")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(lambda chosen: on_chosen(Path(chosen)))
        dialog.open()
        return dialog

    def choose_card(self) -> None:
        start = str(Path(self.card.text()).parent) if self.card.text().strip() else str(Path.home())
        self.ask_card_file(self, start, self.set_card)

    def set_card(self, path: Path) -> None:
        self.card.setText(str(path))
        self._dirty = True
        self._card_changed()
        self.fingerprint.setFocus()

    def _card_changed(self) -> None:
        """Read the card in the background and say whose it is (or why it is refused)."""
        self.errors["card"].clear_error()
        self.card_info.hide()
        text = self.card.text().strip()
        if not text:
            return
        self._peek_generation += 1
        generation = self._peek_generation
        self._peek = run_task(peek_card, Path(text), owner=self, name="read an enrolment card",
                              on_done=lambda identity, error: self._card_read(generation, identity, error))

    def _card_read(self, generation: int, identity: Any, error: BaseException | None) -> None:
        if generation != self._peek_generation:
            return
        self._peek = None
        if error is not None:
            self.errors["card"].show_error(describe_error(error))
            return
        self.card_info.setText(f"This is the card of {describe_identity(identity)}, installation "
                               f"{identity.installation_id}.")
        self.card_info.setAccessibleName(self.card_info.text())
        self.card_info.show()

    # -- enrolling -----------------------------------------------------------------------------

    def work(self) -> tuple[Callable[..., Any], tuple, dict]:
        path = self.card.text().strip()
        if not path:
            raise ValidationError("Choose the enrolment card file the other PC wrote.", "card")
        if not self.fingerprint.text().strip():
            raise ValidationError("Type the fingerprint the other side read out to you.", "fingerprint")
        return enrol_card_file, (self.ctx, Path(path), self.fingerprint.text()), {}

    def done_message(self, result: trust.TrustedInstallation) -> str:
        where = f" ({result.establishment_code})" if result.establishment_code else ""
        return (f"{result.name}{where} is enrolled: this PC accepts the bundles it signs and can write bundles "
                "for it.")


class RevokeDialog(FormDialog):
    """Stop trusting an installation for good, with a reason; asks once more before doing it."""

    topic = "sync"

    def __init__(self, ctx: Context, installation: trust.TrustedInstallation, parent: QWidget | None = None) -> None:
        title = f"Revoke {installation.name}"
        super().__init__(ctx, "Revoke an installation", title, "&Revoke…", parent)
        self.setObjectName("revokeDialog")
        self.installation = installation
        self.revoke_box: Any = None
        passes = (" The office passes the revocation on to the establishments in its next bundles."
                  if ctx.installation.is_office else "")
        last = installation.last_received_seq
        scope = (f"Bundles it numbered after {last}, the last one imported here, will be refused"
                 if last else "No bundle from it was imported here, so every bundle it signs will be refused")
        intro = note(
            f"Revoke {installation.name} when that PC or its keys may be in the wrong hands, or the PC is "
            f"retired. {scope}, and it can never be enrolled again.{passes}", "revokeIntro")
        self.layout_.insertWidget(1, intro)
        self.reason = self.add_row("&Reason:", QPlainTextEdit(), "reason", "reason", "Reason for revoking")
        self.reason.setTabChangesFocus(True)
        self.reason.setPlaceholderText("e.g. the PC was stolen; the PC was replaced")
        lines = self.reason.fontMetrics().lineSpacing()
        self.reason.setMinimumHeight(lines * 3)
        self.reason.setMaximumHeight(lines * 6)
        self._confirmed = False
        self.finish_layout()

    def submit(self) -> None:
        if self.busy:
            return
        if self._confirmed:
            self._confirmed = False
            super().submit()
            return
        self.clear_errors()
        if not self.reason.toPlainText().strip():
            self.show_error(ValidationError("Say why the installation is revoked; the reason is kept with it.",
                                            "reason"))
            return
        self.revoke_box = confirm(
            self, "Revoke for good?", f"Revoke {self.installation.name} for good?", "&Revoke for good",
            self._confirm, no_text="&Don't revoke",
            informative="This is permanent: it can't be undone, and that PC can never be enrolled again — it "
                        "would have to be set up afresh.")

    def _confirm(self) -> None:
        self._confirmed = True
        self.submit()

    def work(self) -> tuple[Callable[..., Any], tuple, dict]:
        return trust.revoke, (self.ctx, self.installation.installation_id, self.reason.toPlainText()), {}

    def done_message(self, result: trust.TrustedInstallation) -> str:
        return f"{result.name} is revoked: {revoked_scope(result.revoked_after_seq)}"


def revoked_scope(after_seq: int | None) -> str:
    """What a revocation refuses, in a sentence."""
    if not after_seq:
        return "every bundle it signs is refused."
    return f"bundles it numbered after {after_seq} (the last one imported here) are refused."


# -- conflicts: edit the value -------------------------------------------------------------------

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def side_text(side: Side, *, deleted: bool = False) -> str:
    """The value of one side of a conflict, for people."""
    if deleted:
        return f"Deleted (reason: {side.show()})"
    return side.show()


def side_origin(side: Side) -> str:
    """"Ann Admin at HMP Perth (this PC), 27 Nov 2026 14:05"."""
    who = side.user_name or "someone"
    where = side.origin_name + (" (this PC)" if side.mine else "")
    return f"{who} at {where}, {local_time(side.when)}"


class ConflictEditDialog(FormDialog):
    """Settle a conflict with a value of one's own, starting from the current one."""

    topic = "sync"

    def __init__(self, ctx: Context, item: ConflictItem, parent: QWidget | None = None) -> None:
        super().__init__(ctx, "Edit the value", f"{item.record} — {item.field_label.lower()}", "&Save", parent)
        self.setObjectName("conflictEditDialog")
        self.item = item
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 80)
        sides = QGridLayout()
        sides.setColumnStretch(1, 1)
        sides.setHorizontalSpacing(12)
        for row, (title, side) in enumerate((("Current:", item.current), ("Other:", item.other))):
            label = QLabel(title)
            label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
            value = note(f"{side_text(side)}\nset by {side_origin(side)}", f"{'current' if row == 0 else 'other'}Side")
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            sides.addWidget(label, row, 0)
            sides.addWidget(value, row, 1)
        self.layout_.insertLayout(1, sides)
        self.layout_.insertWidget(2, note("Type the value that is right; it replaces both, here and, with the "
                                          "next bundles, everywhere.", "editNote"))
        sample = item.current.value if item.current.value is not None else item.other.value
        self.kind = ("bool" if isinstance(sample, bool) else "int" if isinstance(sample, int)
                     else "date" if isinstance(sample, str) and _ISO_DATE.fullmatch(sample)
                     else "long" if isinstance(sample, str) and (len(sample) > 60 or "\n" in sample
                                                                 or item.field == "notes")
                     else "text")
        current = item.current.value
        field: QWidget
        if self.kind == "bool":
            field = QCheckBox()
            field.setChecked(bool(current))
        elif self.kind == "int":
            field = QSpinBox()
            field.setRange(-(2**31), 2**31 - 1)
            field.setValue(int(current or 0))
        elif self.kind == "long":
            field = QPlainTextEdit("" if current is None else str(current))
            field.setTabChangesFocus(True)
            lines = field.fontMetrics().lineSpacing()
            field.setMinimumHeight(lines * 4)
        else:
            field = QLineEdit("" if current is None else str(current))
            if self.kind == "date":
                field.setPlaceholderText("YYYY-MM-DD, e.g. 2027-01-31")
        self.value = self.add_row("&Value:", field, "value", "conflictValue", f"New {item.field_label.lower()}")
        self.finish_layout()

    def new_value(self) -> Any:
        field = self.value
        if isinstance(field, QCheckBox):
            return field.isChecked()
        if isinstance(field, QSpinBox):
            return field.value()
        text = field.toPlainText() if isinstance(field, QPlainTextEdit) else field.text()
        text = text.strip()
        if not text:
            return None
        if self.kind == "date":
            try:
                dt.date.fromisoformat(text)
            except ValueError:
                raise ValidationError("Type a date like 2027-01-31 (year, month, day).", "value") from None
        return text

    def work(self) -> tuple[Callable[..., Any], tuple, dict]:
        return conflict_service.resolve_conflict, (self.ctx, self.item.id, "edit", self.new_value()), {}

    def done_message(self, result: Any) -> str:
        return f"Saved your value for the {self.item.field_label.lower()} of {self.item.record}."


__all__ = [
    "Checked", "ColouredModel", "ColouredPagedModel", "ConflictEditDialog", "EnrolDialog", "ImportPreviewDialog", "Outcome",
    "RevokeDialog", "check_bundles", "counts_text", "describe_checked", "error_text", "fit_columns",
    "report_unexpected_errors", "revoked_scope",
    "gap_sentence", "import_checked", "local_time", "monospace_font", "seq_runs", "seq_text", "side_origin",
    "short_time", "side_text", "warning_colour",
]
