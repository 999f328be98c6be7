"""Register or edit a person; delete one registered in error.

:class:`PersonDialog` is a form over :func:`srcdesk.services.people.create_person` /
:func:`~srcdesk.services.people.update_person`: each service error appears under the field it
names. :class:`DeletePersonDialog` asks for the reason and records the deletion (a tombstone;
coordinators and administrators only). Both run their work in the background and emit
``saved`` / ``deleted`` (the data bus hears of the write from the commit itself).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..dates import DATE_HINT, numeric_date
from ..errors import SrcdeskError, ValidationError
from ..models import PERSON_KINDS
from ..services import people
from ..services.base import Context
from ..services.estate import establishments
from .errors import report_unexpected
from .tasks import Task, run_task
from .widgets import (
    FieldError,
    GuardedDialog,
    StatusNote,
    confirm,
    fit_placeholder,
    grow_to_fit,
    heading,
    scrolling_layout,
    show_problems,
    show_service_error,
)

CONSENT_SUGGESTIONS = ("Attendance, milestones and certificates", "Attendance only")
COMMUNITY = "community"  # the office's "No establishment (community)" choice


def confirm_discard(parent: QWidget, on_discard: Callable[[], Any]) -> QMessageBox:
    """Ask "Discard the changes?" without blocking; ``on_discard()`` runs if the person agrees.
    Keep editing is the default and Escape keeps editing. Tests monkeypatch this function."""
    return confirm(parent, "Discard changes?", "You have changed this person's details. Discard the changes?",
                   "&Discard changes", on_discard, no_text="&Keep editing")


def can_delete(ctx: Context) -> bool:
    return ctx.can("person.delete")


class PersonDialog(GuardedDialog):
    """Register a new person (``person_id=None``) or edit one. Emits :attr:`saved`."""

    saved = Signal(object)  # the Person record, as the service returned it

    FIELDS = ("given_name", "family_name", "kind", "external_ref", "establishment_id", "liberation_date",
              "consent_date", "consent_scope", "notes")

    def __init__(self, ctx: Context, person_id: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.person_id = person_id
        self.record: Any = None
        self._task: Task | None = None
        self._dirty = False
        self._closing = False
        self._loading = person_id is not None
        self.setObjectName("personDialog")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle("Edit person" if person_id else "New person")
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 64)  # wide enough to read

        self.given_name = self._line("givenName", "Given name", 80)
        self.family_name = self._line("familyName", "Family name", 80)
        self.kind = QComboBox()
        self.kind.setObjectName("kind")
        self.kind.setAccessibleName("Kind of person")
        for code, name in PERSON_KINDS.items():
            self.kind.addItem(name, code)
        self.external_ref = self._line("externalRef", "Reference", 40)
        self.external_ref.setPlaceholderText("e.g. prisoner number (never printed on certificates)")
        self.establishment = QComboBox()
        self.establishment.setObjectName("establishment")
        self.establishment.setAccessibleName("Establishment")
        self.establishment_note = QLabel()
        self.establishment_note.setObjectName("establishmentNote")
        self.establishment_note.setWordWrap(True)
        self.liberation_date = self._line("liberationDate", "Liberation date", 20)
        self.liberation_date.setPlaceholderText(DATE_HINT)

        self.consent_date = self._line("consentDate", "Consent date", 20)
        self.consent_date.setPlaceholderText(DATE_HINT)
        self.consent_scope = QComboBox()
        self.consent_scope.setObjectName("consentScope")
        self.consent_scope.setAccessibleName("Consent covers")
        self.consent_scope.setEditable(True)
        self.consent_scope.addItem("")
        self.consent_scope.addItems(CONSENT_SUGGESTIONS)
        self.consent_scope.lineEdit().setMaxLength(200)
        self.consent_scope.lineEdit().setPlaceholderText("what the person agreed to be recorded for")
        self.notes = QPlainTextEdit()
        self.notes.setObjectName("notes")
        self.notes.setAccessibleName("Notes")
        self.notes.setTabChangesFocus(True)
        self.notes.setMinimumHeight(self.notes.fontMetrics().lineSpacing() * 4)
        self.notes.setMaximumHeight(self.notes.fontMetrics().lineSpacing() * 8)  # room for Save on a small screen
        fit_placeholder(self.external_ref, self.consent_scope.lineEdit())

        self.errors: dict[str, FieldError] = {}
        details = QGroupBox("Person")
        grid = QGridLayout(details)
        grid.setColumnStretch(1, 1)
        rows: list[tuple[str, QWidget, str]] = [
            ("&Given name:", self.given_name, "given_name"),
            ("&Family name:", self.family_name, "family_name"),
            ("&Kind:", self.kind, "kind"),
            ("&Reference:", self.external_ref, "external_ref"),
            ("E&stablishment:", self.establishment, "establishment_id"),
            ("&Liberation date:", self.liberation_date, "liberation_date"),
        ]
        self._add_rows(grid, rows)
        grid.addWidget(self.establishment_note, 2 * len(rows), 1)
        consent = QGroupBox("Consent")
        consent_grid = QGridLayout(consent)
        consent_grid.setColumnStretch(1, 1)
        self._add_rows(consent_grid, [
            ("Consent &date:", self.consent_date, "consent_date"),
            ("Consent &covers:", self.consent_scope, "consent_scope"),
        ])
        notes_box = QGroupBox("Notes")
        notes_layout = QVBoxLayout(notes_box)
        notes_layout.addWidget(self.notes)
        self.errors["notes"] = FieldError(self.notes)
        self.errors["notes"].setObjectName("notesError")
        notes_layout.addWidget(self.errors["notes"])

        self.general_error = FieldError()
        self.general_error.setObjectName("generalError")
        self.status = StatusNote()
        self.status.setObjectName("status")
        self.buttons = QDialogButtonBox()
        self.save_button = self.buttons.addButton("&Save" if person_id else "&Register",
                                                  QDialogButtonBox.ButtonRole.AcceptRole)
        self.save_button.setObjectName("saveButton")
        self.save_button.setAccessibleName("Save" if person_id else "Register")
        self.save_button.setDefault(True)
        self.save_button.setAutoDefault(False)
        self.cancel_button = self.buttons.addButton("Cancel", QDialogButtonBox.ButtonRole.RejectRole)
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setAccessibleName("Cancel")
        self.cancel_button.setAutoDefault(False)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)

        layout = scrolling_layout(self, self.buttons)
        layout.addWidget(heading("Edit person" if person_id else "Register a person"))
        layout.addWidget(details)
        layout.addWidget(consent)
        layout.addWidget(notes_box, 1)
        layout.addWidget(self.general_error)
        layout.addWidget(self.status)

        order = [self.given_name, self.family_name, self.kind, self.external_ref, self.establishment,
                 self.liberation_date, self.consent_date, self.consent_scope, self.notes, self.save_button,
                 self.cancel_button]
        for a, b in zip(order, order[1:], strict=False):
            self.setTabOrder(a, b)

        for edit in (self.given_name, self.family_name, self.external_ref, self.liberation_date,
                     self.consent_date):
            edit.textEdited.connect(self._changed)
        self.kind.activated.connect(self._changed)
        self.establishment.activated.connect(self._changed)
        self.consent_scope.lineEdit().textEdited.connect(self._changed)
        self.consent_scope.activated.connect(self._changed)
        self.notes.textChanged.connect(self._notes_changed)

        self.establishment.setEnabled(False)
        if person_id is None:
            if ctx.installation.is_office:
                self.establishment.setPlaceholderText("Loading the establishments…")
                run_task(establishments, ctx, owner=self, name="load establishments",
                         on_result=self._establishments_loaded, on_error=self._show_error)
            else:
                self.establishment.addItem(ctx.installation.name, ctx.installation.establishment_id)
                self.establishment_note.setText("People are registered at this PC's establishment; "
                                                "use Transfer on their page to move them.")
        else:
            self.establishment_note.setText("To move this person, use Transfer on their page.")
            self._set_enabled(False)
            self.status.say("Loading…")
            self._task = run_task(people.get_person, ctx, person_id, owner=self, name="load a person",
                                  on_result=self._loaded, on_error=self._load_failed)
        self.given_name.setFocus()

    # -- building --------------------------------------------------------------------------

    @staticmethod
    def _line(name: str, accessible: str, max_len: int) -> QLineEdit:
        edit = QLineEdit()
        edit.setObjectName(name)
        edit.setAccessibleName(accessible)
        edit.setMaxLength(max_len)
        return edit

    def _add_rows(self, grid: QGridLayout, rows: list[tuple[str, QWidget, str]]) -> None:
        start = grid.rowCount() if grid.count() else 0
        for i, (text, field, key) in enumerate(rows):
            label = QLabel(text)
            label.setBuddy(field)
            error = FieldError(field)
            error.setObjectName(f"{field.objectName()}Error")
            self.errors[key] = error
            grid.addWidget(label, start + 2 * i, 0)
            grid.addWidget(field, start + 2 * i, 1)
            grid.addWidget(error, start + 2 * i + 1, 1)

    def _set_enabled(self, enabled: bool) -> None:
        for w in (self.given_name, self.family_name, self.kind, self.external_ref, self.liberation_date,
                  self.consent_date, self.consent_scope, self.notes, self.save_button):
            w.setEnabled(enabled)

    # -- loading ---------------------------------------------------------------------------

    def _establishments_loaded(self, rows: list[Any]) -> None:
        # The office registers people anywhere: the establishment the officer picked last time,
        # else none chosen yet (they pick one: never an arbitrary default).
        for est in rows:
            self.establishment.addItem(f"{est.name} ({est.code})", est.id)
        self.establishment.addItem("No establishment (community)", COMMUNITY)
        last = QSettings().value(self._last_establishment_key)
        found = self.establishment.findData(last) if last else -1
        self.establishment.setPlaceholderText("Choose the establishment…")
        self.establishment.setCurrentIndex(found)
        self.establishment.setEnabled(True)

    @property
    def _last_establishment_key(self) -> str:
        return f"people/{self.ctx.installation.id}/new_person_establishment"

    def _loaded(self, record: Any) -> None:
        self._task = None
        self.record = record
        self.given_name.setText(record.given_name)
        self.family_name.setText(record.family_name)
        self.kind.setCurrentIndex(max(0, self.kind.findData(record.kind)))
        self.external_ref.setText(record.external_ref or "")
        self.liberation_date.setText(numeric_date(record.liberation_date))
        self.consent_date.setText(numeric_date(record.consent_date))
        self.consent_scope.setCurrentText(record.consent_scope or "")
        self.notes.setPlainText(record.notes or "")
        self.establishment.clear()
        self.establishment.addItem("—" if record.establishment_id is None else "…", record.establishment_id)
        run_task(establishments, self.ctx, include_closed=True, owner=self, name="name an establishment",
                 on_result=self._name_establishment)
        self._loading = False
        self._dirty = False
        self._set_enabled(True)
        self.status.say("")
        self.given_name.setFocus()
        self.given_name.selectAll()

    def _name_establishment(self, rows: list[Any]) -> None:
        current = self.establishment.itemData(0)
        for est in rows:
            if est.id == current:
                self.establishment.setItemText(0, f"{est.name} ({est.code})")

    def _load_failed(self, error: BaseException) -> None:
        self._task = None
        self.status.say("")
        self._show_error(error)

    # -- editing ---------------------------------------------------------------------------

    def _changed(self, *args: object) -> None:
        if not self._loading:
            self._dirty = True

    def _notes_changed(self) -> None:
        self._changed()

    @property
    def dirty(self) -> bool:
        return self._dirty

    def values(self) -> dict[str, Any]:
        """What the form says, as the services take it."""
        return {
            "given_name": self.given_name.text(),
            "family_name": self.family_name.text(),
            "kind": self.kind.currentData(),
            "external_ref": self.external_ref.text(),
            "liberation_date": self.liberation_date.text(),  # 31/03/2026 or ISO: the service reads both
            "consent_date": self.consent_date.text(),
            "consent_scope": self.consent_scope.currentText(),
            "notes": self.notes.toPlainText(),
        }

    def submit(self) -> None:
        if self._task is not None or self._loading:
            return
        for error in self.errors.values():
            error.clear_error()
        self.general_error.clear_error()
        values = self.values()
        if show_problems(people.person_problems(values), self.general_error, self.errors):
            grow_to_fit(self)
            return  # every problem at once, each under its field; nothing sent
        if self.person_id is None:
            est = self.establishment.currentData()
            if self.ctx.installation.is_office and self.establishment.currentIndex() < 0:
                self.errors["establishment_id"].show_error(
                    "Choose where this person is: an establishment, or no establishment (community).")
                self.establishment.setFocus()
                return
            est = None if est == COMMUNITY else est
            fn, args, kwargs = people.create_person, (self.ctx,), {**values, "establishment_id": est}
            self.status.say("Registering…")
        else:
            fn, args, kwargs = people.update_person, (self.ctx, self.person_id), values
            self.status.say("Saving…")
        self.save_button.setEnabled(False)
        self._task = run_task(fn, *args, owner=self, name="save a person", on_result=self._saved,
                              on_error=self._failed, **kwargs)

    def _saved(self, record: Any) -> None:
        self._task = None
        self.record = record
        if self.person_id is None and self.ctx.installation.is_office:
            QSettings().setValue(self._last_establishment_key, self.establishment.currentData())
        self.saved.emit(record)
        self._dirty = False
        self._closing = True
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self._task = None
        self.save_button.setEnabled(True)
        self.status.say("")
        self._show_error(error)

    def _show_error(self, error: BaseException) -> None:
        show_service_error(error, self.general_error, self.errors)
        grow_to_fit(self)

    # -- closing ---------------------------------------------------------------------------

    def has_unsaved_changes(self) -> bool:
        return self._dirty

    def ask_discard(self, on_discard: Callable[[], Any]) -> QMessageBox:
        return confirm_discard(self, on_discard)


class DeletePersonDialog(QDialog):
    """Record that a person was registered in error, with the reason. Emits :attr:`deleted`."""

    deleted = Signal(str)  # the person's id

    def __init__(self, ctx: Context, person_id: str, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.person_id = person_id
        self._task: Task | None = None
        self.setObjectName("deletePersonDialog")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle("Delete person")
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 56)  # wide enough to read
        text = QLabel(
            f"Delete {name}? Do this only if they were registered in error (for example, twice). "
            "Nothing is erased: srcdesk keeps the record marked as deleted, with your reason, and "
            "they no longer appear in lists or searches."
        )
        text.setWordWrap(True)
        text.setObjectName("deleteQuestion")
        self.reason = QLineEdit()
        self.reason.setObjectName("reason")
        self.reason.setAccessibleName("Reason for deleting")
        self.reason.setMaxLength(1000)
        self.reason.setPlaceholderText("e.g. registered twice; the other record is kept")
        label = QLabel("&Reason:")
        label.setBuddy(self.reason)
        self.reason_error = FieldError(self.reason)
        self.reason_error.setObjectName("reasonError")
        self.general_error = FieldError()
        self.general_error.setObjectName("generalError")
        buttons = QDialogButtonBox()
        self.delete_button: QPushButton = buttons.addButton("&Delete person", QDialogButtonBox.ButtonRole.AcceptRole)
        self.delete_button.setObjectName("deleteButton")
        self.delete_button.setAccessibleName("Delete person")
        self.cancel_button = buttons.addButton("Cancel", QDialogButtonBox.ButtonRole.RejectRole)
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setAccessibleName("Cancel")
        # Deleting is never the default: Enter in the reason field does nothing by accident.
        self.cancel_button.setDefault(True)
        self.delete_button.setAutoDefault(False)
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)
        layout = scrolling_layout(self, buttons)
        layout.addWidget(heading("Delete person"))
        layout.addWidget(text)
        layout.addWidget(label)
        layout.addWidget(self.reason)
        layout.addWidget(self.reason_error)
        layout.addWidget(self.general_error)
        self.reason.setFocus()

    def submit(self) -> None:
        if self._task is not None:
            return
        self.reason_error.clear_error()
        self.general_error.clear_error()
        self.delete_button.setEnabled(False)
        self._task = run_task(people.delete_person, self.ctx, self.person_id, self.reason.text(), owner=self,
                              name="delete a person", on_result=self._done, on_error=self._failed)

    def _done(self, _result: object) -> None:
        self._task = None
        self.deleted.emit(self.person_id)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self._task = None
        self.delete_button.setEnabled(True)
        if not isinstance(error, SrcdeskError):
            report_unexpected(error)
        elif isinstance(error, ValidationError) and error.field == "reason":
            self.reason_error.show_error(str(error))
        else:
            self.general_error.show_error(str(error))
        grow_to_fit(self)
