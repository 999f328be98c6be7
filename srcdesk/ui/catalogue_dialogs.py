"""Dialogs for the reference data coordinators edit: programmes, modules, activity types, the
ladder's levels (with a form for their rules), and deleting something never used.

Every dialog is non-blocking (``show()``/``open()``), saves through :mod:`srcdesk.services.catalogue`
in the background, shows a :class:`~srcdesk.errors.ValidationError` under the field it names,
emits ``saved`` after a successful write (the data bus hears of it from the commit itself).
Escape or Cancel with unsaved changes asks first (:func:`confirm`, which tests may monkeypatch).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QRadioButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..errors import ValidationError
from ..models import ActivityType, AttendanceRole, MilestoneDefinition, Module, Programme
from ..services import catalogue
from ..services.base import Context
from ..services.completion import ALL, describe_level_rules, parse_rule, validate_completion_rule
from .tasks import Task, run_task
from .widgets import (
    FieldError,
    GuardedDialog,
    StatusNote,
    confirm,
    grow_to_fit,
    heading,
    scrolling_layout,
    show_problems,
    show_service_error,
)

LABELS = {Programme: "programme", Module: "module", ActivityType: "activity type",
          MilestoneDefinition: "ladder level"}
PROGRAMME_KINDS = [("programme", "Programme"), ("award", "Award (e.g. an SVQ)")]


# -- confirmations ---------------------------------------------------------------------------------

# -- the shared shape of an editing dialog ---------------------------------------------------------

class FormDialog(GuardedDialog):
    """A heading, rows of label / field / error-under-the-field, a message line, Save and Cancel.

    Subclasses add rows with :meth:`add_row`, implement :meth:`work` (returns ``(fn, args)``
    to run in the background, or raises ValidationError for what they can check at once) and
    :meth:`done_message`. ``saved`` carries the service's result.
    """

    saved = Signal(object)  # the service's result
    savedMessage = Signal(str)  # what happened, in a sentence (done_message)

    def __init__(self, ctx: Context, title: str, heading_text: str, save_text: str = "&Save",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(title)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._task: Task | None = None
        self._dirty = False
        self._closing = False
        self.result_value: Any = None
        self.errors: dict[str, FieldError] = {}
        self._fields: list[QWidget] = []

        self.heading = heading(heading_text)
        self.grid = QGridLayout()
        self.grid.setColumnStretch(1, 1)
        self.general_error = FieldError()
        self.general_error.setObjectName("generalError")
        self.status = StatusNote()
        self.status.setObjectName("status")
        self.buttons = QDialogButtonBox()
        self.save_button = self.buttons.addButton(save_text, QDialogButtonBox.ButtonRole.AcceptRole)
        self.save_button.setObjectName("saveButton")
        self.save_button.setAccessibleName(save_text.replace("&", "").rstrip("…"))
        self.save_button.setDefault(True)
        self.cancel_button = self.buttons.addButton("Cancel", QDialogButtonBox.ButtonRole.RejectRole)
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setAccessibleName("Cancel")
        self.cancel_button.setAutoDefault(False)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)

        self.layout_ = scrolling_layout(self, self.buttons)
        # the dialog is never narrower than what its rows need (at any scaling)
        self.layout_.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        self.layout_.addWidget(self.heading)
        self.layout_.addLayout(self.grid)
        self.layout_.addWidget(self.general_error)
        self.layout_.addWidget(self.status)
        self.layout_.addStretch(1)

    # -- building ---------------------------------------------------------------------------

    def add_row(self, text: str, field: QWidget, error_key: str | None, name: str,
                accessible: str | None = None) -> QWidget:
        row = self.grid.rowCount()
        label = QLabel(text)
        label.setBuddy(field)
        label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop
                           if isinstance(field, (QPlainTextEdit, QGroupBox))
                           else Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        field.setObjectName(name)
        field.setAccessibleName(accessible or text.replace("&", "").rstrip(":"))
        self.grid.addWidget(label, row, 0)
        self.grid.addWidget(field, row, 1)
        if error_key is not None:
            error = FieldError(field)
            error.setObjectName(f"{name}Error")
            self.grid.addWidget(error, row + 1, 1)
            self.errors[error_key] = error
        self._fields.append(field)
        self._watch(field)
        return field

    def _watch(self, field: QWidget) -> None:
        if isinstance(field, QLineEdit):
            field.textEdited.connect(self._changed)
        elif isinstance(field, QPlainTextEdit):
            field.textChanged.connect(self._changed)
        elif isinstance(field, QSpinBox):
            field.valueChanged.connect(self._changed)
        elif isinstance(field, QComboBox):
            field.activated.connect(self._changed)
        elif isinstance(field, QCheckBox):
            field.toggled.connect(self._changed)

    def finish_layout(self) -> None:
        """Tab order: the fields in order, then Save and Cancel."""
        chain = [*self._fields, self.save_button, self.cancel_button]
        for first, second in zip(chain, chain[1:], strict=False):
            QWidget.setTabOrder(first, second)
        if self._fields:
            self._fields[0].setFocus()
        self._dirty = False

    @property
    def first_field(self) -> QWidget | None:
        return self._fields[0] if self._fields else None

    def _changed(self, *_: Any) -> None:
        self._dirty = True

    @property
    def dirty(self) -> bool:
        return self._dirty

    # -- saving -----------------------------------------------------------------------------

    def work(self) -> tuple[Callable[..., Any], tuple, dict]:
        raise NotImplementedError

    def done_message(self, result: Any) -> str:
        return "Saved."

    @property
    def busy(self) -> bool:
        return self._task is not None

    def clear_errors(self) -> None:
        for error in self.errors.values():
            error.clear_error()
        self.general_error.clear_error()

    def show_error(self, error: BaseException) -> None:
        show_service_error(error, self.general_error, self.errors)
        grow_to_fit(self)

    def problems(self) -> list[ValidationError]:
        """What can be seen to be wrong before saving, every problem at once (each is shown
        under its field); subclasses check what they can."""
        return []

    def submit(self) -> None:
        if self.busy:
            return
        self.clear_errors()
        if show_problems(self.problems(), self.general_error, self.errors):
            grow_to_fit(self)
            return
        try:
            fn, args, kwargs = self.work()
        except ValidationError as error:
            self.show_error(error)
            return
        self._set_busy(True)
        self.status.say("Saving…")
        # partial: the values may include "name", which run_task keeps for the task's own name
        self._task = run_task(partial(fn, *args, **kwargs), owner=self, on_result=self._succeeded,
                              on_error=self._failed, name=self.windowTitle())

    def _set_busy(self, busy: bool) -> None:
        self.save_button.setEnabled(not busy)
        if not busy:
            self.save_button.setDefault(True)

    def _succeeded(self, result: Any) -> None:
        self._task = None
        self._set_busy(False)
        self.status.say("")
        self.result_value = result
        self.saved.emit(result)
        self.savedMessage.emit(self.done_message(result))
        self._dirty = False
        self._closing = True
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self._task = None
        self._set_busy(False)
        self.status.say("")
        self.show_error(error)

    def has_unsaved_changes(self) -> bool:
        return self._dirty


class ReasonedDialog(FormDialog):
    """A form that needs a reason (the ``reason`` field) and then asks once more before saving:
    revoking an installation, removing a workplan target. Subclasses give :meth:`reason_text`,
    :attr:`missing_reason` and :meth:`question`; the last question asked is ``question_box``."""

    missing_reason = "Say why."
    question_box: Any = None
    _confirmed = False

    def reason_text(self) -> str:
        raise NotImplementedError

    def question(self) -> tuple[str, str, str, str, str]:
        """(title, text, yes, no, informative) of the question asked before saving."""
        raise NotImplementedError

    def submit(self) -> None:
        if self.busy:
            return
        if self._confirmed:
            self._confirmed = False
            super().submit()
            return
        self.clear_errors()
        if not self.reason_text().strip():
            self.show_error(ValidationError(self.missing_reason, "reason"))
            return
        title, text, yes, no, informative = self.question()
        self.question_box = confirm(self, title, text, yes, self._confirm, no_text=no, informative=informative)

    def _confirm(self) -> None:
        self._confirmed = True
        self.submit()


def _line(text: str = "", max_len: int = 200) -> QLineEdit:
    edit = QLineEdit(text or "")
    edit.setMaxLength(max_len)
    return edit


def _description(text: str | None) -> QPlainTextEdit:
    edit = QPlainTextEdit(text or "")
    edit.setTabChangesFocus(True)
    lines = edit.fontMetrics().lineSpacing()
    edit.setMinimumHeight(lines * 3)
    edit.setMaximumHeight(lines * 6)
    return edit


def _order(value: int) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(0, 1000)
    spin.setValue(value)
    return spin


# -- programmes, modules, activity types -----------------------------------------------------------

class CatalogueItemDialog(FormDialog):
    """Add or edit a programme, a module of a programme, or an activity type.

    ``item`` is the record being edited (None to add). For a module, ``programme`` is the
    programme record it belongs to.
    """

    def __init__(self, ctx: Context, model: type, item: Any = None, *, programme: Any = None,
                 parent: QWidget | None = None) -> None:
        label = LABELS[model]
        self.model = model
        self.item = item
        self.programme = programme
        adding = item is None
        title = f"Add a {label}" if adding else f"Edit {label} {item.code}"
        super().__init__(ctx, title, title, "&Add" if adding else "&Save", parent)
        self.setObjectName(f"{model.__name__[0].lower()}{model.__name__[1:]}Dialog")

        if model is Module:
            owner = QLabel(f"{programme.name} ({programme.code})")
            owner.setWordWrap(True)
            owner.setObjectName("programmeLabel")
            owner.setAccessibleName(f"Programme: {programme.name}")
            row = self.grid.rowCount()
            self.grid.addWidget(QLabel("Programme:"), row, 0, Qt.AlignmentFlag.AlignRight)
            self.grid.addWidget(owner, row, 1)
        self.code = self.add_row("&Code:", _line(getattr(item, "code", ""), 20), "code", "code")
        self.code.setPlaceholderText("letters, digits, - or _")
        self.name = self.add_row("&Name:", _line(getattr(item, "name", "")), "name", "name")
        self.kind: QComboBox | None = None
        self.order: QSpinBox | None = None
        if model is Programme:
            self.kind = QComboBox()
            for value, text in PROGRAMME_KINDS:
                self.kind.addItem(text, value)
            self.kind.setCurrentIndex(max(0, self.kind.findData(getattr(item, "kind", "programme"))))
            self.add_row("&Kind:", self.kind, "kind", "kind")
        if model is Module:
            self.order = self.add_row("&Order:", _order(getattr(item, "sequence", 0) or 0), "sequence", "order",
                                      "Order in the programme")
            self.order.setSpecialValueText("next" if adding else "")
            if adding:
                self.order.setValue(0)
                self.order.setToolTip("Where the module comes in the programme; 'next' puts it last.")
        self.description = self.add_row("&Description:", _description(getattr(item, "description", "")),
                                        "description", "description")
        self.rule_editor: CompletionRuleEditor | None = None
        if model in (Programme, Module):
            self.rule_editor = CompletionRuleEditor(getattr(item, "completion_rule", None), programme=model is Programme)
            row = self.grid.rowCount()
            self.grid.addWidget(self.rule_editor, row, 0, 1, 2)
            rule_error = FieldError(self.rule_editor)
            rule_error.setObjectName("completionRuleError")
            self.grid.addWidget(rule_error, row + 1, 0, 1, 2)
            self.errors["completion_rule"] = rule_error
            self.rule_editor.changed.connect(self._changed)
            self._fields.extend(self.rule_editor.chain())
        self.finish_layout()

    def values(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            "code": self.code.text().strip(),
            "name": self.name.text(),
            "description": self.description.toPlainText(),
        }
        if self.kind is not None:
            values["kind"] = self.kind.currentData()
        if self.order is not None and (self.item is not None or self.order.value() > 0):
            values["sequence"] = self.order.value()
        if self.rule_editor is not None:
            values["completion_rule"] = self.rule_editor.rule()
        return values

    def work(self) -> tuple[Callable[..., Any], tuple, dict]:
        values = self.values()
        if self.rule_editor is not None:  # says at once what the service would refuse
            validate_completion_rule(values["completion_rule"], programme=self.model is Programme)
        if self.item is None:
            if self.model is Module:
                values["programme_id"] = self.programme.id
            return catalogue.create, (self.ctx, self.model), values
        return catalogue.update, (self.ctx, self.model, self.item.id), values

    def done_message(self, result: Any) -> str:
        verb = "Added" if self.item is None else "Saved"
        return f"{verb} {LABELS[self.model]} {result.code} — {result.name}."


class CompletionRuleEditor(QGroupBox):
    """When someone has completed a programme or module (:mod:`srcdesk.services.completion`):
    no rule, attended at least N sessions (optionally within D days), or (a programme) every
    module completed. Who meets the rule is listed as due a certificate."""

    changed = Signal()

    def __init__(self, rule: str | None, *, programme: bool, parent: QWidget | None = None) -> None:
        super().__init__("Completed when", parent)
        self.setObjectName("completionRule")
        self.programme = programme
        current = parse_rule(rule) or {}
        self.no_rule = QRadioButton("No r&ule (nobody is listed as due a certificate)")
        self.no_rule.setObjectName("noRule")
        self.attended_rule = QRadioButton("Attended at &least")
        self.attended_rule.setObjectName("attendedRule")
        self.attended = QSpinBox()
        self.attended.setObjectName("ruleSessions")
        self.attended.setRange(1, 10000)
        self.attended.setValue(int(current.get("attended_sessions", 1)))
        self.use_within = QCheckBox("wit&hin")
        self.use_within.setObjectName("ruleUseWithin")
        self.within = QSpinBox()
        self.within.setObjectName("ruleWithinDays")
        self.within.setRange(1, 10000)
        self.within.setValue(int(current.get("within_days") or 84))
        self.use_within.setChecked(bool(current.get("within_days")))
        self.all_modules = QRadioButton("Every &module completed (each by its own rule; retired ones not needed)")
        self.all_modules.setObjectName("allModulesRule")
        for widget, name in ((self.no_rule, "No rule"), (self.attended_rule, "Attended at least, sessions"),
                             (self.attended, "Number of sessions"), (self.use_within, "Within a number of days"),
                             (self.within, "Days"), (self.all_modules, "Every module completed")):
            widget.setAccessibleName(name)
        for widget in (self.attended_rule, self.attended, self.use_within, self.within):
            widget.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

        column = QVBoxLayout(self)
        column.addWidget(self.no_rule)
        line = QHBoxLayout()
        for w in (self.attended_rule, self.attended,
                  QLabel("sessions of any of its modules" if programme else "sessions of this module"),
                  self.use_within, self.within, QLabel("days")):
            line.addWidget(w)
        line.addStretch(1)
        column.addLayout(line)
        column.addWidget(self.all_modules)
        self.all_modules.setVisible(programme)

        if current.get("modules_completed") == ALL and programme:
            self.all_modules.setChecked(True)
        elif "attended_sessions" in current:
            self.attended_rule.setChecked(True)
        else:
            self.no_rule.setChecked(True)
        for button in (self.no_rule, self.attended_rule, self.all_modules, self.use_within):
            button.toggled.connect(self._enable)
            button.toggled.connect(self.changed)
        for spin in (self.attended, self.within):
            spin.valueChanged.connect(self.changed)
        self._enable()

    def chain(self) -> list[QWidget]:
        return [self.no_rule, self.attended_rule, self.attended, self.use_within, self.within,
                *([self.all_modules] if self.programme else [])]

    def _enable(self) -> None:
        attended = self.attended_rule.isChecked()
        self.attended.setEnabled(attended)
        self.use_within.setEnabled(attended)
        self.within.setEnabled(attended and self.use_within.isChecked())

    def rule(self) -> dict[str, Any] | None:
        """The rule as a dict (None: no rule)."""
        if self.all_modules.isChecked() and self.programme:
            return {"modules_completed": ALL}
        if self.attended_rule.isChecked():
            rule: dict[str, Any] = {"attended_sessions": self.attended.value()}
            if self.use_within.isChecked():
                rule["within_days"] = self.within.value()
            return rule
        return None


# -- the ladder ------------------------------------------------------------------------------------

def describe_rules(rules: str | dict, roles: dict[str, tuple[int, str]] | None = None,
                   programme_names: dict[str, str] | None = None) -> str:
    """The rules of a ladder level in words, as everywhere (:func:`completion.describe_level_rules`):
    ``roles`` code -> (order, name), ``programme_names`` code -> name, as loaded by the page."""
    return describe_level_rules(rules, roles or {}, programme_names)


class RulesEditor(QGroupBox):
    """A form for a ladder level's rules (the vocabulary of :func:`catalogue.validate_rules`):

    * attended at least N sessions, optionally within D days;
    * at least N sessions in one of the chosen attendance roles;
    * completed a programme.
    """

    changed = Signal()

    def __init__(self, rules: str | None, parent: QWidget | None = None) -> None:
        super().__init__("Conditions for this level", parent)
        try:
            current = json.loads(rules or "{}")
        except ValueError:
            current = {}
        self._current = current if isinstance(current, dict) else {}

        self.use_attended = QCheckBox("Attended at &least")
        self.use_attended.setObjectName("useAttended")
        self.attended = QSpinBox()
        self.attended.setObjectName("attendedSessions")
        self.attended.setRange(1, 10000)
        self.use_within = QCheckBox("&within")
        self.use_within.setObjectName("useWithin")
        self.within = QSpinBox()
        self.within.setObjectName("withinDays")
        self.within.setRange(1, 10000)

        self.use_role = QCheckBox("At least")
        self.use_role.setObjectName("useRoleSessions")
        self.role_count = QSpinBox()
        self.role_count.setObjectName("roleCount")
        self.role_count.setRange(1, 10000)
        self.roles = QListWidget()
        self.roles.setObjectName("roles")
        self.roles.setAccessibleName("Roles that count")
        self.roles.setMaximumHeight(self.roles.fontMetrics().lineSpacing() * 7)

        self.use_programme = QCheckBox("Has &completed the programme")
        self.use_programme.setObjectName("useProgramme")
        self.programme = QComboBox()
        self.programme.setObjectName("programmeCompleted")
        self.programme.setPlaceholderText("Loading…")

        for widget, name in ((self.use_attended, "Attended at least, sessions"),
                             (self.attended, "Number of sessions attended"),
                             (self.use_within, "Within a number of days"),
                             (self.within, "Days"),
                             (self.use_role, "At least, sessions in a role"),
                             (self.role_count, "Number of sessions in the role"),
                             (self.use_programme, "Has completed the programme"),
                             (self.programme, "Programme completed")):
            widget.setAccessibleName(name)

        attended = self._current.get("attended_sessions")
        self.use_attended.setChecked(attended is not None)
        self.attended.setValue(attended or 1)
        within = self._current.get("within_days")
        self.use_within.setChecked(within is not None)
        self.within.setValue(within or 90)
        rs = self._current.get("role_sessions") or {}
        self.use_role.setChecked(bool(rs))
        self.role_count.setValue(rs.get("count", 1) if isinstance(rs, dict) else 1)

        for widget in (self.use_attended, self.attended, self.use_within, self.within, self.use_role,
                       self.role_count, self.use_programme):
            widget.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

        def row(*widgets: QWidget | str) -> QHBoxLayout:
            line = QHBoxLayout()
            for w in widgets:
                line.addWidget(QLabel(w) if isinstance(w, str) else w)
            line.addStretch(1)
            return line

        column = QVBoxLayout(self)
        column.addLayout(row(self.use_attended, self.attended, "sessions", self.use_within, self.within, "days"))
        column.addLayout(row(self.use_role, self.role_count, "sessions in one of these roles:"))
        roles_row = QHBoxLayout()
        roles_row.addSpacing(self.use_role.sizeHint().height() + 6)
        roles_row.addWidget(self.roles, 1)
        column.addLayout(roles_row)
        programme_row = QHBoxLayout()
        programme_row.addWidget(self.use_programme)
        programme_row.addWidget(self.programme, 1)
        column.addLayout(programme_row)

        for box in (self.use_attended, self.use_within, self.use_role, self.use_programme):
            box.toggled.connect(self._enable)
            box.toggled.connect(self.changed)
        for spin in (self.attended, self.within, self.role_count):
            spin.valueChanged.connect(self.changed)
        self.roles.itemChanged.connect(self.changed)
        self.programme.activated.connect(self.changed)
        self._enable()

    def chain(self) -> list[QWidget]:
        return [self.use_attended, self.attended, self.use_within, self.within, self.use_role,
                self.role_count, self.roles, self.use_programme, self.programme]

    def set_choices(self, roles: list[Any], programmes: list[Any]) -> None:
        """Fill the role list and the programme list (loaded in the background by the dialog)."""
        wanted = set((self._current.get("role_sessions") or {}).get("roles", []))
        self.roles.blockSignals(True)
        self.roles.clear()
        known = set()
        for role in roles:
            item = QListWidgetItem(role.name)
            item.setData(Qt.ItemDataRole.UserRole, role.code)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if role.code in wanted else Qt.CheckState.Unchecked)
            self.roles.addItem(item)
            known.add(role.code)
        for code in sorted(wanted - known):  # a retired role still in the rules: keep it visible
            item = QListWidgetItem(f"{code} (retired)")
            item.setData(Qt.ItemDataRole.UserRole, code)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.roles.addItem(item)
        self.roles.blockSignals(False)
        self.programme.clear()
        self.programme.setPlaceholderText("Choose a programme")
        for p in programmes:
            self.programme.addItem(f"{p.name} ({p.code})", p.code)
        code = self._current.get("programme_completed")
        if code is not None and self.programme.findData(code) < 0:
            self.programme.addItem(code, code)
        self.use_programme.setChecked(code is not None)
        self.programme.setCurrentIndex(self.programme.findData(code) if code is not None else -1)
        self._enable()

    def _enable(self) -> None:
        self.attended.setEnabled(self.use_attended.isChecked())
        self.use_within.setEnabled(self.use_attended.isChecked())
        self.within.setEnabled(self.use_attended.isChecked() and self.use_within.isChecked())
        self.role_count.setEnabled(self.use_role.isChecked())
        self.roles.setEnabled(self.use_role.isChecked())
        self.programme.setEnabled(self.use_programme.isChecked())

    def set_role_checked(self, code: str, checked: bool = True) -> None:
        for i in range(self.roles.count()):
            item = self.roles.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == code:
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)

    def rules(self) -> dict[str, Any]:
        """The rules as a dict; ValidationError (field ``rules``) for what the form can tell."""
        rules: dict[str, Any] = {}
        if self.use_attended.isChecked():
            rules["attended_sessions"] = self.attended.value()
            if self.use_within.isChecked():
                rules["within_days"] = self.within.value()
        if self.use_role.isChecked():
            roles = [self.roles.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.roles.count())
                     if self.roles.item(i).checkState() == Qt.CheckState.Checked]
            if not roles:
                raise ValidationError("Tick at least one role that counts.", "rules")
            rules["role_sessions"] = {"roles": roles, "count": self.role_count.value()}
        if self.use_programme.isChecked():
            code = self.programme.currentData()
            if not code:
                raise ValidationError("Choose the programme that must be completed.", "rules")
            rules["programme_completed"] = code
        return rules


class LadderLevelDialog(FormDialog):
    """Add or edit one level of the peer-volunteer ladder, its rules with a form."""

    def __init__(self, ctx: Context, item: Any = None, parent: QWidget | None = None) -> None:
        adding = item is None
        title = "Add a ladder level" if adding else f"Edit ladder level {item.name}"
        super().__init__(ctx, title, title, "&Add" if adding else "&Save", parent)
        self.setObjectName("ladderLevelDialog")
        self.item = item
        self.code = self.add_row("&Code:", _line(getattr(item, "code", ""), 30), "code", "code")
        self.name = self.add_row("&Name:", _line(getattr(item, "name", ""), 120), "name", "name")
        self.level = self.add_row("&Level:", _order(getattr(item, "level", 0) or 0), "level", "level",
                                  "Level on the ladder")
        if adding:
            self.level.setSpecialValueText("top")
            self.level.setToolTip("Where the level comes on the ladder; 'top' puts it above the others.")
        self.description = self.add_row("&Description:", _description(getattr(item, "description", "")),
                                        "description", "description")
        self.rules_editor = RulesEditor(getattr(item, "rules", "{}"))
        row = self.grid.rowCount()
        self.grid.addWidget(self.rules_editor, row, 0, 1, 2)
        rules_error = FieldError(self.rules_editor)
        rules_error.setObjectName("rulesError")
        self.grid.addWidget(rules_error, row + 1, 0, 1, 2)
        self.errors["rules"] = rules_error
        self.rules_editor.changed.connect(self._changed)
        self._fields.extend(self.rules_editor.chain())
        self.choices_loaded = False
        self.save_button.setEnabled(False)
        self.status.say("Loading the roles and programmes…")
        run_task(self._load_choices, ctx, owner=self, on_result=self._choices, on_error=self._failed_choices,
                 name="load roles and programmes")
        self.finish_layout()

    @staticmethod
    def _load_choices(ctx: Context) -> tuple[list[Any], list[Any]]:
        return catalogue.list_all(ctx, AttendanceRole), catalogue.list_all(ctx, Programme)

    def _choices(self, loaded: tuple[list[Any], list[Any]]) -> None:
        self.rules_editor.set_choices(*loaded)
        self.choices_loaded = True
        self.status.say("")
        self.save_button.setEnabled(True)
        self.save_button.setDefault(True)
        self._dirty = False

    def _failed_choices(self, error: BaseException) -> None:
        self.status.say("")
        self.show_error(error)

    def work(self) -> tuple[Callable[..., Any], tuple, dict]:
        rules = self.rules_editor.rules()
        catalogue.validate_rules(rules)  # says at once what the service would refuse
        values: dict[str, Any] = {"code": self.code.text().strip(), "name": self.name.text(),
                                  "description": self.description.toPlainText(), "rules": rules}
        if self.item is not None or self.level.value() > 0:
            values["level"] = self.level.value()
        if self.item is None:
            return catalogue.create, (self.ctx, MilestoneDefinition), values
        return catalogue.update, (self.ctx, MilestoneDefinition, self.item.id), values

    def done_message(self, result: Any) -> str:
        verb = "Added" if self.item is None else "Saved"
        return f"{verb} ladder level {result.level}: {result.name}."


# -- deleting something never used -----------------------------------------------------------------

class DeleteDialog(FormDialog):
    """Delete a catalogue row that nothing uses, saying why (the reason travels with the deletion)."""

    def __init__(self, ctx: Context, model: type, item: Any, parent: QWidget | None = None) -> None:
        label = LABELS.get(model) or catalogue.KINDS[model][0]
        super().__init__(ctx, f"Delete a {label}", f"Delete {label} {item.code} — {item.name}?", "&Delete",
                         parent)
        self.setObjectName("deleteDialog")
        self.model = model
        self.item = item
        note = QLabel(f"Nothing uses this {label}, so it can be deleted. Other installations delete it too "
                      "when they next receive your changes. Say why it is being deleted.")
        note.setWordWrap(True)
        self.layout_.insertWidget(1, note)
        self.reason = self.add_row("&Reason:", _line("", 500), "reason", "reason", "Reason for deleting")
        self.reason.setPlaceholderText("e.g. added by mistake")
        self.save_button.setDefault(True)
        self.finish_layout()

    def work(self) -> tuple[Callable[..., Any], tuple, dict]:
        reason = self.reason.text().strip()
        if not reason:
            raise ValidationError("Say why this is being deleted.", "reason")
        return catalogue.delete, (self.ctx, self.model, self.item.id, reason), {}

    def done_message(self, result: Any) -> str:
        return f"Deleted {LABELS.get(self.model, 'item')} {self.item.code} — {self.item.name}."


def open_dialog(dialog: QDialog) -> QDialog:
    """Show a dialog window-modal without blocking, sized to its contents."""
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    width = max(dialog.sizeHint().width(), dialog.fontMetrics().averageCharWidth() * 64)
    dialog.resize(width, dialog.sizeHint().height())
    dialog.show()
    grow_to_fit(dialog)
    dialog.raise_()
    dialog.activateWindow()
    first = getattr(dialog, "first_field", None)
    if first is not None:
        first.setFocus()
    return dialog


__all__ = ["CatalogueItemDialog", "CompletionRuleEditor", "DeleteDialog", "FormDialog", "LadderLevelDialog",
           "RulesEditor",
           "describe_rules", "open_dialog"]
