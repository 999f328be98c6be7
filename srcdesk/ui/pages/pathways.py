"""Recovery pathways: the initiatives in establishments (and, at the SRC office, the national map),
the community organisations (LEROs and services) they connect to, and the Early Release to
Residential Rehabilitation referrals.

One page, three tabs. Each tab is its own view (:mod:`srcdesk.ui.initiatives`,
:mod:`srcdesk.ui.organisations`, :mod:`srcdesk.ui.referrals`), built the first time it is chosen so
the page paints at once; a view loads what it shows in ``refresh()`` through the services in the
background, and the page calls it when the page is shown or its topics change.
"""

from __future__ import annotations

import importlib
from typing import Any

from PySide6.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget

from ...services.base import Context
from ..widgets import heading
from . import Page

# (tab title, object name, module, view class): in the order of the tabs.
TABS = (
    ("&Initiatives", "initiativesTab", "srcdesk.ui.initiatives", "InitiativesView"),
    ("Community &organisations", "organisationsTab", "srcdesk.ui.organisations", "OrganisationsView"),
    ("&Referrals", "referralsTab", "srcdesk.ui.referrals", "ReferralsView"),
)


class PathwaysPage(Page):
    key = "pathways"
    title = "Pathways"
    needs = "person.read"
    # initiatives and organisations are announced as "catalogue"; referrals as "people";
    # "sessions" for the sessions that belong to an initiative; "sync" for bundles imported.
    topics = frozenset({"catalogue", "people", "sessions", "sync"})

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.views: dict[str, Any] = {}
        self.tabs = QTabWidget()
        self.tabs.setObjectName("pathwaysTabs")
        self.tabs.setAccessibleName("Recovery pathways")
        self.tabs.tabBar().setAccessibleName("Recovery pathways")
        for title, name, _module, _cls in TABS:
            holder = QWidget()
            holder.setObjectName(name)
            QVBoxLayout(holder).setContentsMargins(0, 0, 0, 0)
            self.tabs.addTab(holder, title)
        self.tabs.currentChanged.connect(self._tab_chosen)
        subtitle = QLabel("Recovery initiatives in each establishment, the community organisations they "
                          "connect to, and Early Release to Residential Rehabilitation referrals.")
        subtitle.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 18, 18, 18)
        layout.addWidget(heading(self.title, scale=1.6))
        layout.addWidget(subtitle)
        layout.addWidget(self.tabs, 1)

    def view(self, name: str) -> Any:
        """The view of the tab ``name`` ("initiativesTab"…), built now if it was not yet."""
        if name not in self.views:
            for index, (_title, tab_name, module, cls) in enumerate(TABS):
                if tab_name == name:
                    holder = self.tabs.widget(index)
                    view = getattr(importlib.import_module(module), cls)(self.ctx, holder)
                    holder.layout().addWidget(view)
                    self.views[name] = view
                    view.refresh()
                    break
            else:
                raise KeyError(name)
        return self.views[name]

    def show_tab(self, name: str) -> Any:
        for index, (_title, tab_name, _module, _cls) in enumerate(TABS):
            if tab_name == name:
                self.tabs.setCurrentIndex(index)
        return self.view(name)

    def _tab_chosen(self, index: int) -> None:
        if 0 <= index < len(TABS):
            built = TABS[index][1] in self.views
            view = self.view(TABS[index][1])
            if built:
                view.refresh(quiet=True)  # keeps what its status line says (a save's message)
            view.setFocus()

    def refresh(self) -> None:
        """The tab showing reloads; the others reload when next chosen."""
        index = self.tabs.currentIndex()
        name = TABS[index][1] if 0 <= index < len(TABS) else TABS[0][1]
        if name in self.views:
            self.views[name].refresh(quiet=True)  # data changed: keep what its status line says
        else:
            self.view(name)
