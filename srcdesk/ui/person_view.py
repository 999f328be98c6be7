"""A person's page: details, consent, establishment history, attendance, milestone progress and
certificates.

Shown inside the People page (:class:`srcdesk.ui.pages.people.PeoplePage`). Everything loads in
the background: the details, history and ladder in one task, the attendance history as a
keyset-paged list (:func:`srcdesk.services.people.attendance_history`) that pages as it scrolls.
Edit, Transfer, Delete and (coordinators) Issue certificate open their dialogs; after a change
the data bus makes the view reload.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..errors import SrcdeskError
from ..services import certificates, ladder, people
from ..services import referrals as referral_service
from ..services.base import Context
from ..words import noun_for, plural
from .certificate_dialogs import IssueCertificateDialog, status_words
from .errors import report_unexpected
from .person_dialog import DeletePersonDialog, PersonDialog, can_delete
from .table_model import Column, PagedTableModel, RowsTableModel, display, record_view
from .tasks import Task, run_task
from .transfer_dialog import TransferDialog
from .widgets import StatusNote, heading, hidden_unless, push_button

TRANSFER_COLUMNS = [
    Column("Date", lambda t: t.transferred_on),
    Column("From", lambda t: t.from_name or "—", tooltip=lambda t: t.from_code),
    Column("To", lambda t: t.to_name or "Left custody", tooltip=lambda t: t.to_code),
    Column("Reason", lambda t: t.reason, tooltip=lambda t: t.reason),
    Column("Recorded by", lambda t: t.recorded_by),
]
ATTENDANCE_COLUMNS = [
    Column("Date", lambda a: a.date),
    Column("Time", lambda a: a.start_time),
    Column("Session", lambda a: f"{a.what} (cancelled)" if a.cancelled else a.what, tooltip=lambda a: a.what),
    Column("Where", lambda a: a.establishment_code),
    Column("Status", lambda a: a.status,
           tooltip=lambda a: "Counts as attended" if a.counts_as_attended else "Doesn't count as attended"),
    Column("Role", lambda a: a.role),
]


@dataclass(frozen=True)
class LevelLine:
    """One level of the ladder for this person."""

    level: int
    name: str
    state: str  # Held since … / Ready for sign-off / Not yet
    missing: str
    history: str  # earlier achievements of this level (withdrawn / superseded)


MILESTONE_COLUMNS = [
    Column("Level", lambda m: m.level),
    Column("Milestone", lambda m: m.name),
    Column("Progress", lambda m: m.state, tooltip=lambda m: m.history or None),
    Column("Still needed", lambda m: m.missing, tooltip=lambda m: m.missing or None),
]


CERTIFICATE_COLUMNS = [
    Column("Serial", lambda c: c.serial, min_chars=30),  # in full
    Column("For", lambda c: c.title, tooltip=lambda c: c.title),
    Column("Issued", lambda c: c.issued_on),
    Column("Status", status_words, tooltip=lambda c: c.status_reason or None, min_chars=30),
    Column("Name as printed", lambda c: c.recipient_name),
]


@dataclass(frozen=True)
class PersonPageData:
    details: people.PersonDetails
    transfers: list[people.TransferRow]
    levels: list[LevelLine]
    certificates: list[Any]  # their certificates, newest first (revoked and superseded too)
    referrals: list[Any] = field(default_factory=list)  # Early Release to Residential Rehabilitation, newest first


def load_person_page(ctx: Context, person_id: str) -> PersonPageData:
    """Everything the page shows except the attendance list (runs in the background)."""
    details = people.person_details(ctx, person_id)
    transfers = people.transfer_history(ctx, person_id)
    progress = ladder.progress(ctx, person_id)
    held = ladder.achievements(ctx, person_id)
    levels = []
    for step in progress:
        mine = [a for a in held if a.definition_id == step.definition_id]
        active = next((a for a in mine if a.status == "active"), None)
        if active is not None:
            state = f"Achieved {display(active.achieved_on)}"
        elif step.eligible:
            state = "Ready for sign-off"
        else:
            state = "Not yet"
        earlier = "; ".join(f"{a.status.capitalize()} ({display(a.achieved_on)}): {a.status_reason or ''}".rstrip(": ")
                            for a in mine if a.status != "active")
        levels.append(LevelLine(step.level, step.name, state, "" if active or step.eligible else " ".join(step.unmet),
                                earlier))
    issued = sorted(certificates.certificates_for(ctx, person_id), key=lambda c: (c.issued_on, c.serial), reverse=True)
    return PersonPageData(details, transfers, levels, issued, referral_service.person_referrals(ctx, person_id))


def referral_words(rows: list[Any]) -> str:
    """The person's Early Release to Residential Rehabilitation referral in a line: the one not
    closed (its stage, since when), else the latest closed one, else a dash."""
    if not rows:
        return "—"
    r = next((x for x in rows if x.status in ("open", "in_placement")), rows[0])
    if r.status in ("open", "in_placement"):
        return f"{r.stage_name}, since {display(r.since)} ({plural(r.days_waiting, 'day')})"
    return f"{r.status_name} on {display(r.closed_on)}" if r.closed_on else r.status_name


def _table(name: str, accessible: str, model: Any) -> QTableView:
    return record_view(model, name, accessible, fit=False)


def _fit_columns(view: QTableView) -> None:
    """Columns as wide as their contents (and header), the last one taking what is left."""
    view.resizeColumnsToContents()


class PersonView(QWidget):
    """One person's page. Call :meth:`load`; emits :attr:`backRequested` and :attr:`personDeleted`."""

    backRequested = Signal()
    personDeleted = Signal(str)
    loaded = Signal()  # the details, history and ladder have arrived

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.person_id: str | None = None
        self.data: PersonPageData | None = None
        self._task: Task | None = None
        self.dialog: QWidget | None = None  # the last dialog opened from here
        self._message = ""  # what the last change did, said once the page has reloaded
        self.setObjectName("personView")
        self.setAccessibleName("Person")

        self.back_button = QPushButton("← &Back to the list")
        self.back_button.setObjectName("backButton")
        self.back_button.setAccessibleName("Back to the list of people")
        self.back_button.setToolTip("Back to the list of people (Alt+Left)")
        self.back_button.clicked.connect(self.backRequested)
        self.title = heading("", scale=1.6)
        self.title.setObjectName("personName")
        self.edit_button = push_button("&Edit…", "editButton", self.edit, accessible="Edit this person's details")
        self.transfer_button = push_button("&Transfer…", "transferButton", self.transfer,
                                           accessible="Transfer to another establishment")
        self.delete_button = push_button("&Delete…", "deleteButton", self.delete,
                                           accessible="Delete this person (registered in error)")
        hidden_unless(self.delete_button, can_delete(ctx))
        self.liberation_button = push_button("&Liberation record…", "liberationButton", self.liberation_record,
                                             accessible="Liberation record: made before they go home")
        if not ctx.can("liberation.record"):
            self.liberation_button.setToolTip(f"See the records made. {ctx.refusal('liberation.record')}")
        top = QHBoxLayout()
        top.addWidget(self.back_button)
        top.addStretch(1)
        top.addWidget(self.liberation_button)
        top.addWidget(self.edit_button)
        top.addWidget(self.transfer_button)
        top.addWidget(self.delete_button)

        # -- details and consent --------------------------------------------------------------
        self.values: dict[str, QLabel] = {}
        details = QGroupBox("Details")
        details.setObjectName("detailsBox")
        self._form(details, [("reference", "Reference"), ("kind", "Kind"), ("establishment", "Establishment"),
                             ("liberation", "Liberation date"), ("referral", "Residential rehab referral"),
                             ("registered", "Registered"), ("notes", "Notes")])
        consent = QGroupBox("Consent")
        consent.setObjectName("consentBox")
        self._form(consent, [("consent_date", "Consent given"), ("consent_scope", "Covers"),
                             ("consent_recorded", "Recorded by")])
        boxes = QHBoxLayout()
        boxes.addWidget(details, 3)
        boxes.addWidget(consent, 2)

        # -- the lists --------------------------------------------------------------------------
        self.transfer_model = RowsTableModel(TRANSFER_COLUMNS, self)
        self.transfer_table = _table("transferTable", "Establishment history", self.transfer_model)
        self.history_note = StatusNote()
        self.history_note.setObjectName("historyNote")
        history = QWidget()
        history_layout = QVBoxLayout(history)
        history_layout.addWidget(self.history_note)
        history_layout.addWidget(self.transfer_table)

        self.attendance_model = PagedTableModel(ATTENDANCE_COLUMNS, parent=self)
        self.attendance_table = _table("attendanceTable", "Attendance history", self.attendance_model)
        self.attendance_note = StatusNote()
        self.attendance_note.setObjectName("attendanceNote")
        self.attendance_model.loaded.connect(self._attendance_loaded)
        self.attendance_model.failed.connect(self._show_error)
        attendance = QWidget()
        attendance_layout = QVBoxLayout(attendance)
        attendance_layout.addWidget(self.attendance_note)
        attendance_layout.addWidget(self.attendance_table)

        self.milestone_model = RowsTableModel(MILESTONE_COLUMNS, self)
        self.milestone_table = _table("milestoneTable", "Milestone progress", self.milestone_model)
        self.milestone_table.setWordWrap(True)
        rows = self.milestone_table.verticalHeader()
        rows.setMinimumSectionSize(rows.defaultSectionSize())  # wrapped rows grow; the others stay even
        self.milestone_note = StatusNote()
        self.milestone_note.setObjectName("milestoneNote")
        milestones = QWidget()
        milestone_layout = QVBoxLayout(milestones)
        milestone_layout.addWidget(self.milestone_note)
        milestone_layout.addWidget(self.milestone_table)

        self.certificate_model = RowsTableModel(CERTIFICATE_COLUMNS, self)
        self.certificate_table = record_view(self.certificate_model, "certificateTable", "Certificates", stretch=1)
        self.certificate_note = StatusNote()
        self.certificate_note.setObjectName("certificateNote")
        self.issue_button = push_button("&Issue certificate…", "issueCertificateButton", self.issue_certificate,
                                        accessible="Issue a certificate to this person")
        hidden_unless(self.issue_button, ctx.can("certificate.issue"))
        certificate_top = QHBoxLayout()
        certificate_top.addWidget(self.certificate_note, 1)
        certificate_top.addWidget(self.issue_button)
        certificates_tab = QWidget()
        certificate_layout = QVBoxLayout(certificates_tab)
        certificate_layout.addLayout(certificate_top)
        certificate_layout.addWidget(self.certificate_table)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("personTabs")
        self.tabs.setAccessibleName("Person's records")
        self.tabs.addTab(attendance, "&Attendance")
        self.tabs.addTab(history, "Establishment &history")
        self.tabs.addTab(milestones, "&Milestones")
        self.tabs.addTab(certificates_tab, "&Certificates")

        self.error = QLabel()
        self.error.setObjectName("personError")
        self.error.setWordWrap(True)
        self.error.hide()
        self.status = StatusNote()
        self.status.setObjectName("personStatus")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.title)
        layout.addWidget(self.status)
        layout.addWidget(self.error)
        layout.addLayout(boxes)
        layout.addWidget(self.tabs, 1)

        for a, b in ((self.back_button, self.edit_button), (self.edit_button, self.transfer_button),
                     (self.transfer_button, self.delete_button), (self.delete_button, self.tabs)):
            self.setTabOrder(a, b)
        back = QShortcut(QKeySequence(Qt.Modifier.ALT | Qt.Key.Key_Left), self)
        back.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        back.activated.connect(self.backRequested)
        self._set_actions_enabled(False)

    # -- building -------------------------------------------------------------------------------

    def _form(self, box: QGroupBox, rows: list[tuple[str, str]]) -> None:
        grid = QGridLayout(box)
        grid.setColumnStretch(1, 1)
        for i, (key, text) in enumerate(rows):
            label = QLabel(f"{text}:")
            value = QLabel()
            value.setObjectName(f"{key}Value")
            value.setWordWrap(True)
            value.setTextFormat(Qt.TextFormat.PlainText)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setBuddy(value)
            label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            grid.addWidget(label, i, 0)
            grid.addWidget(value, i, 1)
            self.values[key] = value
        grid.setRowStretch(len(rows), 1)

    def _set_value(self, key: str, text: str) -> None:
        label = self.values[key]
        label.setText(text)
        label.setAccessibleName(text or "none")

    def _set_actions_enabled(self, enabled: bool) -> None:
        for button in (self.edit_button, self.transfer_button, self.delete_button, self.issue_button,
                       self.liberation_button):
            button.setEnabled(enabled)

    # -- loading ----------------------------------------------------------------------------------

    def load(self, person_id: str, message: str = "") -> None:
        """Show ``person_id`` (loads in the background); ``message`` is said once it has loaded."""
        if person_id != self.person_id:
            self._message = ""
            self.data = None
            self.title.setText("")
            for label in self.values.values():
                label.setText("")
            self.transfer_model.set_rows([])
            self.milestone_model.set_rows([])
            self.certificate_model.set_rows([])
            self.tabs.setCurrentIndex(0)
        self.person_id = person_id
        self._message = message or self._message
        self.error.hide()
        self.status.say("Loading…")
        self._set_actions_enabled(False)
        if self._task is not None:
            self._task.discard()
        self._task = run_task(load_person_page, self.ctx, person_id, owner=self, name="load a person's page",
                              on_result=lambda data, pid=person_id: self._loaded(pid, data),
                              on_error=lambda error, pid=person_id: self._failed(pid, error))
        self.attendance_note.say("Loading…")
        self.attendance_model.set_fetch(
            lambda after, pid=person_id: people.attendance_history(self.ctx, pid, after=after))

    def reload(self) -> None:
        if self.person_id is not None:
            self.load(self.person_id)

    def _loaded(self, person_id: str, data: PersonPageData) -> None:
        if person_id != self.person_id:
            return
        self._task = None
        self.data = data
        d = data.details
        p = d.person
        name = f"{p.given_name} {p.family_name}"
        self.title.setText(name)
        self.title.setAccessibleName(name)
        self.setAccessibleName(f"Person: {name}")
        self.status.say(self._message)
        self._message = ""
        self._set_value("reference", p.external_ref or "—")
        self._set_value("kind", d.kind_name)
        self._set_value("establishment", f"{d.establishment_name} ({d.establishment_code})" if d.establishment_name
                        else "None (not in an establishment)")
        self._set_value("liberation", display(p.liberation_date) or "—")
        self._set_value("referral", referral_words(data.referrals))
        registered = display(d.registered_at.date()) if d.registered_at else ""
        self._set_value("registered", f"{registered} by {d.registered_by}" if d.registered_by else registered)
        self._set_value("notes", p.notes or "—")
        if p.consent_date is None and not p.consent_scope:
            self._set_value("consent_date", "No consent recorded")
            self._set_value("consent_scope", "—")
            self._set_value("consent_recorded", "—")
        else:
            self._set_value("consent_date", display(p.consent_date) or "Date not recorded")
            self._set_value("consent_scope", p.consent_scope or "Not stated")
            when = display(d.consent_recorded_at.date()) if d.consent_recorded_at else ""
            who = d.consent_recorded_by or "someone on another srcdesk installation"
            self._set_value("consent_recorded", f"{who}, {when}" if when else who)
        self.transfer_model.set_rows(data.transfers)
        self.history_note.say(f"{plural(len(data.transfers), 'transfer')} recorded." if data.transfers
                              else "No transfers recorded: the person has stayed where they were registered.")
        _fit_columns(self.transfer_table)
        self.milestone_model.set_rows(data.levels)
        self.milestone_note.say("" if data.levels else "No milestone ladder is set up.")
        _fit_columns(self.milestone_table)
        self.milestone_table.resizeRowsToContents()
        self.certificate_model.set_rows(data.certificates)
        valid = sum(1 for c in data.certificates if c.status == "valid")
        self.certificate_note.say(
            "No certificates issued yet." if not data.certificates else
            f"{plural(len(data.certificates), 'certificate')}, newest first; {valid} valid."
            if valid != len(data.certificates) else f"{plural(valid, 'certificate')}, newest first.")
        self._set_actions_enabled(True)
        self.loaded.emit()

    def _failed(self, person_id: str, error: BaseException) -> None:
        if person_id != self.person_id:
            return
        self._task = None
        self.status.say("")
        self._show_error(error)

    def _attendance_loaded(self) -> None:
        rows = self.attendance_model.rowCount()
        more = self.attendance_model.canFetchMore(self.attendance_table.rootIndex())
        if rows == 0:
            self.attendance_note.say("Not on the register of any session yet.")
        else:
            self.attendance_note.say(f"{rows}{'+' if more else ''} {noun_for(rows if not more else 2, 'session')}, newest first"
                                     f"{' (more as you scroll)' if more else ''}.")
        if rows and rows <= 100:
            _fit_columns(self.attendance_table)

    def _show_error(self, error: BaseException) -> None:
        if not isinstance(error, SrcdeskError):
            report_unexpected(error)
            return
        self.error.setText(str(error))
        self.error.setAccessibleName(str(error))
        self.error.show()

    # -- actions ----------------------------------------------------------------------------------

    def edit(self) -> PersonDialog | None:
        if self.person_id is None or self.data is None:
            return None
        dialog = PersonDialog(self.ctx, self.person_id, self)
        dialog.saved.connect(lambda record: self._changed(f"Saved {record.given_name} {record.family_name}."))
        self.dialog = dialog
        dialog.open()
        return dialog

    def transfer(self) -> TransferDialog | None:
        if self.data is None:
            return None
        d = self.data.details
        current = f"{d.establishment_name} ({d.establishment_code})" if d.establishment_name else None
        dialog = TransferDialog(self.ctx, d.person, self, current_name=current)
        dialog.transferred.connect(lambda move: self._changed("Transfer recorded."))
        self.dialog = dialog
        dialog.open()
        return dialog

    def delete(self) -> DeletePersonDialog | None:
        if self.data is None:
            return None
        p = self.data.details.person
        dialog = DeletePersonDialog(self.ctx, p.id, f"{p.given_name} {p.family_name}", self)
        dialog.deleted.connect(self.personDeleted)
        self.dialog = dialog
        dialog.open()
        return dialog

    def issue_certificate(self) -> IssueCertificateDialog | None:
        if self.data is None or not self.ctx.can("certificate.issue"):
            return None
        dialog = IssueCertificateDialog(self.ctx, self.data.details.person.id, self)
        dialog.saved.connect(lambda record: self._changed(dialog.last_message))
        self.dialog = dialog
        dialog.open()
        return dialog

    def liberation_record(self) -> QWidget | None:
        """The Liberation record dialog (coordinators make one; others see the records made)."""
        if self.data is None:
            return None
        from .liberation_dialog import LiberationDialog

        person = self.data.details.person
        dialog = LiberationDialog(self.ctx, person.id, f"{person.given_name} {person.family_name}", self)
        dialog.saved.connect(lambda record: self._changed(f"Made the liberation record for {record.name}."))
        self.dialog = dialog
        dialog.open()
        return dialog

    def _changed(self, message: str) -> None:
        """After a change made here: reload, then say what happened."""
        self._message = message
        self.reload()

    def status_message(self) -> str:
        return self.status.text()
