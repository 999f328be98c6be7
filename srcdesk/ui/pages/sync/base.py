"""What the Sync page's tabs share: the tab base class, and how an error is said."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QVBoxLayout, QWidget

from ...widgets import FieldError, StatusNote, describe_error

if TYPE_CHECKING:
    from .page import SyncPage

LAST_FOLDER_KEY = "sync/lastFolder"
#: What an import (or a conflict settled) may change: every page showing synced data reloads.


def say_error(label: FieldError, error: BaseException) -> None:
    label.show_error(describe_error(error))


class Tab(QWidget):
    """One tab of the Sync page: a column of widgets with the page's margins."""

    def __init__(self, page: SyncPage, name: str) -> None:
        super().__init__()
        self.page = page
        self.ctx = page.ctx
        self.setObjectName(name)
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(12, 12, 12, 12)
        self.layout_.setSpacing(8)
        self.status = StatusNote()
        self.status.setObjectName(f"{name}Status")
        self.error = FieldError()
        self.error.setObjectName(f"{name}Error")

    def load(self) -> None:
        """Load what the tab shows (in the background)."""

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt's name
        """Only the tab shown asks for height: the tabs share a stack that is otherwise as tall as the
        tallest of them (Trust), which puts the whole page in a scroll area on a 1024×600 screen."""
        return super().heightForWidth(width) if self.isVisible() else -1
