"""Conflicts: settle one with a value of one's own, starting from the current one."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QGridLayout, QLabel, QLineEdit, QPlainTextEdit, QSpinBox, QWidget

from ...dates import DATE_HINT, date_wanted, numeric_date, parse_typed_date
from ...errors import ValidationError
from ...services import conflicts as conflict_service
from ...services.base import Context
from ...services.conflicts import ConflictItem, Side
from ..catalogue_dialogs import FormDialog
from .text import local_time
from .views import note

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
                field.setPlaceholderText(DATE_HINT)
                try:  # shown as people write it, as everywhere else
                    field.setText(numeric_date(dt.date.fromisoformat(str(current))) if current else "")
                except ValueError:
                    pass
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
                return parse_typed_date(text).isoformat()
            except ValueError:
                raise ValidationError(date_wanted(self.item.field_label), "value") from None
        return text

    def work(self) -> tuple[Callable[..., Any], tuple, dict]:
        return conflict_service.resolve_conflict, (self.ctx, self.item.id, "edit", self.new_value()), {}

    def done_message(self, result: Any) -> str:
        return f"Saved your value for the {self.item.field_label.lower()} of {self.item.record}."
