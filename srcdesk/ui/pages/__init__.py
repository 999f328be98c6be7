"""The pages of the main window, one per area of work, chosen from the navigation list."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from ...services.base import Context


class Page(QWidget):
    """One page of the main window.

    Subclasses set ``key`` (stable, used in settings and tests) and ``title`` (shown in the
    navigation list), build their widgets in ``__init__`` without touching the database, and
    load what they show in :meth:`activate`, through :func:`srcdesk.ui.tasks.run_task`.
    """

    key: str = ""
    title: str = ""

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName(f"{self.key}Page" if self.key else "page")
        self.setAccessibleName(self.title)

    def activate(self) -> None:
        """Called each time the page is shown: refresh what it shows (in the background)."""
