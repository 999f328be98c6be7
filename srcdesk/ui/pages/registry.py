"""The main window's pages, in the order of the navigation list.

To add a page: write a :class:`srcdesk.ui.pages.Page` subclass in its own module and add the
class here. The main window shows each page the signed-in user is allowed to see
(``Page.needs``).
"""

from __future__ import annotations

from . import Page
from .certificates import CertificatesPage
from .dashboard import DashboardPage
from .pathways import PathwaysPage
from .people import PeoplePage
from .programmes import ProgrammesPage
from .sessions import SessionsPage
from .settings import SettingsPage
from .sync import SyncPage
from .today import TodayPage
from .users import UsersPage
from .verify import VerifyPage
from .volunteers import VolunteersPage

PAGES: list[type[Page]] = [
    TodayPage,
    DashboardPage,
    SessionsPage,
    PeoplePage,
    VolunteersPage,
    CertificatesPage,
    PathwaysPage,
    ProgrammesPage,
    VerifyPage,
    SyncPage,
    UsersPage,
    SettingsPage,
]
