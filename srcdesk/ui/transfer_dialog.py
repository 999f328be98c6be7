"""Transfer a person to another establishment (or record that they left custody).

A form over :func:`srcdesk.services.people.transfer_person`: the establishments (closed ones
left out) load in the background; the date defaults to today and can't be in the future.
Service errors appear under the field they name. On success it emits :attr:`TransferDialog.transferred` with the new history entry.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from ..dates import QT_DATE_FORMAT
from ..services.base import Context
from ..services.estate import establishments
from ..services.people import transfer_person
from .tasks import Task, run_task
from .widgets import (
    FieldError,
    StatusNote,
    fit_placeholder,
    grow_to_fit,
    heading,
    scrolling_layout,
    show_service_error,
)

LEFT_CUSTODY = "left custody"


class TransferDialog(QDialog):
    """Move ``person`` (a Person record) elsewhere. Emits :attr:`transferred`."""

    transferred = Signal(object)  # the PersonTransfer record

    def __init__(self, ctx: Context, person: Any, parent: QWidget | None = None,
                 *, current_name: str | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.person = person
        self._task: Task | None = None
        self._loaded = False
        self.setObjectName("transferDialog")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        name = f"{person.given_name} {person.family_name}"
        self.setWindowTitle(f"Transfer {name}")
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 56)  # wide enough to read

        where = current_name or ("no establishment" if person.establishment_id is None else "their establishment")
        intro = QLabel(f"{name} is now at {where}. Their history here is kept.")
        intro.setObjectName("transferIntro")
        intro.setWordWrap(True)

        self.destination = QComboBox()
        self.destination.setObjectName("destination")
        self.destination.setAccessibleName("Transfer to")
        self.destination.setPlaceholderText("Loading the establishments…")
        self.destination.setEnabled(False)
        self.destination.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.date = QDateEdit()
        self.date.setObjectName("transferDate")
        self.date.setAccessibleName("Date of transfer")
        self.date.setCalendarPopup(True)
        self.date.setDisplayFormat(QT_DATE_FORMAT)  # 31/03/2026, as every date field
        today = QDate.currentDate()
        self.date.setMaximumDate(today)
        self.date.setDate(today)
        self.reason = QLineEdit()
        self.reason.setObjectName("reason")
        self.reason.setAccessibleName("Reason")
        self.reason.setMaxLength(1000)
        self.reason.setPlaceholderText("optional, e.g. closer to family; liberated")
        fit_placeholder(self.reason)

        self.errors: dict[str, FieldError] = {}
        grid = QGridLayout()
        grid.setColumnStretch(1, 1)
        for i, (text, field, key) in enumerate((
            ("Transfer &to:", self.destination, "to_establishment_id"),
            ("&Date:", self.date, "on"),
            ("&Reason:", self.reason, "reason"),
        )):
            label = QLabel(text)
            label.setBuddy(field)
            error = FieldError(field)
            error.setObjectName(f"{field.objectName()}Error")
            self.errors[key] = error
            grid.addWidget(label, 2 * i, 0)
            grid.addWidget(field, 2 * i, 1)
            grid.addWidget(error, 2 * i + 1, 1)

        self.general_error = FieldError()
        self.general_error.setObjectName("generalError")
        self.status = StatusNote()
        self.status.setObjectName("status")
        buttons = QDialogButtonBox()
        self.transfer_button = buttons.addButton("&Transfer", QDialogButtonBox.ButtonRole.AcceptRole)
        self.transfer_button.setObjectName("transferButton")
        self.transfer_button.setAccessibleName("Transfer")
        self.transfer_button.setDefault(True)
        self.transfer_button.setAutoDefault(False)
        self.transfer_button.setEnabled(False)
        self.cancel_button = buttons.addButton("Cancel", QDialogButtonBox.ButtonRole.RejectRole)
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setAccessibleName("Cancel")
        self.cancel_button.setAutoDefault(False)
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)

        layout = scrolling_layout(self, buttons)
        layout.addWidget(heading(f"Transfer {name}"))
        layout.addWidget(intro)
        layout.addLayout(grid)
        layout.addWidget(self.general_error)
        layout.addWidget(self.status)
        layout.addStretch(1)
        self.setTabOrder(self.destination, self.date)
        self.setTabOrder(self.date, self.reason)
        self.setTabOrder(self.reason, self.transfer_button)
        self.setTabOrder(self.transfer_button, self.cancel_button)

        run_task(establishments, ctx, owner=self, name="load establishments",
                 on_result=self._establishments_loaded, on_error=self._show_error)

    def _establishments_loaded(self, rows: list[Any]) -> None:
        self.destination.clear()
        for est in rows:
            if est.id != self.person.establishment_id:
                self.destination.addItem(f"{est.name} ({est.code})", est.id)
        if self.person.establishment_id is not None:
            self.destination.addItem("Left custody (no establishment)", LEFT_CUSTODY)
        self.destination.setCurrentIndex(-1)
        self.destination.setPlaceholderText("Choose where they went")
        self.destination.setEnabled(True)
        self.transfer_button.setEnabled(True)
        self._loaded = True
        self.destination.setFocus()

    def choose(self, code_or_name: str) -> bool:
        """Select a destination by establishment code or name (for tests and scripts)."""
        wanted = code_or_name.casefold()
        for i in range(self.destination.count()):
            text = self.destination.itemText(i).casefold()
            if text == wanted or text.endswith(f"({wanted})") or text.startswith(wanted):
                self.destination.setCurrentIndex(i)
                return True
        return False

    def submit(self) -> None:
        if self._task is not None or not self._loaded:
            return
        for error in self.errors.values():
            error.clear_error()
        self.general_error.clear_error()
        if self.destination.currentIndex() < 0:
            self.errors["to_establishment_id"].show_error("Choose where the person went.")
            self.destination.setFocus()
            return
        data = self.destination.currentData()
        to_id = None if data == LEFT_CUSTODY else data
        on: dt.date = self.date.date().toPython()
        self.transfer_button.setEnabled(False)
        self.status.say("Recording the transfer…")
        self._task = run_task(transfer_person, self.ctx, self.person.id, to_id, on=on, reason=self.reason.text(),
                              owner=self, name="transfer a person", on_result=self._done, on_error=self._failed)

    def _done(self, move: Any) -> None:
        self._task = None
        self.transferred.emit(move)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self._task = None
        self.transfer_button.setEnabled(True)
        self.status.say("")
        self._show_error(error)

    def _show_error(self, error: BaseException) -> None:
        show_service_error(error, self.general_error, self.errors)
        grow_to_fit(self)

    def reject(self) -> None:
        if self._task is not None:
            self._task.discard()
            self._task = None
        super().reject()
