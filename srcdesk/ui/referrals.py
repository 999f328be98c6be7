"""The Referrals tab of the Pathways page: Early Release to Residential Rehabilitation referrals.

The strategy says this protocol "can save lives". A list of referrals (those not closed, by
default; by stage, by status and, at the SRC office, by establishment), longest waiting first, each
with the person, establishment, stage, since when and how many days it has waited there, and the
residential rehabilitation service; below it the chosen referral's stage history (each stage dated
and signed by who recorded it; stages stepped back are struck through, with the reason). Buttons:
New referral… (find the person), Record next stage… (the next stage named, today's date), Step
back… (an earlier stage and a reason, asked once more), Withdraw / decline… before admission or
Left the placement… after it (a date and a reason, asked once more). Read only, with the reason,
for those who may not record referrals. Everything is read and written through
:mod:`srcdesk.services.referrals` in the background; referrals are announced as "people", and
the Pathways page reloads the tab when they change (one listener for its three tabs).
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ..dates import DATE_HINT, day_month_year, long_date, numeric_date
from ..errors import ValidationError
from ..models import REFERRAL_STAGES, REFERRAL_STATUSES
from ..services import estate, referrals
from ..services.base import Context
from .catalogue_dialogs import FormDialog, ReasonedDialog
from .session_dialog import PersonPicker
from .table_model import RIGHT, Column, RowsTableModel, record_view
from .tasks import Task, run_task
from .widgets import StatusNote, describe_error, filter_combo, hidden_unless, open_one, push_button

LOADING = "Loading the referrals…"
# The "Show:" filter: (words, the services' status filter).
SHOW = (("Not closed", None), ("On the way to admission", "open"), ("In placement", "in_placement"),
        ("Closed", "closed"), ("All referrals", "all"))


def _person(r: referrals.ReferralRow) -> str:
    return f"{r.person_name} ({r.external_ref})" if r.external_ref else r.person_name


def _stage(r: referrals.ReferralRow) -> str:
    if r.status in ("open", "in_placement"):
        return r.stage_name
    return f"{r.stage_name} — {r.status_name.lower()}"


def _waiting(r: referrals.ReferralRow) -> str:
    return f"{r.days_waiting} day{'s' if r.days_waiting != 1 else ''}"


COLUMNS = [
    Column("Person", lambda r: r.person_name, tooltip=lambda r: _person(r)),
    Column("Establishment", lambda r: r.establishment_code or "", tooltip=lambda r: r.establishment_name),
    Column("Stage", _stage, tooltip=lambda r: r.close_reason if r.close_reason else None),
    Column("Since", lambda r: r.since),
    Column("Days waiting", _waiting, align=RIGHT,
           tooltip=lambda r: "Days at this stage (to the day it closed, for a closed referral)"),
    Column("Residential rehabilitation service", lambda r: r.service or ""),
]


@dataclass(frozen=True)
class Snapshot:
    rows: list[referrals.ReferralRow]
    organisations: list[tuple[str, str]]  # (id, name): the services a referral may name
    establishments: list[tuple[str, str, str]]  # (id, code, name), at the office


def load(ctx: Context, status: str | None, stage: str | None, establishment_id: str | None,
         with_choices: bool) -> Snapshot:
    rows = referrals.list_referrals(ctx, status=status, stage=stage, establishment_id=establishment_id)
    if not with_choices:
        return Snapshot(rows, [], [])
    ests = [(e.id, e.code, e.name) for e in estate.establishments(ctx)] if ctx.installation.is_office else []
    return Snapshot(rows, referrals.organisations(ctx), ests)


def history_html(detail: referrals.ReferralDetail) -> str:
    """The stage history as a short HTML list (stepped-back stages struck through, with the reason)."""
    row = detail.row
    parts = [f"<p><b>{html.escape(_person(row))}</b> — {html.escape(row.status_name)}"]
    if row.service:
        parts.append(f"; residential rehabilitation service: {html.escape(row.service)}")
    if row.closed_on and row.close_reason:
        parts.append(f"<br>Closed on {html.escape(long_date(row.closed_on))}: {html.escape(row.close_reason)}")
    parts.append("</p><table cellspacing='0' cellpadding='4'>")
    parts.append("<tr><th align='left'>Date&nbsp;&nbsp;</th><th align='left'>Stage&nbsp;&nbsp;</th>"
                 "<th align='left'>Recorded by&nbsp;&nbsp;</th><th align='left'>Note</th></tr>")
    for h in detail.history:
        date, stage = html.escape(day_month_year(h.reached_on)), html.escape(h.stage_name)
        note = html.escape(h.note or "").replace("\n", "<br>")
        who = html.escape(h.recorded_by or "—")
        if h.stepped_back:
            why = html.escape(h.stepped_back_reason or "")
            by = html.escape(h.stepped_back_by or "someone")
            note = f"<i>Stepped back by {by}: {why}</i>" + (f"<br>{note}" if note else "")
            date, stage, who = f"<s>{date}</s>", f"<s>{stage}</s>", f"<s>{who}</s>"
        parts.append(f"<tr><td>{date}</td><td>{stage}</td><td>{who}</td><td>{note}</td></tr>")
    parts.append("</table>")
    if detail.notes:
        parts.append(f"<p>Notes: {html.escape(detail.notes)}</p>")
    return "".join(parts)


class ReferralsView(QWidget):
    """The Referrals tab: the list with its filters, the chosen referral's history, the actions."""

    loaded = Signal()  # the list has been shown (tests wait for it)
    detailShown = Signal()  # the chosen referral's history has been shown

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("referralsView")
        self.ctx = ctx
        self.refusal = ctx.refusal("referral.record")
        self.editable = not self.refusal
        self.snapshot: Snapshot | None = None
        self.detail: referrals.ReferralDetail | None = None
        self._task: Task | None = None
        self._detail_task: Task | None = None
        self.dialog: Any = None

        self.show_combo, show_label = filter_combo("&Show:", "referralStatusFilter", "Show", SHOW)
        self.stage_combo, stage_label = filter_combo("S&tage:", "referralStageFilter", "Stage",
                                                     [(v, k) for k, v in REFERRAL_STAGES.items()],
                                                     everything="Any stage")
        self.est_combo, est_label = filter_combo("&Establishment:", "referralEstablishmentFilter", "Establishment",
                                                 everything="All establishments")
        office = ctx.installation.is_office
        hidden_unless(self.est_combo, office)
        hidden_unless(est_label, office)
        for combo in (self.show_combo, self.stage_combo, self.est_combo):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            combo.activated.connect(lambda _i: self.refresh())
        top = QHBoxLayout()
        for w in (show_label, self.show_combo, stage_label, self.stage_combo, est_label, self.est_combo):
            top.addWidget(w)
        top.addStretch(1)

        self.intro = QLabel("The Early Release to Residential Rehabilitation Protocol: each stage dated and "
                            "signed by who recorded it, in order; the follow-up after admission at 4 and 12 weeks.")
        self.intro.setObjectName("referralsIntro")
        self.intro.setWordWrap(True)
        self.read_only_note = QLabel(f"Read only. {self.refusal}" if self.refusal else "")
        self.read_only_note.setObjectName("readOnlyNote")
        self.read_only_note.setWordWrap(True)
        hidden_unless(self.read_only_note, bool(self.refusal))

        self.model = RowsTableModel(COLUMNS, self)
        self.table = record_view(self.model, "referralsTable", "Referrals", stretch=len(COLUMNS) - 1)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.table.activated.connect(lambda _i: self._advance())
        self.empty_note = QLabel()
        self.empty_note.setObjectName("referralsEmpty")
        self.empty_note.setWordWrap(True)
        self.empty_note.setVisible(False)

        self.new_button = push_button("&New referral…", "newReferralButton", self._new)
        self.advance_button = push_button("Record ne&xt stage…", "advanceReferralButton", self._advance)
        self.back_button = push_button("Step &back…", "stepBackReferralButton", self._step_back)
        self.close_button = push_button("&Withdraw / decline…", "closeReferralButton", self._close,
                                        accessible="Withdraw, decline or record leaving the placement")
        buttons = QHBoxLayout()
        for b in (self.new_button, self.advance_button, self.back_button, self.close_button):
            hidden_unless(b, self.editable)
            buttons.addWidget(b)
        buttons.addStretch(1)

        self.history = QTextBrowser()
        self.history.setObjectName("referralHistory")
        self.history.setAccessibleName("Stage history")
        self.history.setOpenLinks(False)
        self.history.setPlaceholderText("Choose a referral to see its stages.")
        history_box = QGroupBox("Stage history")
        history_box.setObjectName("referralHistoryBox")
        QVBoxLayout(history_box).addWidget(self.history)

        upper = QWidget()
        ul = QVBoxLayout(upper)
        ul.setContentsMargins(0, 0, 0, 0)
        ul.addWidget(self.table, 1)
        ul.addWidget(self.empty_note)
        ul.addLayout(buttons)
        split = QSplitter(Qt.Orientation.Vertical)
        split.setObjectName("referralsSplitter")
        split.setChildrenCollapsible(False)
        split.addWidget(upper)
        split.addWidget(history_box)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)

        self.status = StatusNote()
        self.status.setObjectName("referralsStatus")
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.intro)
        layout.addWidget(self.read_only_note)
        layout.addWidget(split, 1)
        layout.addWidget(self.status)
        self.setFocusProxy(self.table)

        chain = [self.show_combo, self.stage_combo, *([self.est_combo] if office else []), self.table,
                 self.new_button, self.advance_button, self.back_button, self.close_button, self.history]
        for a, b in zip(chain, chain[1:], strict=False):
            QWidget.setTabOrder(a, b)
        self._update_buttons()

    # -- size ----------------------------------------------------------------------------------

    def sizeHint(self) -> QSize:  # noqa: N802
        """Modest: the list and the history share whatever height there is (the page scrolls only
        below its minimum, at 1024×600 too)."""
        hint = super().sizeHint()
        return QSize(hint.width(), min(hint.height(), self.fontMetrics().lineSpacing() * 16))

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        return False  # the wrapped intro would otherwise ask for every widget's preferred height

    # -- loading -------------------------------------------------------------------------------

    def filters(self) -> tuple[str | None, str | None, str | None]:
        return (self.show_combo.currentData(), self.stage_combo.currentData(),
                self.est_combo.currentData() if self.ctx.installation.is_office else None)

    def refresh(self, *, quiet: bool = False) -> None:
        """Read the list again in the background (with the filters chosen)."""
        if self._task is not None:
            self._task.discard()
        if not quiet:
            self.status.say(LOADING)
        status, stage, est = self.filters()
        self._task = run_task(load, self.ctx, status, stage, est, self.snapshot is None or not quiet, owner=self,
                              on_result=self._show, on_error=self._failed, name="load the referrals")

    def _failed(self, error: BaseException) -> None:
        self._task = None
        self.status.say(f"The referrals could not be read: {describe_error(error)}")

    def _show(self, snap: Snapshot) -> None:
        self._task = None
        if self.snapshot is not None and not snap.organisations and not snap.establishments:
            snap = Snapshot(snap.rows, self.snapshot.organisations, self.snapshot.establishments)
        first = self.snapshot is None
        self.snapshot = snap
        if self.status.text() == LOADING:
            self.status.say("")
        if first and snap.establishments:
            for est_id, code, name in snap.establishments:
                self.est_combo.addItem(f"{name} ({code})", est_id)
        chosen = self.selected()
        self.model.set_rows(snap.rows)
        at = self.model.find(lambda r: r.id == chosen.id) if chosen is not None else -1
        if at < 0 and snap.rows:
            at = 0  # the longest waiting: its history shows at once
        if at >= 0:
            self.table.selectRow(at)
        if not snap.rows:
            self.empty_note.setText("No referrals match what is chosen." if any(self.filters()[1:]) or
                                    self.filters()[0] else "No referrals that are not closed. "
                                    "New referral… starts one for a person identified as suitable.")
        self.empty_note.setVisible(not snap.rows)
        self._selection_changed()
        self.loaded.emit()

    # -- the chosen referral ---------------------------------------------------------------------

    def selected(self) -> referrals.ReferralRow | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self.model.row(rows[0].row()) if rows else None

    def _selection_changed(self, *_: Any) -> None:
        chosen = self.selected()
        self._update_buttons()
        if self._detail_task is not None:
            self._detail_task.discard()
            self._detail_task = None
        self.detail = None
        if chosen is None:
            self.history.clear()
            return
        self._detail_task = run_task(referrals.get_referral, self.ctx, chosen.id, owner=self,
                                     on_result=self._show_detail, on_error=self._detail_failed,
                                     name="load the referral's stages")

    def _show_detail(self, detail: referrals.ReferralDetail) -> None:
        self._detail_task = None
        self.detail = detail
        self.history.setHtml(history_html(detail))
        bar = self.history.verticalScrollBar()
        bar.setValue(bar.maximum())  # the latest stages (and any stepped back) in view
        self._update_buttons()
        self.detailShown.emit()

    def _detail_failed(self, error: BaseException) -> None:
        self._detail_task = None
        self.history.setPlainText(f"The referral's stages could not be read: {describe_error(error)}")

    def _update_buttons(self) -> None:
        r = self.selected()
        active = r is not None and r.status in ("open", "in_placement")
        self.advance_button.setEnabled(active and r.next_stage is not None)
        self.advance_button.setToolTip(f"Next: {REFERRAL_STAGES[r.next_stage]}" if active and r.next_stage else "")
        self.back_button.setEnabled(active and r.stage != "identified")
        self.close_button.setEnabled(active)
        after = r is not None and r.status == "in_placement"
        self.close_button.setText("&Left the placement…" if after else "&Withdraw / decline…")

    # -- actions -----------------------------------------------------------------------------------

    def _open(self, dialog: Any) -> None:
        open_one(self, dialog, on_saved=lambda _r: self.refresh(quiet=True), say=self.status.say)

    def _new(self) -> None:
        if self.editable:
            orgs = self.snapshot.organisations if self.snapshot else []
            self._open(NewReferralDialog(self.ctx, orgs, self))

    def _advance(self) -> None:
        r = self.selected()
        if self.editable and r is not None and r.next_stage is not None and r.status in ("open", "in_placement"):
            detail = self.detail if self.detail is not None and self.detail.row.id == r.id else None
            self._open(NextStageDialog(self.ctx, r, detail, self))

    def _step_back(self) -> None:
        r = self.selected()
        if (self.editable and r is not None and r.status in ("open", "in_placement") and r.stage != "identified"
                and self.detail is not None and self.detail.row.id == r.id):
            self._open(StepBackDialog(self.ctx, r, self.detail, self))

    def _close(self) -> None:
        r = self.selected()
        if self.editable and r is not None and r.status in ("open", "in_placement"):
            self._open(CloseReferralDialog(self.ctx, r, self))


# -- dialogs -----------------------------------------------------------------------------------


def _date_field(day: dt.date | None = None) -> QLineEdit:
    edit = QLineEdit(numeric_date(day or dt.date.today()))
    edit.setPlaceholderText(DATE_HINT)
    edit.setMaxLength(20)
    return edit


def _notes_field(placeholder: str) -> QPlainTextEdit:
    edit = QPlainTextEdit()
    edit.setTabChangesFocus(True)
    edit.setPlaceholderText(placeholder)
    lines = edit.fontMetrics().lineSpacing()
    edit.setMinimumHeight(lines * 3)
    edit.setMaximumHeight(lines * 5)
    return edit


class NewReferralDialog(FormDialog):
    """A new referral: the person (found by name or reference), the day they were identified, the
    residential rehabilitation service if known, notes."""

    def __init__(self, ctx: Context, organisations: list[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(ctx, "New referral", "New Early Release to Residential Rehabilitation referral",
                         "&Save referral", parent)
        self.setObjectName("newReferralDialog")
        self.picker = PersonPicker(ctx, role="person referred", chosen_caption="Referral for:", single=True)
        self.picker.setFocusProxy(self.picker.search)
        self.picker.changed.connect(self._changed)
        self.add_row("&Person:", self.picker, "person_id", "referralPerson", "Person referred")
        label = self.grid.itemAtPosition(self.grid.rowCount() - 2, 0).widget()
        label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        label.setContentsMargins(0, self.fontMetrics().lineSpacing() + 8, 0, 0)  # level with the finder
        self.day = self.add_row("&Date identified:", _date_field(), "referred_on", "referralDate", "Date identified")
        self.service = QComboBox()
        self.service.addItem("None named yet", None)
        for org_id, name in organisations:
            self.service.addItem(name, org_id)
        self.add_row("&Residential rehabilitation service:", self.service, "organisation_id", "referralService",
                     "Residential rehabilitation service")
        self.notes = self.add_row("&Notes:", _notes_field("e.g. who identified them, what they want from it"),
                                  "notes", "referralNotes", "Notes")
        self.finish_layout()
        self.picker.search.setFocus()

    def problems(self) -> list[ValidationError]:
        if not self.picker.people:
            return [ValidationError("Find the person and choose them (Enter or Choose).", "person_id")]
        return []

    def work(self) -> tuple[Callable[..., Any], tuple, dict]:
        return referrals.create_referral, (self.ctx,), {
            "person_id": self.picker.people[0].id, "referred_on": self.day.text(),
            "organisation_id": self.service.currentData(), "notes": self.notes.toPlainText()}

    def done_message(self, result: Any) -> str:
        return f"Started a referral for {self.picker.people[0].display_name}: identified. Next: consented."


class NextStageDialog(FormDialog):
    """Record the next stage (named: only the next one may be recorded), dated today by default."""

    def __init__(self, ctx: Context, row: referrals.ReferralRow, detail: referrals.ReferralDetail | None = None,
                 parent: QWidget | None = None) -> None:
        self.row = row
        self.stage = row.next_stage or ""
        name = REFERRAL_STAGES.get(self.stage, self.stage)
        super().__init__(ctx, "Record next stage", f"{_person(row)}: {name}", "&Record stage", parent)
        self.setObjectName("nextStageDialog")
        words = f"Now: {row.stage_name}, since {long_date(row.since)} ({_waiting(row)})."
        if self.stage in referrals.FOLLOW_UP_DAYS:
            admitted = next((h.reached_on for h in (detail.history if detail else [])
                             if h.stage == "admitted" and not h.stepped_back), None)
            if admitted is not None:
                days = referrals.FOLLOW_UP_DAYS[self.stage]
                words += f" It can be recorded from {long_date(admitted + dt.timedelta(days=days))}."
        about = QLabel(words)
        about.setObjectName("nextStageAbout")
        about.setWordWrap(True)
        self.layout_.insertWidget(1, about)
        self.day = self.add_row("&Date reached:", _date_field(), "reached_on", "stageDate", f"Date {name.lower()}")
        self.note = self.add_row("&Note:", _notes_field("Optional"), "note", "stageNote", "Note")
        self.finish_layout()
        self.day.selectAll()

    def work(self) -> tuple[Callable[..., Any], tuple, dict]:
        return referrals.advance, (self.ctx, self.row.id, self.stage, self.day.text()), {
            "note": self.note.toPlainText()}

    def done_message(self, result: Any) -> str:
        return f"{self.row.person_name}: {REFERRAL_STAGES[self.stage]}."


class StepBackDialog(ReasonedDialog):
    """Step back to an earlier stage reached, with a reason; asks once more."""

    missing_reason = "Say why the referral steps back; the reason is kept with the stages stepped back."

    def __init__(self, ctx: Context, row: referrals.ReferralRow, detail: referrals.ReferralDetail,
                 parent: QWidget | None = None) -> None:
        super().__init__(ctx, "Step back", f"{_person(row)}: step back from {row.stage_name}", "Step &back…", parent)
        self.setObjectName("stepBackDialog")
        self.row = row
        self.to = QComboBox()
        order = list(REFERRAL_STAGES)
        for h in detail.history:
            if not h.stepped_back and order.index(h.stage) < order.index(row.stage):
                self.to.addItem(f"{h.stage_name} ({day_month_year(h.reached_on)})", h.stage)
        self.to.setCurrentIndex(self.to.count() - 1)
        self.add_row("Back &to:", self.to, "stage", "stepBackStage", "Back to the stage")
        self.reason = self.add_row("&Reason:", QLineEdit(), "reason", "stepBackReason", "Reason for stepping back")
        self.reason.setMaxLength(1000)
        self.reason.setPlaceholderText("e.g. funding withdrawn; recorded on the wrong person")
        self.reason.setMinimumWidth(self.fontMetrics().averageCharWidth() * 50)
        self.finish_layout()
        self.reason.setFocus()

    def reason_text(self) -> str:
        return self.reason.text()

    def _later(self) -> list[str]:
        order = list(REFERRAL_STAGES)
        to = self.to.currentData() or self.row.stage
        return [REFERRAL_STAGES[s] for s in order[order.index(to) + 1: order.index(self.row.stage) + 1]]

    def question(self) -> tuple[str, str, str, str, str]:
        return ("Step back?", f"Step {self.row.person_name}'s referral back to {self.to.currentText()}?",
                "Step &back", "&Keep it as it is",
                "Kept in the history, struck through with the reason: " + ", ".join(self._later()) + ".")

    def work(self) -> tuple[Callable[..., Any], tuple, dict]:
        return referrals.step_back, (self.ctx, self.row.id, self.to.currentData() or "", self.reason.text()), {}

    def done_message(self, result: Any) -> str:
        return f"{self.row.person_name}: back to {REFERRAL_STAGES.get(self.to.currentData() or '', '')}."


class CloseReferralDialog(ReasonedDialog):
    """Withdraw or decline (before admission) or record that the person left the placement (after
    it): a date and a reason; asks once more."""

    missing_reason = "Say why; the reason is kept with the referral."

    def __init__(self, ctx: Context, row: referrals.ReferralRow, parent: QWidget | None = None) -> None:
        after = row.status == "in_placement"
        title = "Left the placement" if after else "Withdraw or decline"
        super().__init__(ctx, title, f"{_person(row)}: {title.lower()}", "&Close referral…", parent)
        self.setObjectName("closeReferralDialog")
        self.row = row
        self.outcome = QComboBox()
        for key in (("left_placement",) if after else ("withdrawn", "declined")):
            self.outcome.addItem(REFERRAL_STATUSES[key], key)
        self.add_row("&Outcome:", self.outcome, "outcome", "closeOutcome", "Outcome")
        self.day = self.add_row("&Date:", _date_field(), "on", "closeDate", "Date")
        self.reason = self.add_row("&Reason:", QLineEdit(), "reason", "closeReason", "Reason")
        self.reason.setMaxLength(1000)
        self.reason.setPlaceholderText("e.g. no longer wishes to go; funding refused; left after two weeks")
        self.reason.setMinimumWidth(self.fontMetrics().averageCharWidth() * 50)
        self.finish_layout()
        self.reason.setFocus()

    def reason_text(self) -> str:
        return self.reason.text()

    def question(self) -> tuple[str, str, str, str, str]:
        words = self.outcome.currentText().lower()
        return (f"{self.outcome.currentText()}?", f"Record {self.row.person_name}'s referral as {words}?",
                "&Close the referral", "&Keep it open", "A closed referral moves no further.")

    def work(self) -> tuple[Callable[..., Any], tuple, dict]:
        return referrals.close, (self.ctx, self.row.id, self.outcome.currentData(), self.day.text(),
                                 self.reason.text()), {}

    def done_message(self, result: Any) -> str:
        return f"{self.row.person_name}: {self.outcome.currentText().lower()}."
