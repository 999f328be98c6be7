"""TEMPORARY (foundation of issue 13): the helper building this tab replaces this module."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ..services.base import Context


class OrganisationsView(QWidget):
    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        QVBoxLayout(self).addWidget(QLabel("Not built yet."))

    def refresh(self) -> None:
        pass
