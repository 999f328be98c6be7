"""Signing off a level of the peer-volunteer ladder, and withdrawing or superseding an achievement.

Only a coordinator (or an administrator) can complete these dialogs; anyone else sees the
details, a line saying why they can't, and a disabled button (the service refuses too).
Achievements are never deleted: withdrawing or superseding one keeps it, with the reason.

Each dialog is non-blocking (``show()``/``open()``), emits :attr:`saved` with the service's
record after a successful write (the data bus hears of it from the commit itself).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QDateEdit,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QTableView,
    QWidget,
)

from ..dates import QT_DATE_FORMAT
from ..errors import SrcdeskError, ValidationError
from ..services import ladder
from ..services.base import Context
from ..words import noun_for, plural
from .errors import report_unexpected
from .table_model import Column, RowsTableModel, display
from .tasks import Task, run_task
from .widgets import FieldError, GuardedDialog, StatusNote, confirm, grow_to_fit, heading, scrolling_layout

EVIDENCE_COLUMNS = [
    Column("Date", lambda e: e.date),
    Column("Session", lambda e: e.what),
    Column("Role", lambda e: e.role),
    Column("Status", lambda e: e.status),
]


def _date_edit(name: str, accessible: str, value: dt.date) -> QDateEdit:
    edit = QDateEdit()
    edit.setObjectName(name)
    edit.setAccessibleName(accessible)
    edit.setCalendarPopup(True)
    edit.setDisplayFormat(QT_DATE_FORMAT)  # 31/03/2026, as every date field
    edit.setMaximumDate(QDate(dt.date.today()))
    edit.setDate(QDate(value))
    return edit


def text_edit(name: str, accessible: str, lines: int = 3) -> QPlainTextEdit:
    edit = QPlainTextEdit()
    edit.setObjectName(name)
    edit.setAccessibleName(accessible)
    edit.setTabChangesFocus(True)
    height = edit.fontMetrics().lineSpacing() * lines + 2 * edit.frameWidth() + 8
    edit.setFixedHeight(height)  # from the font, so it scales with it
    return edit


def fit_rows(view: QTableView, max_rows: int, *, min_rows: int = 1) -> None:
    """Size a table to show its rows (between ``min_rows`` and ``max_rows``) without empty space
    below them, and wide enough for its columns; all from the font, so it scales."""
    model = view.model()
    rows = max(min_rows, min(max_rows, model.rowCount()))
    row_height = view.rowHeight(0) if model.rowCount() else view.verticalHeader().defaultSectionSize()
    height = view.horizontalHeader().sizeHint().height() + 2 * view.frameWidth() + rows * row_height
    if model.rowCount() > max_rows or view.horizontalScrollBar().isVisible():
        height += view.horizontalScrollBar().sizeHint().height()
    view.setFixedHeight(height + 2)
    header = view.horizontalHeader()
    width = sum(header.sectionSize(c) for c in range(header.count())) + 2 * view.frameWidth()
    if model.rowCount() > max_rows:
        width += view.verticalScrollBar().sizeHint().width()
    view.setMinimumWidth(width + 2)


def value_label(name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class WriteDialog(GuardedDialog):
    """What the ladder's dialogs (and the certificate dialogs) share: the role check, the button
    row, the background write, errors shown next to their field, and "discard what you typed?"
    on Escape. Subclasses set ``action`` (the permission it needs), ``doing`` (for the role
    line), the accept button, and implement :meth:`write`."""

    saved = Signal(object)  # the service's record written
    action = "milestone.signoff"
    doing = ""  # "sign off milestones", for the role line
    accept_text = ""
    accept_name = ""

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._task: Task | None = None
        self._closing = False
        self.last_message = ""
        self.allowed = ctx.can(self.action)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        self.role_note = value_label("roleNote")
        self.role_note.setText("" if self.allowed else ctx.refusal(self.action, self.doing or None))
        self.role_note.setAccessibleName(self.role_note.text())
        self.role_note.setVisible(not self.allowed)
        self.role_note.setStyleSheet("font-weight: bold;")
        self.error = FieldError()
        self.error.setObjectName("dialogError")
        self.status = StatusNote()
        self.status.setObjectName("status")

        self.buttons = QDialogButtonBox()
        self.accept_button = self.buttons.addButton(self.accept_text, QDialogButtonBox.ButtonRole.AcceptRole)
        self.accept_button.setObjectName(self.accept_name)
        self.accept_button.setAccessibleName(self.accept_text.replace("&", "").rstrip("…"))
        self.accept_button.setDefault(True)
        self.cancel_button: QPushButton = self.buttons.addButton("&Cancel", QDialogButtonBox.ButtonRole.RejectRole)
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setAccessibleName("Cancel")
        self.cancel_button.setAutoDefault(False)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        self._ready = False
        self._update_button()

    # -- state --------------------------------------------------------------------------------

    def can_submit(self) -> bool:
        return self.allowed and self._ready and self._task is None

    def _update_button(self) -> None:
        # It stays the default button while disabled: Enter then does nothing (it never cancels).
        self.accept_button.setEnabled(self.can_submit())
        self.accept_button.setDefault(True)

    def dirty(self) -> bool:
        return False

    def field_errors(self) -> dict[str, FieldError]:
        return {}

    # -- writing --------------------------------------------------------------------------------

    def write(self) -> tuple[Callable[..., Any], tuple, dict]:
        raise NotImplementedError

    def done_message(self, record: Any) -> str:
        return "Saved."

    def submit(self) -> None:
        if not self.can_submit():
            return
        self.error.clear_error()
        for field_error in self.field_errors().values():
            field_error.clear_error()
        fn, args, kwargs = self.write()
        self.status.say("Saving…")
        self._task = run_task(fn, *args, owner=self, on_result=self._written, on_error=self._failed,
                              name=self.accept_name, **kwargs)
        self._update_button()

    def _written(self, record: Any) -> None:
        self._task = None
        self.status.say(self.done_message(record))
        self.last_message = self.done_message(record)
        self.saved.emit(record)
        self._closing = True
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self._task = None
        self.status.say("")
        self._update_button()
        if not isinstance(error, SrcdeskError):
            report_unexpected(error)
            return
        target = self.field_errors().get(error.field) if isinstance(error, ValidationError) else None
        if target is not None:
            target.show_error(str(error))
            if target.field is not None:
                target.field.setFocus()
        else:
            self.error.show_error(str(error))

    # -- closing --------------------------------------------------------------------------------

    def has_unsaved_changes(self) -> bool:
        return self.dirty() and self._task is None

    def ask_discard(self, on_discard: Callable[[], Any]) -> QMessageBox:
        return confirm(self, "Discard what you typed?", "Close without saving what you typed?", "&Discard",
                       on_discard)


class SignOffDialog(WriteDialog):
    """Sign a person off at a level: the rule, the evidence, the date achieved and a note."""

    doing = "sign off milestones"
    accept_text = "&Sign off"
    accept_name = "signOffButton"

    def __init__(self, ctx: Context, person_id: str, definition_id: str, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.person_id, self.definition_id = person_id, definition_id
        self.preview: ladder.SignOffPreview | None = None
        self.setObjectName("signOffDialog")
        self.setWindowTitle("Sign off a milestone")

        self.title = heading("Sign off a milestone")
        self.title.setObjectName("signOffTitle")
        self.person_value = value_label("personValue")
        self.level_value = value_label("levelValue")
        self.rule_value = value_label("ruleValue")
        self.eligibility_value = value_label("eligibilityValue")
        self.evidence_model = RowsTableModel(EVIDENCE_COLUMNS, self)
        self.evidence_view = QTableView()
        self.evidence_view.setObjectName("evidenceView")
        self.evidence_view.setAccessibleName("Evidence: sessions recorded with this milestone")
        self.evidence_view.setModel(self.evidence_model)
        self.evidence_view.verticalHeader().hide()
        self.evidence_view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.evidence_view.horizontalHeader().setStretchLastSection(True)
        self.evidence_view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.evidence_view.setTabKeyNavigation(False)
        self.achieved_on = _date_edit("achievedOn", "Date achieved", dt.date.today())
        self.achieved_error = FieldError(self.achieved_on)
        self.achieved_error.setObjectName("achievedOnError")
        self.note = text_edit("note", "Note")
        self.note_error = FieldError(self.note)
        self.note_error.setObjectName("noteError")
        self.note.textChanged.connect(self._update_button)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Person:", self.person_value)
        form.addRow("Level:", self.level_value)
        form.addRow("Rule:", self.rule_value)
        form.addRow("Eligible:", self.eligibility_value)
        evidence_label = QLabel("E&vidence:")
        evidence_label.setBuddy(self.evidence_view)
        form.addRow(evidence_label, self.evidence_view)
        date_label = QLabel("Date &achieved:")
        date_label.setBuddy(self.achieved_on)
        form.addRow(date_label, self.achieved_on)
        form.addRow("", self.achieved_error)
        note_label = QLabel("&Note:")
        note_label.setBuddy(self.note)
        form.addRow(note_label, self.note)
        form.addRow("", self.note_error)

        layout = scrolling_layout(self, self.buttons)
        layout.addWidget(self.title)
        layout.addWidget(self.role_note)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.status)
        layout.addStretch(1)
        QWidget.setTabOrder(self.evidence_view, self.achieved_on)
        QWidget.setTabOrder(self.achieved_on, self.note)
        QWidget.setTabOrder(self.note, self.accept_button)
        QWidget.setTabOrder(self.accept_button, self.cancel_button)
        self.achieved_on.setFocus()
        self.resize(self.sizeHint().width() + 24 * self.fontMetrics().averageCharWidth(), self.sizeHint().height())

        self.status.say("Loading…")
        run_task(ladder.signoff_preview, ctx, person_id, definition_id, owner=self,
                 on_result=self._loaded, on_error=self._failed, name="sign-off preview")

    @property
    def loaded(self) -> bool:
        return self.preview is not None

    def _loaded(self, preview: ladder.SignOffPreview) -> None:
        self.preview = preview
        self.status.say("")
        self.title.setText(f"Sign off: {preview.level_name}")
        self.title.setAccessibleName(self.title.text())
        self.setWindowTitle(f"Sign off {preview.level_name} — {preview.display_name}")
        self.person_value.setText(preview.display_name)
        self.level_value.setText(f"{preview.level}. {preview.level_name}")
        self.rule_value.setText(preview.rule)
        if preview.held:
            eligibility = "Already held: this level has been signed off."
        elif preview.eligible:
            n = len(preview.evidence)
            eligibility = f"Yes: {noun_for(n, 'this')} {plural(n, 'session')} meet{'s' if n == 1 else ''} the rule."
        else:
            eligibility = "Not yet. " + " ".join(preview.unmet)
        self.eligibility_value.setText(eligibility)
        for label in (self.person_value, self.level_value, self.rule_value, self.eligibility_value):
            label.setAccessibleName(label.text())
        self.evidence_model.set_rows(preview.evidence)
        self.evidence_view.resizeColumnsToContents()
        fit_rows(self.evidence_view, 8)
        self.layout().activate()
        hint = self.sizeHint()
        self.resize(max(self.width(), hint.width()), hint.height())
        if preview.earliest_date:
            self.achieved_on.setMinimumDate(QDate(preview.earliest_date))
        self._ready = preview.eligible
        self._update_button()
        grow_to_fit(self)

    def dirty(self) -> bool:
        return bool(self.note.toPlainText().strip())

    def field_errors(self) -> dict[str, FieldError]:
        return {"achieved_on": self.achieved_error, "notes": self.note_error}

    def write(self) -> tuple[Callable[..., Any], tuple, dict]:
        assert self.preview is not None
        return ladder.sign_off, (self.ctx, self.person_id, self.definition_id), {
            "achieved_on": self.achieved_on.date().toPython(),
            "evidence_session_ids": [e.session_id for e in self.preview.evidence],
            "notes": self.note.toPlainText(),
        }

    def done_message(self, record: Any) -> str:
        name = self.preview.display_name if self.preview else "The person"
        level = self.preview.level_name if self.preview else "the level"
        return f"{name} signed off as {level} on {display(record.achieved_on)}."


class _ChangeAchievementDialog(WriteDialog):
    """Withdraw or supersede: what is changed, and the reason (required)."""

    verb = ""

    def __init__(self, ctx: Context, achievement: ladder.AchievementRow, person_name: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.achievement = achievement
        self.person_name = person_name
        self.title = heading(f"{self.verb} a milestone")
        self.title.setObjectName("changeTitle")
        self.what_value = value_label("achievementValue")
        self.what_value.setText(
            f"{person_name}: {achievement.level_name}, achieved {display(achievement.achieved_on)}, "
            f"signed off by {achievement.signed_off_by or 'unknown'} ({achievement.status}).")
        self.what_value.setAccessibleName(self.what_value.text())
        self.keep_note = value_label("keepNote")
        self.keep_note.setText("Nothing is deleted: the achievement is kept with its status and your reason.")
        self.reason = text_edit("reason", "Reason")
        self.reason_error = FieldError(self.reason)
        self.reason_error.setObjectName("reasonError")
        self.reason.textChanged.connect(self.reason_error.clear_error)
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.addRow("Milestone:", self.what_value)
        reason_label = QLabel("&Reason:")
        reason_label.setBuddy(self.reason)
        self.form.addRow(reason_label, self.reason)
        self.form.addRow("", self.reason_error)
        self._ready = achievement.status == "active"
        if achievement.status != "active":
            self.error.show_error(f"This achievement is already {achievement.status}.")
        self._update_button()

    def _finish_layout(self) -> None:
        layout = scrolling_layout(self, self.buttons)
        layout.addWidget(self.title)
        layout.addWidget(self.role_note)
        layout.addWidget(self.keep_note)
        layout.addLayout(self.form)
        layout.addWidget(self.error)
        layout.addWidget(self.status)
        layout.addStretch(1)
        self.reason.setFocus()
        self.resize(self.sizeHint().width() + 20 * self.fontMetrics().averageCharWidth(), self.sizeHint().height())

    def dirty(self) -> bool:
        return bool(self.reason.toPlainText().strip())


class WithdrawDialog(_ChangeAchievementDialog):
    """Withdraw an achievement with a reason (it is kept, marked withdrawn)."""

    doing = "withdraw milestones"
    verb = "Withdraw"
    accept_text = "&Withdraw"
    accept_name = "withdrawButton"

    def __init__(self, ctx: Context, achievement: ladder.AchievementRow, person_name: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(ctx, achievement, person_name, parent)
        self.setObjectName("withdrawDialog")
        self.setWindowTitle(f"Withdraw {achievement.level_name} — {person_name}")
        self._finish_layout()
        QWidget.setTabOrder(self.reason, self.accept_button)
        QWidget.setTabOrder(self.accept_button, self.cancel_button)

    def field_errors(self) -> dict[str, FieldError]:
        return {"reason": self.reason_error}

    def write(self) -> tuple[Callable[..., Any], tuple, dict]:
        return ladder.withdraw, (self.ctx, self.achievement.id, self.reason.toPlainText()), {}

    def done_message(self, record: Any) -> str:
        return f"{self.achievement.level_name} withdrawn for {self.person_name}."


class SupersedeDialog(_ChangeAchievementDialog):
    """Replace an achievement with a corrected one (a new date or note); the old one is kept."""

    doing = "correct milestones"
    verb = "Supersede"
    accept_text = "S&upersede"
    accept_name = "supersedeButton"

    def __init__(self, ctx: Context, achievement: ladder.AchievementRow, person_name: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(ctx, achievement, person_name, parent)
        self.setObjectName("supersedeDialog")
        self.setWindowTitle(f"Supersede {achievement.level_name} — {person_name}")
        self.achieved_on = _date_edit("achievedOn", "Corrected date achieved", achievement.achieved_on)
        self.achieved_error = FieldError(self.achieved_on)
        self.achieved_error.setObjectName("achievedOnError")
        self.note = text_edit("note", "Note on the corrected achievement", 2)
        self.note.setPlainText(achievement.notes or "")
        self.note_error = FieldError(self.note)
        self.note_error.setObjectName("noteError")
        date_label = QLabel("Corrected &date achieved:")
        date_label.setBuddy(self.achieved_on)
        self.form.addRow(date_label, self.achieved_on)
        self.form.addRow("", self.achieved_error)
        note_label = QLabel("&Note:")
        note_label.setBuddy(self.note)
        self.form.addRow(note_label, self.note)
        self.form.addRow("", self.note_error)
        self.keep_note.setText("Nothing is deleted: the old achievement is kept, marked superseded with your "
                               "reason, and a corrected one takes its place with the same evidence.")
        self._finish_layout()
        QWidget.setTabOrder(self.reason, self.achieved_on)
        QWidget.setTabOrder(self.achieved_on, self.note)
        QWidget.setTabOrder(self.note, self.accept_button)
        QWidget.setTabOrder(self.accept_button, self.cancel_button)

    def field_errors(self) -> dict[str, FieldError]:
        return {"reason": self.reason_error, "achieved_on": self.achieved_error, "notes": self.note_error}

    def write(self) -> tuple[Callable[..., Any], tuple, dict]:
        return ladder.supersede, (self.ctx, self.achievement.id, self.reason.toPlainText()), {
            "achieved_on": self.achieved_on.date().toPython(), "notes": self.note.toPlainText()}

    def done_message(self, record: Any) -> str:
        return (f"{self.achievement.level_name} superseded for {self.person_name}: now achieved "
                f"{display(record.achieved_on)}.")
