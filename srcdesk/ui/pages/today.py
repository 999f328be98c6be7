"""Today: this establishment's sessions this week, who has become eligible for their next milestone,
and who is liberated in the next 8 weeks (with the Liberation record dialog for coordinators)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ...services import ladder, liberation
from ...services import sessions as session_service
from ...services.base import Context
from ...words import plural
from ..liberation_dialog import LiberationDialog
from ..session_dialog import SessionDialog
from ..table_model import CENTRE, RIGHT, Column, RowsTableModel
from ..tasks import run_task
from ..widgets import FieldError, StatusNote, describe_error, heading, push_button
from . import Page

ELIGIBLE_LIMIT = 50
MIN_LIST_HEIGHT = 90  # pixels: the header and two or three rows


def today() -> dt.date:
    """Today's date (tests and screenshots replace this to show a week of the demo data)."""
    return dt.date.today()


def time_span(row: Any) -> str:
    return f"{row.start_time}–{row.end_time}"


def status_text(row: Any) -> str:
    return "Cancelled" if row.cancelled else ""


class CancelledLook:
    """Mixin for session table models: cancelled sessions greyed, in italics, with the reason as tooltip."""

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role in (Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.FontRole, Qt.ItemDataRole.ToolTipRole):
            row = self.row(index) if index.isValid() else None  # type: ignore[attr-defined]
            if row is not None and getattr(row, "cancelled", False):
                if role == Qt.ItemDataRole.ForegroundRole:
                    return QApplication.palette().color(QPalette.ColorRole.PlaceholderText)
                if role == Qt.ItemDataRole.FontRole:
                    font = QFont()
                    font.setItalic(True)
                    return font
                return f"Cancelled: {row.cancelled_reason}" if row.cancelled_reason else "Cancelled"
        return super().data(index, role)  # type: ignore[misc]


class SessionRowsModel(CancelledLook, RowsTableModel):
    """A week's sessions."""


def open_register(page: QWidget, ctx: Context, session_id: str, status: StatusNote) -> QWidget | None:
    """Open the register of a session (the register dialog, shown non-modally)."""
    try:
        from ..register_dialog import RegisterDialog
    except ModuleNotFoundError as error:
        if error.name and error.name.endswith("register_dialog"):
            status.say("Taking the register is not available in this version of srcdesk.")
            return None
        raise
    dialog = RegisterDialog(ctx, session_id, parent=page)
    dialog.show()
    return dialog


class TodayPage(Page):
    key = "today"
    title = "Today"
    topics = frozenset({"sessions", "attendance", "ladder", "people", "catalogue"})

    registerRequested = Signal(str)  # session id: take its register
    personRequested = Signal(str)  # person id: show them (People / Peer volunteers page)
    person_page = "volunteers"  # where the window shows them: their ladder, where they are signed off
    personOnPeoplePageRequested = Signal(str)  # person id: someone going home soon, on the People page

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.week_start: dt.date | None = None
        self._select_next: str | None = None  # a session just recorded: selected once it is listed
        office = ctx.installation.is_office
        self.establishment_id = ctx.installation.establishment_id

        where = "all establishments" if office else (ctx.installation.name or "this establishment")
        self.subtitle = QLabel(f"Sessions at {where}, who is ready for their next milestone, and who goes home soon.")
        self.subtitle.setWordWrap(True)

        # -- week navigation ------------------------------------------------------------------
        self.week_label = heading("", scale=1.15)
        self.week_label.setObjectName("weekLabel")
        self.previous_button = push_button("◀ &Previous week", "previousWeek", accessible="Previous week")
        self.this_week_button = push_button("T&his week", "thisWeek", accessible="This week")
        self.next_button = push_button("Ne&xt week ▶", "nextWeek", accessible="Next week")
        self.previous_button.clicked.connect(lambda: self.show_week(self._monday() - dt.timedelta(weeks=1)))
        self.next_button.clicked.connect(lambda: self.show_week(self._monday() + dt.timedelta(weeks=1)))
        self.this_week_button.clicked.connect(lambda: self.show_week(None))

        # -- sessions this week --------------------------------------------------------------
        columns = [Column("Day", lambda r: f"{r.date:%a} {r.date.day} {r.date:%b}"),
                   Column("Time", time_span)]
        if office:
            columns.append(Column("Establishment", lambda r: r.establishment_code))
        columns += [
            Column("Session", lambda r: r.what),
            Column("Location", lambda r: r.location),
            Column("Facilitators", lambda r: r.facilitators),
            Column("Present", lambda r: r.attended, align=RIGHT),
            Column("On register", lambda r: r.on_register, align=RIGHT),
            Column("Status", status_text, align=CENTRE),
        ]
        self.sessions_model = SessionRowsModel(columns, self)
        self.sessions = QTableView()
        self.sessions.setObjectName("weekSessions")
        self.sessions.setAccessibleName("Sessions this week")
        self.sessions.setModel(self.sessions_model)
        self._table_look(self.sessions)
        self.sessions.horizontalHeader().setSectionResizeMode(3 if office else 2, QHeaderView.ResizeMode.Stretch)
        self.sessions.activated.connect(self._session_activated)
        self.sessions.selectionModel().currentRowChanged.connect(lambda *_: self._update_buttons())
        self.sessions_note = QLabel()
        self.sessions_note.setObjectName("sessionsNote")
        self.sessions_error = FieldError(self.sessions)

        self.record_button = push_button("&Record a session", "recordSession", accessible="Record a session")
        self.register_button = push_button("&Take the register", "takeRegister",
                                           accessible="Take the register of the selected session")
        self.record_button.clicked.connect(self.record_session)
        self.register_button.clicked.connect(self.take_register)
        self.registerRequested.connect(self._open_register)

        # -- eligible people --------------------------------------------------------------------
        self.eligible_model = RowsTableModel([
            Column("Name", lambda r: r.display_name),
            Column("Reference", lambda r: r.external_ref),
            Column("Eligible for", lambda r: r.next_level),
            Column("Level", lambda r: r.level, align=RIGHT),
        ], self)
        self.eligible = QTableView()
        self.eligible.setObjectName("eligiblePeople")
        self.eligible.setAccessibleName("Eligible for their next milestone")
        self.eligible.setModel(self.eligible_model)
        self._table_look(self.eligible)
        self.eligible.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.eligible.activated.connect(self._person_activated)
        self.eligible_note = QLabel()
        self.eligible_note.setObjectName("eligibleNote")
        self.eligible_note.setWordWrap(True)
        self.eligible_error = FieldError(self.eligible)
        eligible_box = QGroupBox("Eligible for their &next milestone")
        eligible_box.setObjectName("eligibleBox")
        box_layout = QVBoxLayout(eligible_box)
        box_layout.addWidget(self.eligible_note)
        box_layout.addWidget(self.eligible, 1)
        box_layout.addWidget(self.eligible_error)

        # -- liberations in the next 8 weeks ---------------------------------------------------
        lib_columns = [Column("Name", lambda r: r.display_name)]
        if office:
            lib_columns.append(Column("At", lambda r: r.establishment_code, tooltip=lambda r: r.establishment))
        lib_columns += [
            Column("Liberation", lambda r: r.liberation_date),
            Column("In", lambda r: "today" if r.days == 0 else plural(r.days, "day"), align=RIGHT),
            Column("Record", lambda r: r.record_made or "Not yet",
                   tooltip=lambda r: "A liberation record was made on this day" if r.record_made else None),
        ]
        self.liberations_model = RowsTableModel(lib_columns, self)
        self.liberations = QTableView()
        self.liberations.setObjectName("liberations")
        self.liberations.setAccessibleName(f"Liberations in the next {liberation.WEEKS} weeks")
        self.liberations.setModel(self.liberations_model)
        self._table_look(self.liberations)
        self.liberations.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.liberations.activated.connect(self._liberation_activated)
        self.liberations.selectionModel().currentRowChanged.connect(lambda *_: self._update_buttons())
        self.liberations_note = QLabel()
        self.liberations_note.setObjectName("liberationsNote")
        self.liberations_note.setWordWrap(True)
        self.liberations_error = FieldError(self.liberations)
        self.liberation_button = push_button("Liberation recor&d…", "liberationRecord", self.liberation_record,
                                             accessible="Make the liberation record of the chosen person")
        self.liberation_reason = ctx.refusal("liberation.record")
        if self.liberation_reason:
            self.liberation_button.setToolTip(self.liberation_reason)
        liberations_box = QGroupBox(f"&Liberations in the next {liberation.WEEKS} weeks")
        liberations_box.setObjectName("liberationsBox")
        lib_layout = QVBoxLayout(liberations_box)
        lib_top = QHBoxLayout()
        lib_top.addWidget(self.liberations_note, 1)
        lib_layout.addLayout(lib_top)
        lib_layout.addWidget(self.liberations, 1)
        lib_top.addWidget(self.liberation_button)  # (after the list: Alt+L focuses the list, its first child)
        lib_layout.addWidget(self.liberations_error)

        self.status = StatusNote()
        self.status.setObjectName("status")

        nav = QHBoxLayout()
        nav.addWidget(self.week_label, 1)
        nav.addWidget(self.previous_button)
        nav.addWidget(self.this_week_button)
        nav.addWidget(self.next_button)
        actions = QHBoxLayout()
        actions.addWidget(self.record_button)
        actions.addWidget(self.register_button)
        actions.addWidget(self.sessions_note, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 18, 18, 18)
        layout.addWidget(heading(self.title, scale=1.6))
        layout.addWidget(self.subtitle)
        layout.addLayout(nav)
        layout.addWidget(self.sessions, 1)
        layout.addWidget(self.sessions_error)
        layout.addLayout(actions)
        layout.addWidget(self.status)
        # The two lists share the room under the week: they ask for no height of their own (beyond
        # a few rows), so the page fits a small window without scrolling.
        for view in (self.eligible, self.liberations):
            view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
            view.setMinimumHeight(MIN_LIST_HEIGHT)
        lower = QHBoxLayout()
        lower.addWidget(eligible_box, 1)
        lower.addWidget(liberations_box, 1)
        layout.addLayout(lower, 1)

        for first, second in ((self.previous_button, self.this_week_button), (self.this_week_button, self.next_button),
                              (self.next_button, self.sessions), (self.sessions, self.record_button),
                              (self.record_button, self.register_button), (self.register_button, self.eligible),
                              (self.eligible, self.liberations), (self.liberations, self.liberation_button)):
            QWidget.setTabOrder(first, second)
        self._update_buttons()

    # -- building ---------------------------------------------------------------------------

    @staticmethod
    def _table_look(view: QTableView) -> None:
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        view.setAlternatingRowColors(True)
        view.setWordWrap(False)
        view.verticalHeader().hide()
        view.horizontalHeader().setHighlightSections(False)
        view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        view.horizontalHeader().setStretchLastSection(False)

    # -- loading ----------------------------------------------------------------------------------

    def _monday(self) -> dt.date:
        return self.week_start or session_service.week_of(today())[0]

    def refresh(self) -> None:
        self._load_week()
        self._load_eligible()
        self._load_liberations()

    def show_week(self, monday: dt.date | None) -> None:
        """Show the week starting on ``monday`` (None: the week containing today)."""
        self.week_start = None if monday is None or monday == session_service.week_of(today())[0] else monday
        self._load_week()

    def _load_week(self) -> None:
        monday = self._monday()
        sunday = monday + dt.timedelta(days=6)
        this_week = monday == session_service.week_of(today())[0]
        span = f"{monday.day} {monday:%b}" + (f" {monday:%Y}" if monday.year != sunday.year else "")
        self.week_label.setText(f"{'This week' if this_week else 'Week of'}: {span} – {sunday.day} {sunday:%b %Y}")
        self.week_label.setAccessibleName(self.week_label.text())
        self.this_week_button.setEnabled(not this_week)
        self.sessions_note.setText("Loading the sessions…")
        run_task(session_service.sessions_between, self.ctx, monday, sunday,
                 establishment_id=self.establishment_id, owner=self, name="load this week's sessions",
                 on_result=lambda rows: self._week_loaded(monday, rows), on_error=self._week_failed)

    def _week_loaded(self, monday: dt.date, rows: list[Any]) -> None:
        if monday != self._monday():
            return  # the person has moved to another week since
        selected = self._select_next or self.selected_session_id()
        self.sessions_model.set_rows(rows)
        self.sessions_error.clear_error()
        held = sum(1 for r in rows if not r.cancelled)
        if not rows:
            self.sessions_note.setText("No sessions recorded this week.")
        else:
            self.sessions_note.setText(plural(held, "session")
                                       + (f", {len(rows) - held} cancelled" if held != len(rows) else ""))
        row = self.sessions_model.find(lambda r: r.id == selected) if selected else -1
        if row >= 0 and selected == self._select_next:
            self._select_next = None
        if row < 0 and rows:
            day = today()
            row = next((i for i, r in enumerate(rows) if r.date >= day), 0)
        if row >= 0:
            self.sessions.setCurrentIndex(self.sessions_model.index(row, 0))
        self._update_buttons()

    def _week_failed(self, error: BaseException) -> None:
        self.sessions_note.setText("")
        self.sessions_error.show_error(describe_error(error))

    def _load_eligible(self) -> None:
        if self.ctx.installation.is_office:
            # The office holds every establishment: counting the whole nation's ladder on every
            # start would keep a core busy for a long time. The Peer volunteers page does it
            # one establishment at a time.
            self.eligible_note.setText("At the office, see who is eligible on the Peer volunteers page "
                                       "(every establishment, or one).")
            return
        self.eligible_note.setText("Working out who is eligible…")
        run_task(ladder.eligible_people, self.ctx, establishment_id=self.establishment_id, limit=ELIGIBLE_LIMIT, owner=self,
                 name="find people eligible for their next milestone",
                 on_result=self._eligible_loaded, on_error=self._eligible_failed)

    def _eligible_loaded(self, rows: list[Any]) -> None:
        self.eligible_model.set_rows(rows)
        self.eligible_error.clear_error()
        if not rows:
            self.eligible_note.setText("Nobody has become eligible for a new milestone.")
        elif len(rows) >= ELIGIBLE_LIMIT:
            self.eligible_note.setText(
                f"At least {len(rows)} people have met the rules for their next milestone; these are the first "
                f"{len(rows)}. Open a person (Enter or double-click) to sign it off."
            )
        else:
            self.eligible_note.setText(
                f"{len(rows)} {'person has' if len(rows) == 1 else 'people have'} met the rules for their next "
                "milestone. Open a person (Enter or double-click) to sign it off."
            )

    def _eligible_failed(self, error: BaseException) -> None:
        self.eligible_note.setText("")
        self.eligible_error.show_error(describe_error(error))

    def _load_liberations(self) -> None:
        if not self.liberations_model.rowCount():
            self.liberations_note.setText("Looking for liberation dates…")
        run_task(liberation.upcoming_liberations, self.ctx, today(), owner=self, name="list the liberations soon",
                 on_result=self._liberations_loaded, on_error=self._liberations_failed)

    def _liberations_loaded(self, rows: list[Any]) -> None:
        selected = self.selected_liberation()
        self.liberations_model.set_rows(rows)
        self.liberations_error.clear_error()
        if not rows:
            note = f"No one has a liberation date in the next {liberation.WEEKS} weeks."
        else:
            waiting = sum(1 for r in rows if r.record_made is None)
            note = f"{plural(len(rows), 'person')} going home; {waiting} without a record yet."
        self.liberations_note.setText(note + (f" {self.liberation_reason}" if self.liberation_reason else ""))
        self.liberations_note.setToolTip("Enter or double-click opens the person. A liberation record is made with "
                                         "the person before they go home.")
        row = self.liberations_model.find(lambda r: r.person_id == selected.person_id) if selected else -1
        if row < 0 and rows:
            row = 0
        if row >= 0:
            self.liberations.setCurrentIndex(self.liberations_model.index(row, 0))
        self._update_buttons()

    def _liberations_failed(self, error: BaseException) -> None:
        self.liberations_note.setText("")
        self.liberations_error.show_error(describe_error(error))

    # -- actions --------------------------------------------------------------------------------

    def selected_liberation(self) -> Any | None:
        index = self.liberations.currentIndex()
        if not index.isValid() or index.row() >= self.liberations_model.rowCount():
            return None
        return self.liberations_model.row(index.row())

    def liberation_record(self) -> LiberationDialog | None:
        row = self.selected_liberation()
        if row is None or self.liberation_reason:
            return None
        dialog = LiberationDialog(self.ctx, row.person_id, row.display_name, self, today=today())
        dialog.saved.connect(lambda record: self.status.say(
            f"Made the liberation record for {record.name} ({record.area})."))
        self.liberation_dialog = dialog
        dialog.open()
        return dialog

    def _liberation_activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.personOnPeoplePageRequested.emit(str(self.liberations_model.row(index.row()).person_id))

    def selected_session_id(self) -> str | None:
        index = self.sessions.currentIndex()
        if not index.isValid() or index.row() >= self.sessions_model.rowCount():
            return None
        return self.sessions_model.row(index.row()).id

    def _update_buttons(self) -> None:
        self.register_button.setEnabled(self.selected_session_id() is not None)
        self.liberation_button.setEnabled(not self.liberation_reason and self.selected_liberation() is not None)

    def record_session(self) -> SessionDialog:
        monday = self._monday()
        day = today()
        on = day if monday <= day <= monday + dt.timedelta(days=6) else monday
        dialog = SessionDialog(self.ctx, None, self, on_date=on)
        dialog.saved.connect(self._session_saved)
        self.session_dialog = dialog
        dialog.show()
        return dialog

    def _session_saved(self, record: Any) -> None:
        self.status.say(f"Recorded a session on {record.date.day} {record.date:%b %Y} at {record.start_time}.")
        # "Take the register" next means this session's: select it, in its week, once it is listed.
        self._select_next = record.id
        row = self.sessions_model.find(lambda r: r.id == record.id)
        if row >= 0 and record.date >= self._monday() and record.date <= self._monday() + dt.timedelta(days=6):
            self._select_next = None
            self.sessions.setCurrentIndex(self.sessions_model.index(row, 0))
            self._update_buttons()
        else:
            self.show_week(session_service.week_of(record.date)[0])

    def take_register(self) -> None:
        session_id = self.selected_session_id()
        if session_id:
            self.registerRequested.emit(session_id)

    def _session_activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.registerRequested.emit(self.sessions_model.row(index.row()).id)

    def _open_register(self, session_id: str) -> None:
        self.register_dialog = open_register(self, self.ctx, session_id, self.status)

    def _person_activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.personRequested.emit(str(self.eligible_model.row(index.row()).person_id))
