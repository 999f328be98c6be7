"""This PC's clock: the Settings section, and the warning shown when the app starts.

Both show :func:`srcdesk.services.clock.clock_status` (this PC's clock, srcdesk's clock, the state
in words), read in the background. :class:`ClockSection` also offers the repair to administrators
(:func:`srcdesk.services.clock.repair_clock`: confirmation first, then a background task with
progress, then what it did). :class:`ClockWarning` is the main window's banner: it checks once,
shows itself only if srcdesk's clock is more than an hour ahead, and offers the way to the section.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from ...services.base import Context
from ...services.clock import ClockStatus, RepairResult, clock_status, repair_clock, when
from ..progress import run_with_progress
from ..tasks import run_task
from ..widgets import FieldError, confirm, describe_error, push_button

# A repair may change what any page shows (stamps, and values where an edit received later now
# comes after this PC's) and the conflict queue.


def _value(name: str) -> QLabel:
    label = QLabel("…")
    label.setObjectName(name)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setWordWrap(True)
    return label


class ClockSection(QGroupBox):
    """"This PC's clock": both clocks, the state in words, and Repair (administrators)."""

    repaired = Signal(object)  # the RepairResult

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__("This PC's clock", parent)
        self.setObjectName("clockSection")
        self.ctx = ctx
        self.can_repair = ctx.can("clock.repair")
        self.status: ClockStatus | None = None
        self.result: RepairResult | None = None
        self.confirm_box = None
        self._loading = False
        self._repairing = False

        self.wall_value = _value("clockWallValue")
        self.stored_value = _value("clockStoredValue")
        form = QFormLayout()
        form.addRow(self._label("This PC's clock:", self.wall_value), self.wall_value)
        form.addRow(self._label("srcdesk's clock:", self.stored_value), self.stored_value)

        self.state_value = _value("clockState")
        self.state_value.setAccessibleName("State of the clock")
        self.repair_button = push_button("&Repair srcdesk's clock…", "clockRepairButton", self.ask_repair)
        self.repair_button.setEnabled(False)
        self.repair_button.setToolTip(
            "Re-stamp the changes made on this PC in the future and move srcdesk's clock back to this PC's."
            if self.can_repair else ctx.refusal("clock.repair"))
        self.check_button = push_button("Chec&k again", "clockCheckButton", self.refresh)
        buttons = QHBoxLayout()
        buttons.addWidget(self.repair_button)
        buttons.addWidget(self.check_button)
        buttons.addStretch(1)
        self.result_value = _value("clockResult")
        self.result_value.setTextFormat(Qt.TextFormat.PlainText)
        self.result_value.hide()
        self.error = FieldError(self.repair_button)
        self.error.setObjectName("clockError")
        note = QLabel(
            "srcdesk stamps every change with its own clock, which follows this PC's and never goes back. If "
            "this PC's clock was ahead, srcdesk's stays ahead after it is put right, and the office refuses "
            "bundles stamped more than a day ahead: a repair re-stamps those changes (after a backup) so they "
            "reach the office.")
        note.setObjectName("clockNote")
        note.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.state_value)
        layout.addLayout(buttons)
        layout.addWidget(self.result_value)
        layout.addWidget(self.error)
        layout.addWidget(note)

    @staticmethod
    def _label(text: str, buddy: QWidget) -> QLabel:
        label = QLabel(text)
        label.setBuddy(buddy)
        buddy.setAccessibleName(text.rstrip(":"))
        return label

    # -- the state ---------------------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        return self.status is not None and not self._loading

    @property
    def repairing(self) -> bool:
        return self._repairing

    def refresh(self) -> None:
        if self._loading:
            return
        self._loading = True
        self.check_button.setEnabled(False)
        self.task = run_task(clock_status, self.ctx, owner=self, name="check the clock",
                             on_result=self._shown, on_error=self._failed)

    def _shown(self, status: ClockStatus) -> None:
        self._loading = False
        self.check_button.setEnabled(True)
        self.status = status
        self.wall_value.setText(when(status.wall))
        self.stored_value.setText(when(status.stored) if status.stored else "nothing stamped on this PC yet")
        self.state_value.setText(status.state)
        self.state_value.setAccessibleDescription(status.state)
        self.state_value.setStyleSheet("font-weight: bold;" if status.needs_repair else "")
        self._enable_repair()

    def _failed(self, error: BaseException) -> None:
        self._loading = False
        self.check_button.setEnabled(True)
        self.error.show_error(describe_error(error))

    def _enable_repair(self) -> None:
        status = self.status
        self.repair_button.setEnabled(
            self.can_repair and not self._repairing and status is not None and status.needs_repair
            and status.repairable)

    # -- the repair --------------------------------------------------------------------------------

    def ask_repair(self) -> None:
        status = self.status
        if not self.repair_button.isEnabled() or status is None:
            return
        changes = status.changes_ahead
        made = (f"the {changes} change{'s' if changes != 1 else ''} made on this PC that "
                f"{'are' if changes != 1 else 'is'} stamped in the future, " if changes else "")
        self.confirm_box = confirm(
            self, "Repair srcdesk's clock?",
            f"Is this PC's clock right now? It says {when(status.wall)}.",
            "&Repair", self.repair,
            informative=(f"srcdesk re-stamps {made}so the office takes them, and moves its own clock back to "
                         "this PC's. A backup is made first. Afterwards, export a bundle for the office again. "
                         "If this PC's clock is still wrong, cancel and put it right first."))

    def repair(self) -> None:
        if self._repairing or not self.can_repair:
            return
        self._repairing = True
        self.error.clear_error()
        self.result_value.hide()
        self.repair_button.setEnabled(False)
        self.repair_task, self.repair_progress = run_with_progress(
            self, repair_clock, self.ctx, title="Repair srcdesk's clock", label="Repairing srcdesk's clock…",
            reports_progress=True, on_result=self._repaired, on_error=self._repair_failed,
            name="repair the clock")

    def _repaired(self, result: RepairResult) -> None:
        self._repairing = False
        self.result = result
        self.result_value.setText("\n".join(result.describe()))
        self.result_value.setAccessibleDescription(self.result_value.text())
        self.result_value.show()
        self.repaired.emit(result)
        self.refresh()

    def _repair_failed(self, error: BaseException) -> None:
        self._repairing = False
        self.error.show_error(describe_error(error))
        self._enable_repair()


class ClockWarning(QFrame):
    """The main window's banner when srcdesk's clock is more than an hour ahead of this PC's.

    :meth:`check` reads the state in the background (once when the app starts); the banner shows
    only if a repair is needed, says so in words, and offers the Settings section (``showRequested``)."""

    showRequested = Signal()

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.status: ClockStatus | None = None
        self._checking = False
        self.setObjectName("clockWarning")
        self.setAccessibleName("Clock warning")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        palette = self.palette()
        palette.setColor(self.backgroundRole(), palette.color(palette.ColorRole.ToolTipBase))
        palette.setColor(self.foregroundRole(), palette.color(palette.ColorRole.ToolTipText))
        self.setPalette(palette)
        icon = QLabel()
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
        icon.setPixmap(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(size, size))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.text = QLabel()
        self.text.setObjectName("clockWarningText")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.show_button = push_button("Show the clock", "clockWarningShow", self.showRequested.emit)
        self.dismiss_button = push_button("Dismiss", "clockWarningDismiss", self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.show_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.dismiss_button, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    @property
    def checked(self) -> bool:
        return self.status is not None and not self._checking

    def check(self, *, show: bool = True) -> None:
        """Read the state in the background; show the banner if a repair is needed (``show``), hide
        it if not."""
        if self._checking:
            return
        self._checking = True
        self.task = run_task(clock_status, self.ctx, owner=self, name="check the clock",
                             on_result=lambda status: self._checked(status, show), on_error=self._failed)

    def _checked(self, status: ClockStatus, show: bool) -> None:
        self._checking = False
        self.status = status
        if not status.needs_repair:
            self.hide()
            return
        self.text.setText(status.headline)
        self.text.setAccessibleName(self.text.text())
        if show:
            self.show()

    def _failed(self, error: BaseException) -> None:
        self._checking = False
        self.text.setText(f"srcdesk couldn't compare its clock with this PC's: {describe_error(error)}")
        self.text.setAccessibleName(self.text.text())
        self.show()
