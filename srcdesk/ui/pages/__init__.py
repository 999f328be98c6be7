"""The pages of the main window, one per area of work, chosen from the navigation list.

Adding a page is one step: write a :class:`Page` subclass and add it to
:data:`srcdesk.ui.pages.registry.PAGES` (in the order of the navigation list).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QWidget

from ...services.base import Context
from ..bus import data_bus
from ..widgets import open_one


class Page(QWidget):
    """One page of the main window.

    Subclasses set ``key`` (stable, used in settings and tests), ``title`` (shown in the
    navigation list), ``needs`` (who sees the page at all: those who may do this action of
    :data:`srcdesk.services.permissions.ACTIONS`), and ``topics`` (the
    :mod:`srcdesk.ui.bus` topics whose changes make the page reload). They build their widgets
    in ``__init__`` without touching the database, and load what they show in :meth:`refresh`,
    through :func:`srcdesk.ui.tasks.run_task` or a :class:`srcdesk.ui.table_model.PagedTableModel`.

    :meth:`refresh` runs when the page is first shown, and again when one of its topics changes
    (at once if the page is showing, otherwise the next time it is shown).
    """

    key: str = ""
    title: str = ""
    needs: str = "person.read"
    topics: frozenset[str] = frozenset()

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName(f"{self.key}Page" if self.key else "page")
        self.setAccessibleName(self.title)
        self._stale = True
        if self.topics:
            data_bus().changed.connect(self._data_changed)

    @classmethod
    def allowed(cls, ctx: Context) -> bool:
        return ctx.can(cls.needs)

    def activate(self) -> None:
        """Called each time the page is shown: refresh it if anything changed since."""
        if self._stale:
            self._stale = False
            self.refresh()

    def refresh(self) -> None:
        """Load what the page shows (in the background). Pages override this."""

    # A page that opens its dialogs one at a time (opening one closes the last) keeps it here,
    # where tests reach it too; :meth:`dialog_saved` hears what it saved.
    dialog: Any = None

    def open_one(self, dialog: Any) -> Any:
        dialog.destroyed.connect(lambda *_: self._forget_dialog(dialog))
        return open_one(self, dialog, on_saved=lambda record, d=dialog: self.dialog_saved(d, record))

    def _forget_dialog(self, dialog: Any) -> None:
        if self.dialog is dialog:
            self.dialog = None

    def dialog_saved(self, dialog: Any, record: Any) -> None:
        """What a page does once a dialog it opened with :meth:`open_one` saved ``record``."""

    def _data_changed(self, topics: frozenset[str]) -> None:
        if not (topics & self.topics):
            return
        if self.isVisible():
            self._stale = False
            self.refresh()
        else:
            self._stale = True
