"""Issuing, reissuing and revoking a certificate (coordinators).

Each dialog is non-blocking (``open()``), writes through :mod:`srcdesk.services.certificates` in
the background and emits ``saved`` with the certificate record written (the data bus hears of
it from the commit). Anyone else sees what the dialog is about, a line saying why they can't,
and a disabled button (the service refuses too). Nothing is ever deleted: a reissue keeps the
old certificate, superseded; a revocation keeps it, revoked, with its reason.

Revoking asks first (:meth:`RevokeCertificateDialog.ask`, which tests replace).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QLineEdit, QMessageBox, QVBoxLayout, QWidget

from ..dates import DATE_HINT, numeric_date
from ..models import MilestoneDefinition, Module, Programme
from ..services import catalogue, certificates, ladder, people
from ..services.base import Context
from .session_dialog import PersonPicker
from .signoff_dialog import WriteDialog, text_edit, value_label
from .table_model import display
from .tasks import Task, run_task
from .widgets import FieldError, confirm, fit_placeholder, grow_to_fit, heading, scrolling_layout

NOT_PRINTED = ("No prison number or date of birth is printed: only the name below, what it is for, the "
               "date, where it was issued, the signatories and a QR code that proves it is genuine.")
OWN_NAME = "The person can ask for the name they use to be printed."
TRAVELS = "The reason is sent to every srcdesk PC, so don't write anything personal in it."


def status_words(row: Any) -> str:
    """How a certificate's status reads: Valid, Revoked on 3 Dec 2026, Superseded on …"""
    if row.status == "valid":
        return "Valid"
    when = f" on {display(row.status_changed_on)}" if row.status_changed_on else ""
    return f"{row.status.capitalize()}{when}"


def describe(row: Any) -> str:
    """One line naming a certificate: serial, name as printed, what for, when."""
    return f"{row.serial}: {row.recipient_name}, {row.title}, issued {display(row.issued_on)}"


# -- what a certificate can be for ----------------------------------------------------------------

@dataclass(frozen=True)
class AwardChoice:
    """One entry of the "For" list: the words shown and what :func:`certificates.issue` takes."""

    label: str
    kind: str
    programme_id: str | None = None
    module_id: str | None = None
    achievement_id: str | None = None


@dataclass(frozen=True)
class IssueChoices:
    person_id: str
    name: str  # their name, as printed unless changed
    awards: list[AwardChoice]


def load_choices(ctx: Context, person_id: str) -> IssueChoices:
    """What a certificate for this person can be for (runs in the background): every programme
    and award, every module (under its programme), and the ladder levels they hold now."""
    person = people.get_person(ctx, person_id)
    programmes = catalogue.list_all(ctx, Programme)
    modules = catalogue.list_all(ctx, Module)
    levels = {d.id: d for d in catalogue.list_all(ctx, MilestoneDefinition, include_retired=True)}
    awards: list[AwardChoice] = []
    for programme in programmes:
        kind = "award" if programme.kind == "award" else "programme"
        awards.append(AwardChoice(f"{programme.name} ({programme.code})", kind, programme_id=programme.id))
        for module in (m for m in modules if m.programme_id == programme.id):
            awards.append(AwardChoice(f"    Module {module.code}: {module.name}", "module", module_id=module.id))
    for held in ladder.achievements(ctx, person_id):
        level = levels.get(held.definition_id)
        if held.status == "active" and level is not None:
            awards.append(AwardChoice(f"Ladder level {level.level}: {level.name} (since {display(held.achieved_on)})",
                                      "milestone", achievement_id=held.id))
    return IssueChoices(person_id, f"{person.given_name} {person.family_name}", awards)


# -- the dialogs ------------------------------------------------------------------------------------

class _CertificateDialog(WriteDialog):
    action = "certificate.issue"

    def _finish(self, layout_items: list[Any]) -> None:
        layout = scrolling_layout(self, self.buttons)
        for item in layout_items:
            if isinstance(item, QWidget):
                layout.addWidget(item)
            else:
                layout.addLayout(item)
        layout.addWidget(self.error)
        layout.addWidget(self.status)
        layout.addStretch(1)
        # wide enough that a serial and its sentence read on a line or two (the screen still limits it)
        self.resize(max(self.sizeHint().width(), 96 * self.fontMetrics().averageCharWidth()), self.sizeHint().height())

    @staticmethod
    def _line(name: str, accessible: str, *, placeholder: str = "", max_length: int = 170) -> QLineEdit:
        edit = QLineEdit()
        edit.setObjectName(name)
        edit.setAccessibleName(accessible)
        edit.setMaxLength(max_length)
        if placeholder:
            edit.setPlaceholderText(placeholder)
            fit_placeholder(edit)
        return edit

    @staticmethod
    def _with_note(field: QWidget, note: QLabel, error: FieldError) -> QWidget:
        """A field with a note and its error under it, in one row of the form (a note in a row of
        its own is given a row's height and more)."""
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(field)
        column.addWidget(note)
        column.addWidget(error)
        return box

    @staticmethod
    def _note(name: str, text: str) -> QLabel:
        label = value_label(name)
        label.setText(text)
        label.setAccessibleName(text)
        return label


class IssueCertificateDialog(_CertificateDialog):
    """Issue one certificate: for whom (fixed when opened from their page, else found by name or
    reference), what for, the date of issue and the name as printed."""

    doing = "issue certificates"
    accept_text = "&Issue"
    accept_name = "issueButton"

    def __init__(self, ctx: Context, person_id: str | None = None, parent: QWidget | None = None, *,
                 achievement_id: str | None = None) -> None:
        super().__init__(ctx, parent)
        self.setObjectName("issueCertificateDialog")
        self._preselect = achievement_id  # a level just signed off: chosen once the list is loaded
        self.setWindowTitle("Issue a certificate")
        self.choices: IssueChoices | None = None
        self._load_task: Task | None = None
        self._name_typed = False

        self.title = heading("Issue a certificate")
        self.title.setObjectName("issueTitle")
        self.picker: PersonPicker | None = None
        self.person_value = value_label("personValue")
        if person_id is None:
            self.picker = PersonPicker(ctx, role="recipient", chosen_caption="Certificate for:", single=True)
            self.picker.changed.connect(self._person_chosen)
        self.person_error = FieldError(self.picker or self.person_value)
        self.person_error.setObjectName("personError")

        self.award = QComboBox()
        self.award.setObjectName("award")
        self.award.setAccessibleName("What the certificate is for")
        self.award.setPlaceholderText("Choose the person first" if person_id is None else "Loading…")
        self.award.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.award.setMinimumContentsLength(40)
        self.award.setEnabled(False)
        self.award.currentIndexChanged.connect(self._update_ready)
        self.award_error = FieldError(self.award)
        self.award_error.setObjectName("awardError")

        self.issued_on = self._line("issuedOn", "Date of issue", placeholder=DATE_HINT, max_length=20)
        self.issued_on.setText(numeric_date(dt.date.today()))
        self.issued_on_error = FieldError(self.issued_on)
        self.issued_on_error.setObjectName("issuedOnError")

        self.name = self._line("recipientName", "Name as printed")
        self.name.textEdited.connect(self._name_edited)
        self.name.textChanged.connect(self._update_ready)
        self.name_error = FieldError(self.name)
        self.name_error.setObjectName("nameError")
        self.own_name = self._note("ownNameNote", OWN_NAME)
        self.not_printed = self._note("notPrintedNote", NOT_PRINTED)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        if self.picker is not None:
            person_label = QLabel("&Person:")
            person_label.setBuddy(self.picker.search)
            form.addRow(person_label, self.picker)
        else:
            form.addRow("Person:", self.person_value)
        form.addRow("", self.person_error)
        award_label = QLabel("&For:")
        award_label.setBuddy(self.award)
        form.addRow(award_label, self.award)
        form.addRow("", self.award_error)
        date_label = QLabel("&Date of issue:")
        date_label.setBuddy(self.issued_on)
        form.addRow(date_label, self.issued_on)
        form.addRow("", self.issued_on_error)
        name_label = QLabel("&Name as printed:")
        name_label.setBuddy(self.name)
        form.addRow(name_label, self._with_note(self.name, self.own_name, self.name_error))
        self._finish([self.title, self.role_note, self.not_printed, form])

        order: list[QWidget] = [*([self.picker.search, self.picker.results, self.picker.add_button,
                                    self.picker.chosen, self.picker.remove_button] if self.picker else []),
                                self.award, self.issued_on, self.name, self.accept_button, self.cancel_button]
        for first, second in zip(order, order[1:], strict=False):
            QWidget.setTabOrder(first, second)
        if person_id is not None:
            self._load(person_id)
        else:
            self.picker.search.setFocus()
        self._update_ready()

    # -- the person and what for ------------------------------------------------------------------

    @property
    def person_id(self) -> str | None:
        if self.picker is not None:
            chosen = self.picker.people
            return chosen[0].id if chosen else None
        return self.choices.person_id if self.choices else self._fixed_id

    def _load(self, person_id: str) -> None:
        self._fixed_id = person_id if self.picker is None else None
        if self._load_task is not None:
            self._load_task.discard()
        self.status.say("Loading…")
        self.award.setEnabled(False)
        self._load_task = run_task(load_choices, self.ctx, person_id, owner=self, name="certificate choices",
                                   on_result=self._loaded, on_error=self._load_failed)

    _fixed_id: str | None = None

    @property
    def loaded(self) -> bool:
        return self.choices is not None and self._load_task is None

    def _person_chosen(self) -> None:
        self.person_error.clear_error()
        self.choices = None
        self.award.clear()
        pid = self.person_id
        if pid is None:
            self.award.setPlaceholderText("Choose the person first")
            self.award.setEnabled(False)
            self._update_ready()
            return
        self._load(pid)

    def _loaded(self, choices: IssueChoices) -> None:
        self._load_task = None
        if self.picker is not None and choices.person_id != self.person_id:
            return
        self.choices = choices
        self.status.say("")
        self.person_value.setText(choices.name)
        self.person_value.setAccessibleName(choices.name)
        self.title.setText(f"Issue a certificate to {choices.name}")
        self.title.setAccessibleName(self.title.text())
        self.award.blockSignals(True)
        self.award.clear()
        for award in choices.awards:
            self.award.addItem(award.label, award)
        self.award.setCurrentIndex(next((i for i, a in enumerate(choices.awards)
                                         if self._preselect and a.achievement_id == self._preselect), -1))
        self.award.setPlaceholderText("Choose a programme, module or ladder level")
        self.award.blockSignals(False)
        self.award.setEnabled(True)
        self.award.setFocus()  # next: what for (it could not take the focus while it was waiting)
        if not self._name_typed:
            self.name.setText(choices.name)
        self._update_ready()
        grow_to_fit(self)

    def _load_failed(self, error: BaseException) -> None:
        self._load_task = None
        self._failed(error)

    def _name_edited(self, _text: str) -> None:
        self._name_typed = True

    def _update_ready(self, *_: Any) -> None:
        self._ready = self.choices is not None and self.award.currentData() is not None
        self._update_button()

    # -- writing ------------------------------------------------------------------------------------

    def dirty(self) -> bool:
        return self.award.currentIndex() >= 0 or self._name_typed

    def field_errors(self) -> dict[str, FieldError]:
        return {"person_id": self.person_error, "kind": self.award_error, "award": self.award_error,
                "programme_id": self.award_error, "module_id": self.award_error,
                "achievement_id": self.award_error, "issued_on": self.issued_on_error,
                "recipient_name": self.name_error, "title": self.award_error}

    def write(self) -> tuple[Callable[..., Any], tuple, dict]:
        award: AwardChoice = self.award.currentData()
        return certificates.issue, (self.ctx,), {
            "person_id": self.person_id, "kind": award.kind, "programme_id": award.programme_id,
            "module_id": award.module_id, "achievement_id": award.achievement_id,
            "issued_on": self.issued_on.text().strip(), "recipient_name": self.name.text().strip() or None}

    def done_message(self, record: Any) -> str:
        return f"Certificate {record.serial} issued to {record.recipient_name}: {record.title}."


class _ChangeCertificateDialog(_CertificateDialog):
    """Reissue or revoke: which certificate, and the reason (required)."""

    action = "certificate.revoke"
    verb = ""

    def __init__(self, ctx: Context, row: Any, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.row = row
        self.title = heading(f"{self.verb} a certificate")
        self.title.setObjectName("changeTitle")
        self.what_value = value_label("certificateValue")
        self.what_value.setText(f"{describe(row)} ({status_words(row).lower()}).")
        self.what_value.setAccessibleName(self.what_value.text())
        self.keep_note = self._note("keepNote", "")
        self.reason = text_edit("reason", "Reason")
        self.reason_error = FieldError(self.reason)
        self.reason_error.setObjectName("reasonError")
        self.reason.textChanged.connect(self._update_ready)
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.addRow("Certificate:", self.what_value)
        if row.status != "valid":
            self.error.show_error(f"This certificate is already {row.status}.")
        self._update_ready()

    def _add_reason(self, note: QLabel | None = None) -> None:
        reason_label = QLabel("&Reason:")
        reason_label.setBuddy(self.reason)
        if note is None:
            self.form.addRow(reason_label, self.reason)
            self.form.addRow("", self.reason_error)
        else:
            self.form.addRow(reason_label, self._with_note(self.reason, note, self.reason_error))

    def _update_ready(self, *_: Any) -> None:
        self._ready = self.row.status == "valid" and bool(self.reason.toPlainText().strip())
        self._update_button()

    def dirty(self) -> bool:
        return bool(self.reason.toPlainText().strip())


class ReissueCertificateDialog(_ChangeCertificateDialog):
    """Reissue with a correction: a new certificate with a serial and QR code of its own takes
    the place of the old one, which is kept, marked superseded with the reason."""

    doing = "reissue certificates"
    verb = "Reissue"
    accept_text = "&Reissue"
    accept_name = "reissueButton"

    def __init__(self, ctx: Context, row: Any, parent: QWidget | None = None) -> None:
        super().__init__(ctx, row, parent)
        self.setObjectName("reissueCertificateDialog")
        self.setWindowTitle(f"Reissue {row.serial}")
        self.keep_note.setText(f"{row.serial} is not deleted: it is kept, marked superseded with your reason, "
                               "and a check of its QR code says it was replaced. The reissued certificate gets a "
                               "new serial and QR code: print it, and destroy the old paper.")
        self.keep_note.setAccessibleName(self.keep_note.text())
        self.name = self._line("recipientName", "Name as printed")
        self.name.setText(row.recipient_name)
        self.name_error = FieldError(self.name)
        self.name_error.setObjectName("nameError")
        self.own_name = self._note("ownNameNote", OWN_NAME)
        name_label = QLabel("&Name as printed:")
        name_label.setBuddy(self.name)
        self.form.addRow(name_label, self._with_note(self.name, self.own_name, self.name_error))
        self._add_reason()
        self._finish([self.title, self.role_note, self.keep_note, self.form])
        QWidget.setTabOrder(self.name, self.reason)
        QWidget.setTabOrder(self.reason, self.accept_button)
        QWidget.setTabOrder(self.accept_button, self.cancel_button)
        self.name.setFocus()

    def dirty(self) -> bool:
        return super().dirty() or self.name.text() != self.row.recipient_name

    def field_errors(self) -> dict[str, FieldError]:
        return {"reason": self.reason_error, "recipient_name": self.name_error, "achievement_id": self.error}

    def write(self) -> tuple[Callable[..., Any], tuple, dict]:
        return certificates.reissue, (self.ctx, self.row.id, self.reason.toPlainText()), {
            "recipient_name": self.name.text().strip() or None}

    def done_message(self, record: Any) -> str:
        return f"{self.row.serial} reissued as {record.serial} for {record.recipient_name}."


class RevokeCertificateDialog(_ChangeCertificateDialog):
    """Revoke with a reason: the certificate is kept, marked revoked, and the revocation travels
    to every srcdesk PC, where a check of its QR code says so."""

    doing = "revoke certificates"
    verb = "Revoke"
    accept_text = "Re&voke…"
    accept_name = "revokeButton"

    def __init__(self, ctx: Context, row: Any, parent: QWidget | None = None) -> None:
        super().__init__(ctx, row, parent)
        self.setObjectName("revokeCertificateDialog")
        self.setWindowTitle(f"Revoke {row.serial}")
        self.keep_note.setText("Nothing is deleted: the certificate is kept, marked revoked with the date, your "
                               "name and the reason, and any srcdesk that checks its QR code says it was revoked.")
        self.keep_note.setAccessibleName(self.keep_note.text())
        self.travels = self._note("travelsNote", TRAVELS)
        self.travels.setStyleSheet("font-weight: bold;")
        self._add_reason(self.travels)
        self._finish([self.title, self.role_note, self.keep_note, self.form])
        QWidget.setTabOrder(self.reason, self.accept_button)
        QWidget.setTabOrder(self.accept_button, self.cancel_button)
        self.reason.setFocus()
        self.confirm_box: QMessageBox | None = None

    @classmethod
    def ask(cls, parent: QWidget, text: str, on_yes: Callable[[], Any]) -> QMessageBox | None:
        """Ask before revoking (tests replace this)."""
        return confirm(parent, "Revoke the certificate?", text, "&Revoke", on_yes,
                       informative="This can't be undone: a revoked certificate stays revoked. If it only "
                                   "needs correcting, reissue it instead.")

    def submit(self) -> None:
        if not self.can_submit():
            return
        self.confirm_box = self.ask(self, f"Revoke certificate {self.row.serial} ({self.row.recipient_name})?",
                                    self._confirmed)

    def _confirmed(self) -> None:
        super().submit()

    def field_errors(self) -> dict[str, FieldError]:
        return {"reason": self.reason_error}

    def write(self) -> tuple[Callable[..., Any], tuple, dict]:
        return certificates.revoke, (self.ctx, self.row.id, self.reason.toPlainText()), {}

    def done_message(self, record: Any) -> str:
        return f"{self.row.serial} revoked."


__all__ = ["AwardChoice", "IssueCertificateDialog", "IssueChoices", "ReissueCertificateDialog",
           "RevokeCertificateDialog", "load_choices", "status_words"]
