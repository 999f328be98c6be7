"""Record or edit a session, and cancel one with a reason.

:class:`SessionDialog` (``SessionDialog(ctx)`` records a new session, ``SessionDialog(ctx, id)``
edits one) loads what it offers in the background, saves through
:func:`srcdesk.services.sessions.save_session` (one transaction: the session, a new recruit
cohort, weekly repeats) and emits :attr:`SessionDialog.saved` with the session record.
:class:`CancelSessionDialog` asks for the reason and calls ``cancel_session``.

Both are shown with ``show()``; confirmations go through the module-level :func:`ask`, which
tests replace.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QDate, QModelIndex, QPersistentModelIndex, Qt, QTime, QTimer, Signal
from PySide6.QtGui import QFont, QKeySequence, QShortcut, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QCompleter,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from ..dates import QT_DATE_FORMAT, day_month_year
from ..errors import ValidationError
from ..models import ActivityType, Module, Programme
from ..services import catalogue, community, estate
from ..services import sessions as session_service
from ..services.base import Context
from ..services.people import PersonRow, search_people
from ..services.sessions import PersonChoice, SaveOutcome, SessionDetails
from ..words import plural
from .table_model import Column, PagedTableModel, RowsTableModel
from .tasks import Task, run_task
from .widgets import FieldError, StatusNote, confirm, describe_error, grow_to_fit, heading, scrolling_layout

KIND_ROLE = Qt.ItemDataRole.UserRole + 10  # ("module", id, programme code) | ("activity", id) | ("programme", id)
LEVEL_ROLE = Qt.ItemDataRole.UserRole + 11  # indentation level in a grouped combo
NEW_COHORT = "__new__"
SEARCH_DELAY_MS = 150
RAT = session_service.RAT_PROGRAMME_CODE
DATE_FORMAT = QT_DATE_FORMAT  # 31/03/2026, as every date field


def ask(parent: QWidget, title: str, text: str, yes_text: str, no_text: str,
        on_yes: Callable[[], Any]) -> QMessageBox:
    """A non-blocking question: ``on_yes()`` runs if the person chooses ``yes_text``.
    Tests replace this function (monkeypatch) or click the box it returns."""
    return confirm(parent, title, text, yes_text, on_yes, no_text=no_text)


def qdate(day: dt.date) -> QDate:
    return QDate(day.year, day.month, day.day)


def pydate(value: QDate) -> dt.date:
    return dt.date(value.year(), value.month(), value.day())


def long_date(day: dt.date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


# -- what a session can be: modules grouped by programme, then activity types -------------------

@dataclass(frozen=True)
class Catalogue:
    programmes: list[Any]
    modules: list[Any]
    activities: list[Any]


def load_catalogue(ctx: Context, *, include_retired: bool = False) -> Catalogue:
    """Programmes, modules and activity types (runs in the background)."""
    return Catalogue(catalogue.list_all(ctx, Programme, include_retired=include_retired),
                     catalogue.list_all(ctx, Module, include_retired=include_retired),
                     catalogue.list_all(ctx, ActivityType, include_retired=include_retired))


class IndentDelegate(QStyledItemDelegate):
    """Draws grouped combo items indented by their :data:`LEVEL_ROLE`."""

    def paint(self, painter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:  # noqa: ANN001
        level = index.data(LEVEL_ROLE) or 0
        if level:
            option = QStyleOptionViewItem(option)
            option.rect.adjust(level * option.fontMetrics.horizontalAdvance("    "), 0, 0, 0)
        super().paint(painter, option, index)


def _item(text: str, kind: tuple | None, *, level: int = 0, header: bool = False,
          selectable: bool = True) -> QStandardItem:
    item = QStandardItem(text)
    item.setEditable(False)
    item.setData(kind, KIND_ROLE)
    item.setData(level, LEVEL_ROLE)
    item.setData(text, Qt.ItemDataRole.AccessibleTextRole)
    if header:
        font = QFont()
        font.setBold(True)
        item.setFont(font)
    if not selectable:
        item.setFlags(Qt.ItemFlag.NoItemFlags)
    return item


def fill_what_model(model: QStandardItemModel, cat: Catalogue, *, for_filter: bool,
                    keep: tuple | None = None) -> None:
    """Fill ``model`` with modules grouped under their programmes, then activity types.

    ``for_filter``: starts with "All sessions" and a programme itself can be chosen (every
    module of it). ``keep``: an item that must be offered although retired (the session's own).
    """
    model.clear()
    if for_filter:
        model.appendRow(_item("All sessions", None))
    by_programme: dict[str, list[Any]] = {}
    for module in cat.modules:
        by_programme.setdefault(module.programme_id, []).append(module)
    for programme in cat.programmes:
        modules = by_programme.get(programme.id, [])
        if not modules and not for_filter:
            continue
        model.appendRow(_item(programme.name, ("programme", programme.id) if for_filter else None,
                              header=True, selectable=for_filter))
        for module in modules:
            model.appendRow(_item(module.name, ("module", module.id, programme.code), level=1))
    if cat.activities:
        model.appendRow(_item("Activities", None, header=True, selectable=False))
        for activity in cat.activities:
            model.appendRow(_item(activity.name, ("activity", activity.id), level=1))
    if keep is not None and find_kind(model, keep) < 0:
        model.appendRow(_item(f"{keep[3]} (retired)", keep[:3] if keep[0] == "module" else keep[:2], level=1))


def find_kind(model: QStandardItemModel, kind: tuple | None) -> int:
    """Row of the item for ``("module", id…)``/``("activity", id)``/``("programme", id)``, or -1."""
    if kind is None:
        return -1
    for row in range(model.rowCount()):
        data = model.item(row).data(KIND_ROLE)
        if data is not None and data[:2] == tuple(kind[:2]):
            return row
    return -1


# -- picking people ------------------------------------------------------------------------------

def _person_text(p: PersonRow | PersonChoice) -> str:
    extra = p.external_ref or (p.establishment_code or "")
    return f"{p.display_name} ({extra})" if extra else p.display_name


PERSON_COLUMNS = [Column("Name", _person_text)]


class PersonPicker(QWidget):
    """Choose people: type to find a person, Enter (or Add) puts them on the list; Delete removes.

    Enter in the finder belongs to the finder: it adds the person found (once the search for
    what was typed has arrived, if it is still running) and never saves the dialog.

    ``people`` is the chosen list of :class:`PersonChoice`; ``changed`` fires when it changes.
    By default it picks a session's facilitators; ``role`` names what the people are for (in
    object and accessible names), ``chosen_caption`` heads the list, and ``single`` keeps one
    person only (the one added last replaces them: the person a certificate is for).
    """

    changed = Signal()

    def __init__(self, ctx: Context, parent: QWidget | None = None, *, role: str = "facilitator",
                 chosen_caption: str = "Facilitating this session:", single: bool = False) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.single = single
        title = role[:1].upper() + role[1:]
        self.search = QLineEdit()
        self.search.setObjectName(f"{role}Search")
        self.search.setAccessibleName(f"Find a {role}")
        self.search.setPlaceholderText("Type a name or reference to find a person")
        self.search.setClearButtonEnabled(True)

        self.results_model = PagedTableModel(PERSON_COLUMNS, parent=self)
        self.results = QListView()
        self.results.setObjectName(f"{role}Results")
        self.results.setAccessibleName("People found")
        self.results.setModel(self.results_model)
        self.results.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.results.setUniformItemSizes(True)

        self.add_button = QPushButton("&Choose" if single else "&Add")
        self.add_button.setObjectName(f"add{title}")
        self.add_button.setAccessibleName(f"Choose the person found as the {role}" if single
                                          else f"Add the person found as a {role}")
        self.add_button.setAutoDefault(False)

        self.chosen_model = RowsTableModel(PERSON_COLUMNS, parent=self)
        self.chosen = QListView()
        self.chosen.setObjectName(f"{role}List")
        self.chosen.setAccessibleName(chosen_caption.rstrip(":"))
        self.chosen.setModel(self.chosen_model)
        self.chosen.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.remove_button = QPushButton("Re&move")
        self.remove_button.setObjectName(f"remove{title}")
        self.remove_button.setAccessibleName(f"Remove the selected {role}")
        self.remove_button.setAutoDefault(False)
        line = self.fontMetrics().height()
        for view in (self.results, self.chosen):
            # a few names show; no more room asked for (it would push Save down a small screen)
            view.setMinimumHeight(line * 4 + 8)
            view.setMaximumHeight(line * 7 + 8)
        if single:  # one name: one line for it
            self.chosen.setMinimumHeight(line + 10)
            self.chosen.setMaximumHeight(line * 2 + 10)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SEARCH_DELAY_MS)
        self._timer.timeout.connect(self._run_search)
        self._pending_add = False  # Enter pressed before the results for what was typed arrived
        self.search.textChanged.connect(lambda _t: self._timer.start())
        self.search.installEventFilter(self)
        self.results.installEventFilter(self)
        self.chosen.installEventFilter(self)
        self.results.activated.connect(lambda _i: self.add_current())
        self.add_button.clicked.connect(self.add_current)
        self.remove_button.clicked.connect(self.remove_current)
        self.results_model.loaded.connect(self._results_loaded)

        found = QVBoxLayout()
        found.setContentsMargins(0, 0, 0, 0)
        found_caption = QLabel("Find a person:")
        found_caption.setBuddy(self.search)
        found.addWidget(found_caption)
        found.addWidget(self.search)
        found.addWidget(self.results)
        found.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignLeft)
        listed = QVBoxLayout()
        listed.setContentsMargins(0, 0, 0, 0)
        chosen_caption_label = QLabel(chosen_caption)
        chosen_caption_label.setBuddy(self.chosen)
        listed.addWidget(chosen_caption_label)
        listed.addWidget(self.chosen)
        listed.addWidget(self.remove_button, 0, Qt.AlignmentFlag.AlignLeft)
        if single:
            listed.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(found, 1)
        layout.addLayout(listed, 1)
        self._update_buttons()

    @property
    def people(self) -> list[PersonChoice]:
        return list(self.chosen_model.rows)

    def set_people(self, people: list[PersonChoice]) -> None:
        self.chosen_model.set_rows(people)
        self._update_buttons()

    def _run_search(self) -> None:
        query = self.search.text().strip()
        if not query:
            self.results_model.set_fetch(lambda after: [])
            return
        ctx = self.ctx
        self.results_model.set_fetch(lambda after: search_people(ctx, query, limit=30, after=after))

    def _results_loaded(self) -> None:
        if self.results_model.rowCount() and not self.results.currentIndex().isValid():
            self.results.setCurrentIndex(self.results_model.index(0, 0))
        self._update_buttons()
        if self._pending_add and not self._timer.isActive():
            self._pending_add = False
            self.add_current()

    def _enter_in_search(self) -> None:
        if not self.search.text().strip():
            return
        if self._timer.isActive() or self.results_model.loading:
            self._pending_add = True  # typed faster than the search: add when it arrives
            return
        self.add_current()

    def add_current(self) -> None:
        if self._timer.isActive() or self.results_model.loading:
            return  # the list does not yet show what was typed
        index = self.results.currentIndex()
        if not index.isValid():
            if not self.results_model.rowCount():
                return
            index = self.results_model.index(0, 0)
        row: PersonRow = self.results_model.row(index.row())
        if any(p.id == row.id for p in self.chosen_model.rows):
            return
        choice = PersonChoice(row.id, row.display_name, row.external_ref, row.establishment_code, row.kind)
        self.chosen_model.set_rows([choice] if self.single else [*self.chosen_model.rows, choice])
        self.search.clear()
        self.search.setFocus()
        self._update_buttons()
        self.changed.emit()

    def remove_current(self) -> None:
        index = self.chosen.currentIndex()
        if not index.isValid():
            return
        rows = list(self.chosen_model.rows)
        del rows[index.row()]
        self.chosen_model.set_rows(rows)
        if rows:
            self.chosen.setCurrentIndex(self.chosen_model.index(min(index.row(), len(rows) - 1), 0))
        self._update_buttons()
        self.changed.emit()

    def _update_buttons(self) -> None:
        self.add_button.setEnabled(self.results_model.rowCount() > 0)
        self.remove_button.setEnabled(self.chosen_model.rowCount() > 0)

    def eventFilter(self, watched, event) -> bool:  # noqa: ANN001, N802
        from PySide6.QtCore import QEvent

        if event.type() == QEvent.Type.KeyPress:
            key = event.key()
            if watched is self.search and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self._enter_in_search()
                return True  # never the dialog's default button: that would save the session
            if watched is self.search and key == Qt.Key.Key_Down and self.results_model.rowCount():
                self.results.setFocus()
                if not self.results.currentIndex().isValid():
                    self.results.setCurrentIndex(self.results_model.index(0, 0))
                return True
            if watched is self.results and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.add_current()
                return True
            if watched is self.chosen and key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
                self.remove_current()
                return True
        return super().eventFilter(watched, event)


# -- cancelling a session ----------------------------------------------------------------------

class CancelSessionDialog(QDialog):
    """Cancel a session with a reason. Emits :attr:`cancelled` with the session record."""

    cancelled = Signal(object)

    def __init__(self, ctx: Context, session_id: str, description: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.session_id = session_id
        self._task: Task | None = None
        self.setObjectName("cancelSessionDialog")
        self.setWindowTitle("Cancel a session")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance("x") * 60)

        intro = QLabel(f"Cancel {description}?" if description else "Cancel this session?")
        intro.setObjectName("cancelIntro")
        intro.setWordWrap(True)
        note = QLabel("The session stays on record, marked as cancelled with your reason.")
        note.setWordWrap(True)
        self.reason = QLineEdit()
        self.reason.setObjectName("cancelReason")
        self.reason.setAccessibleName("Reason for cancelling")
        self.reason.setPlaceholderText("e.g. Lockdown; facilitator off sick")
        label = QLabel("&Reason:")
        label.setBuddy(self.reason)
        self.error = FieldError(self.reason)
        self.error.setObjectName("cancelReasonError")
        self.status = StatusNote()

        buttons = QDialogButtonBox()
        self.confirm_button = buttons.addButton("&Cancel the session", QDialogButtonBox.ButtonRole.AcceptRole)
        self.confirm_button.setObjectName("confirmCancel")
        self.confirm_button.setAccessibleName("Cancel the session")
        self.confirm_button.setDefault(True)
        self.keep_button = buttons.addButton("&Keep it", QDialogButtonBox.ButtonRole.RejectRole)
        self.keep_button.setObjectName("keepSession")
        self.keep_button.setAccessibleName("Keep the session")
        self.keep_button.setAutoDefault(False)
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)

        row = QHBoxLayout()
        row.addWidget(label)
        row.addWidget(self.reason, 1)
        layout = scrolling_layout(self, buttons)
        layout.addWidget(intro)
        layout.addWidget(note)
        layout.addLayout(row)
        layout.addWidget(self.error)
        layout.addWidget(self.status)
        self.reason.setFocus()

    def showEvent(self, event) -> None:  # noqa: ANN001, N802
        super().showEvent(event)
        self.reason.setFocus()

    def submit(self) -> None:
        if self._task is not None:
            return
        self.error.clear_error()
        self.confirm_button.setEnabled(False)
        self.status.say("Cancelling the session…")
        self._task = run_task(session_service.cancel_session, self.ctx, self.session_id, self.reason.text(),
                              owner=self, name="cancel a session", on_result=self._done, on_error=self._failed)

    def _done(self, record: Any) -> None:
        self._task = None
        self.cancelled.emit(record)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self._task = None
        self.status.say("")
        self.confirm_button.setEnabled(True)
        self.confirm_button.setDefault(True)
        self.error.show_error(describe_error(error))
        self.reason.setFocus()


# -- the editor ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Loaded:
    catalogue: Catalogue
    cohorts: list[Any]
    details: SessionDetails | None
    establishments: list[Any]  # at the office: where a new session can be recorded
    initiatives: list[Any] = ()  # what a session may name (the establishment's; at the office every one)


def _load(ctx: Context, session_id: str | None) -> _Loaded:
    details = session_service.get_session_details(ctx, session_id) if session_id else None
    est = details.session.establishment_id if details else None
    cohorts = session_service.list_recruit_cohorts(ctx, establishment_id=est)
    places = estate.establishments(ctx) if ctx.installation.is_office and session_id is None else []
    # (another establishment's session, held here for its people: not this PC's to name an initiative for)
    mine = ctx.installation.is_office or est in (None, ctx.installation.establishment_id)
    return _Loaded(load_catalogue(ctx), cohorts, details, places, community.initiatives(ctx, est) if mine else [])


class SessionDialog(QDialog):
    """Record a new session (``session_id=None``) or edit one. Emits :attr:`saved`."""

    saved = Signal(object)  # the session record
    loaded = Signal()  # the choices (and the session being edited) have arrived

    def __init__(self, ctx: Context, session_id: str | None = None, parent: QWidget | None = None,
                 *, on_date: dt.date | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.session_id = session_id
        self.details: SessionDetails | None = None
        self.outcome: SaveOutcome | None = None
        self._task: Task | None = None
        self._snapshot: dict[str, Any] | None = None
        self._ready = False
        self._closing = False
        self.setObjectName("sessionDialog")
        self.setWindowTitle("Record a session" if session_id is None else "Edit a session")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        if on_date is None:
            from .pages import today as today_page
            on_date = today_page.today()

        # -- what ---------------------------------------------------------------------------
        self.what_model = QStandardItemModel(self)
        self.what = QComboBox()
        self.what.setObjectName("what")
        self.what.setAccessibleName("Module or activity")
        self.what.setModel(self.what_model)
        self.what.setItemDelegate(IndentDelegate(self.what))
        # Editable, with a completer that matches anywhere in the name: typing "café" or
        # "awareness" finds the item (a plain combo's type-to-select stops at the first space).
        self.what.setEditable(True)
        self.what.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.what.lineEdit().setPlaceholderText("Loading…")
        self.what.lineEdit().setAccessibleName("Module or activity")
        completer = QCompleter(self.what_model, self.what)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.what.setCompleter(completer)
        self.what.lineEdit().editingFinished.connect(self._what_typed)
        self.what.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.what.setMinimumContentsLength(32)
        self.title_edit = self._line("title", "Title (optional)", "e.g. Burns Night café")
        # -- the initiative it belongs to (a recovery café, a mutual-aid group…), if any --------
        self.initiative = QComboBox()
        self.initiative.setObjectName("initiative")
        self.initiative.setAccessibleName("Initiative (optional)")
        self.initiative.addItem("None", None)
        self.initiative.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.initiative.setMinimumContentsLength(24)
        self._initiatives: list[Any] = []

        # -- where (the office records sessions for any establishment) ------------------------
        self.establishment = QComboBox()
        self.establishment.setObjectName("establishment")
        self.establishment.setAccessibleName("Establishment")
        self.establishment.setPlaceholderText("Choose the establishment…")
        self.ask_establishment = ctx.installation.is_office and session_id is None

        # -- when and where -------------------------------------------------------------------
        self.date = QDateEdit()
        self.date.setObjectName("date")
        self.date.setAccessibleName("Date")
        self.date.setDisplayFormat(DATE_FORMAT)
        self.date.setCalendarPopup(True)
        self.date.setDate(qdate(on_date))
        self.weekday = QLabel()
        self.weekday.setObjectName("weekday")
        self.start = self._time("startTime", "Start time", QTime(10, 0))
        self.end = self._time("endTime", "End time", QTime(11, 0))
        self.location = self._line("location", "Location", "e.g. Chapel, Education block room 2")

        # -- who ----------------------------------------------------------------------------
        self.facilitators = PersonPicker(ctx)
        self.facilitators.setObjectName("facilitators")
        self.notes = QPlainTextEdit()
        self.notes.setObjectName("notes")
        self.notes.setAccessibleName("Notes")
        self.notes.setTabChangesFocus(True)
        self.notes.setMinimumHeight(self.fontMetrics().height() * 3 + 12)
        self.notes.setMaximumHeight(self.fontMetrics().height() * 6 + 12)

        # -- recruit cohort -----------------------------------------------------------------
        self.cohort_box = QGroupBox("Recruit cohort (Recovery Awareness Training)")
        self.cohort_box.setObjectName("cohortBox")
        self.cohort = QComboBox()
        self.cohort.setObjectName("cohort")
        self.cohort.setAccessibleName("Recruit cohort")
        self.cohort_name = self._line("cohortName", "New cohort's name", "e.g. PER recruits November 2026")
        self.cohort_starts = QDateEdit()
        self.cohort_starts.setObjectName("cohortStarts")
        self.cohort_starts.setAccessibleName("New cohort's start date")
        self.cohort_starts.setDisplayFormat(DATE_FORMAT)
        self.cohort_starts.setCalendarPopup(True)
        self.cohort_starts.setDate(qdate(on_date))
        self.cohort_size = QSpinBox()
        self.cohort_size.setObjectName("cohortSize")
        self.cohort_size.setAccessibleName("New cohort's size")
        self.cohort_size.setRange(0, 500)
        self.cohort_size.setSpecialValueText("Not known")
        self.cohort_hint = QLabel("Only for Recovery Awareness Training sessions.")
        self.cohort_hint.setObjectName("cohortHint")
        self.cohort_hint.setWordWrap(True)
        self.cohort_error = FieldError(self.cohort)
        self.cohort_name_error = FieldError(self.cohort_name)
        self.cohort_starts_error = FieldError(self.cohort_starts)
        self.cohort_size_error = FieldError(self.cohort_size)
        cohort_grid = QGridLayout(self.cohort_box)
        cohort_grid.setColumnStretch(1, 1)
        self.new_cohort_widgets: list[QWidget] = []
        r = 0
        for text, field, error in (("Co&hort:", self.cohort, self.cohort_error),
                                   ("New c&ohort's name:", self.cohort_name, self.cohort_name_error),
                                   ("&Cohort starts on:", self.cohort_starts, self.cohort_starts_error),
                                   ("Cohort si&ze:", self.cohort_size, self.cohort_size_error)):
            label = QLabel(text)
            label.setBuddy(field)
            cohort_grid.addWidget(label, r, 0)
            cohort_grid.addWidget(field, r, 1)
            cohort_grid.addWidget(error, r + 1, 1)
            if field is not self.cohort:
                self.new_cohort_widgets += [label, field]
            r += 2
        cohort_grid.addWidget(self.cohort_hint, r, 0, 1, 2)

        # -- repeat -------------------------------------------------------------------------
        self.repeat = QCheckBox("Re&peat weekly until")
        self.repeat.setObjectName("repeat")
        self.repeat.setAccessibleName("Repeat weekly")
        self.repeat_until = QDateEdit()
        self.repeat_until.setObjectName("repeatUntil")
        self.repeat_until.setAccessibleName("Repeat weekly until")
        self.repeat_until.setDisplayFormat(DATE_FORMAT)
        self.repeat_until.setCalendarPopup(True)
        self.repeat_until.setDate(qdate(on_date + dt.timedelta(weeks=4)))
        self.repeat_until.setEnabled(False)
        self.repeat_note = QLabel()
        self.repeat_note.setObjectName("repeatNote")
        self.repeat_note.setWordWrap(True)
        self.repeat_error = FieldError(self.repeat_until)
        self.repeat_error.setObjectName("repeatError")

        # -- errors --------------------------------------------------------------------------
        self.what_error = FieldError(self.what)
        self.what_error.setObjectName("whatError")
        self.initiative_error = FieldError(self.initiative)
        self.initiative_error.setObjectName("initiativeError")
        self.title_error = FieldError(self.title_edit)
        self.date_error = FieldError(self.date)
        self.date_error.setObjectName("dateError")
        self.start_error = FieldError(self.start)
        self.start_error.setObjectName("startError")
        self.end_error = FieldError(self.end)
        self.end_error.setObjectName("endError")
        self.location_error = FieldError(self.location)
        self.establishment_error = FieldError(self.establishment)
        self.establishment_error.setObjectName("establishmentError")
        self.facilitators_error = FieldError(self.facilitators)
        self.facilitators_error.setObjectName("facilitatorsError")
        self.notes_error = FieldError(self.notes)
        self.general_error = FieldError()
        self.general_error.setObjectName("generalError")
        self.status = StatusNote()
        self.status.setObjectName("status")
        self.cancelled_note = QLabel()
        self.cancelled_note.setObjectName("cancelledNote")
        self.cancelled_note.setWordWrap(True)
        self.cancelled_note.hide()

        # -- buttons --------------------------------------------------------------------------
        self.buttons = QDialogButtonBox()
        self.save_button = self.buttons.addButton("&Save", QDialogButtonBox.ButtonRole.AcceptRole)
        self.save_button.setObjectName("saveButton")
        self.save_button.setAccessibleName("Save the session")
        self.save_button.setDefault(True)
        self.cancel_session_button = self.buttons.addButton("Cancel sess&ion…",
                                                            QDialogButtonBox.ButtonRole.ActionRole)
        self.cancel_session_button.setObjectName("cancelSessionButton")
        self.cancel_session_button.setAccessibleName("Cancel this session, with a reason")
        self.cancel_session_button.setAutoDefault(False)
        self.cancel_session_button.setVisible(session_id is not None)
        self.close_button = self.buttons.addButton("Close", QDialogButtonBox.ButtonRole.RejectRole)
        self.close_button.setObjectName("closeButton")
        self.close_button.setAccessibleName("Close without saving")
        self.close_button.setAutoDefault(False)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        self.cancel_session_button.clicked.connect(self.cancel_session)

        # -- layout -------------------------------------------------------------------------
        grid = QGridLayout()
        grid.setColumnStretch(1, 1)
        row = 0

        def add(text: str, field: QWidget, error: FieldError | None, extra: QWidget | None = None,
                buddy: QWidget | None = None) -> None:
            nonlocal row
            label = QLabel(text)
            label.setBuddy(buddy or (field.search if isinstance(field, PersonPicker) else field))
            grid.addWidget(label, row, 0, Qt.AlignmentFlag.AlignTop if isinstance(field, (PersonPicker, QPlainTextEdit))
                           else Qt.AlignmentFlag.AlignVCenter)
            if extra is not None:
                line = QHBoxLayout()
                line.addWidget(field)
                line.addWidget(extra, 1)
                grid.addLayout(line, row, 1)
            else:
                grid.addWidget(field, row, 1)
            if error is not None:
                grid.addWidget(error, row + 1, 1)
            row += 2

        times = QWidget()
        times_line = QHBoxLayout(times)
        times_line.setContentsMargins(0, 0, 0, 0)
        times_line.addWidget(self.start)
        end_label = QLabel("  &End:")
        end_label.setBuddy(self.end)
        times_line.addWidget(end_label)
        times_line.addWidget(self.end)
        times_line.addStretch(1)
        if self.ask_establishment:
            add("Esta&blishment:", self.establishment, self.establishment_error)
        else:
            self.establishment.hide()
        add("&What:", self.what, self.what_error)
        add("&Title:", self.title_edit, self.title_error)
        add("Initiati&ve:", self.initiative, self.initiative_error)
        add("&Date:", self.date, self.date_error, self.weekday)
        add("Sta&rt:", times, None, buddy=self.start)
        time_errors = QVBoxLayout()
        time_errors.setContentsMargins(0, 0, 0, 0)
        time_errors.addWidget(self.start_error)
        time_errors.addWidget(self.end_error)
        grid.addLayout(time_errors, row - 1, 1)
        add("&Location:", self.location, self.location_error)
        add("&Facilitators:", self.facilitators, self.facilitators_error)
        add("&Notes:", self.notes, self.notes_error)

        repeat_line = QHBoxLayout()
        repeat_line.addWidget(self.repeat)
        repeat_line.addWidget(self.repeat_until)
        repeat_line.addWidget(self.repeat_note, 1)
        self.repeat_row = QWidget()
        self.repeat_row.setLayout(repeat_line)
        repeat_line.setContentsMargins(0, 0, 0, 0)
        self.repeat_row.setVisible(session_id is None)

        layout = scrolling_layout(self, self.buttons)
        layout.addWidget(heading(self.windowTitle()))
        layout.addWidget(self.cancelled_note)
        layout.addLayout(grid)
        layout.addWidget(self.cohort_box)
        layout.addWidget(self.repeat_row)
        layout.addWidget(self.repeat_error)
        layout.addWidget(self.general_error)
        layout.addWidget(self.status)
        layout.addStretch(1)

        chain = [self.establishment, self.what, self.title_edit, self.initiative, self.date, self.start, self.end, self.location,
                 self.facilitators.search, self.facilitators.results, self.facilitators.add_button,
                 self.facilitators.chosen, self.facilitators.remove_button, self.notes,
                 self.cohort, self.cohort_name, self.cohort_starts, self.cohort_size,
                 self.repeat, self.repeat_until, self.save_button, self.cancel_session_button, self.close_button]
        chain = [w for w in chain if w.window() is self]  # fields not laid out here (establishment at a prison)
        for first, second in zip(chain, chain[1:], strict=False):
            QWidget.setTabOrder(first, second)

        self._field_errors: dict[str, FieldError] = {
            "module_id": self.what_error, "activity_type_id": self.what_error, "title": self.title_error,
            "initiative_id": self.initiative_error,
            "date": self.date_error,
            "establishment_id": self.establishment_error if self.ask_establishment else self.date_error,
            "start_time": self.start_error,
            "end_time": self.end_error, "location": self.location_error,
            "facilitator_ids": self.facilitators_error, "notes": self.notes_error,
            "recruit_cohort_id": self.cohort_error, "cohort_name": self.cohort_name_error,
            "cohort_starts_on": self.cohort_starts_error, "cohort_size": self.cohort_size_error,
            "until": self.repeat_error,
        }

        self.what.currentIndexChanged.connect(self._what_changed)
        self.cohort.currentIndexChanged.connect(self._cohort_changed)
        self.establishment.currentIndexChanged.connect(lambda _i: self._fill_initiatives())
        self.date.dateChanged.connect(self._date_changed)
        self.start.timeChanged.connect(self._start_changed)
        self.repeat.toggled.connect(self._repeat_toggled)
        self.repeat_until.dateChanged.connect(lambda _d: self._update_repeat_note())
        self._last_start = self.start.time()
        QShortcut(QKeySequence("Ctrl+S"), self, activated=self.submit)

        self._date_changed()
        self._what_changed()
        self._cohort_changed()
        self._set_enabled(False)
        self.status.say("Loading…")
        run_task(_load, ctx, session_id, owner=self, name="load the session editor",
                 on_result=self._loaded, on_error=self._load_failed)

    # -- building --------------------------------------------------------------------------

    def _line(self, name: str, accessible: str, placeholder: str = "") -> QLineEdit:
        edit = QLineEdit()
        edit.setObjectName(name)
        edit.setAccessibleName(accessible)
        edit.setPlaceholderText(placeholder)
        return edit

    def _time(self, name: str, accessible: str, value: QTime) -> QTimeEdit:
        edit = QTimeEdit()
        edit.setObjectName(name)
        edit.setAccessibleName(accessible)
        edit.setDisplayFormat("HH:mm")
        edit.setTime(value)
        return edit

    # -- loading ---------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self._ready

    def _loaded(self, loaded: _Loaded) -> None:
        details = self.details = loaded.details
        keep = None
        if details is not None:
            rec = details.session
            if rec.module_id:
                keep = ("module", rec.module_id, details.programme_code or "", "This module")
            else:
                keep = ("activity", rec.activity_type_id, "", "This activity")
        fill_what_model(self.what_model, loaded.catalogue, for_filter=False, keep=keep)
        self.what.lineEdit().setPlaceholderText("Type or choose a module or an activity…")
        self.what.setCurrentIndex(-1)
        self.what.setEditText("")
        for place in loaded.establishments:
            self.establishment.addItem(f"{place.name} ({place.code})", place.id)
        self.establishment.setCurrentIndex(-1)
        self.cohort.clear()
        self.cohort.addItem("None", None)
        cohorts = list(loaded.cohorts)
        if details is not None and details.cohort is not None and all(c.id != details.cohort.id for c in cohorts):
            cohorts.insert(0, details.cohort)
        for c in cohorts:
            self.cohort.addItem(f"{c.name} (from {c.starts_on.day} {c.starts_on:%b %Y})", c.id)
        self.cohort.addItem("New cohort…", NEW_COHORT)
        self._initiatives = list(loaded.initiatives)
        self._fill_initiatives(details.session.initiative_id if details is not None else None)
        if details is not None:
            rec = details.session
            self.what.setCurrentIndex(find_kind(self.what_model, keep))
            self.title_edit.setText(rec.title or "")
            self.date.setDate(qdate(rec.date))
            self.start.setTime(QTime.fromString(rec.start_time, "HH:mm"))
            self._last_start = self.start.time()
            self.end.setTime(QTime.fromString(rec.end_time, "HH:mm"))
            self.location.setText(rec.location or "")
            self.notes.setPlainText(rec.notes or "")
            self.facilitators.set_people(details.facilitators)
            self.cohort.setCurrentIndex(max(0, self.cohort.findData(rec.recruit_cohort_id)))
            if rec.cancelled:
                self.cancelled_note.setText(f"This session was cancelled: {rec.cancelled_reason or 'no reason given'}.")
                self.cancelled_note.show()
                self.cancel_session_button.setEnabled(False)
        self._ready = True
        self._set_enabled(True)
        self._what_changed()
        self._cohort_changed()
        self.status.say("")
        self._snapshot = self._values()
        (self.establishment if self.ask_establishment else self.what).setFocus()
        self.loaded.emit()

    def _fill_initiatives(self, chosen: str | None = None) -> None:
        """The initiatives of the session's establishment (at the office: the one chosen)."""
        if chosen is None:
            chosen = self.initiative.currentData()
        if self.details is not None:
            est = self.details.session.establishment_id
        elif self.ask_establishment:
            est = self.establishment.currentData()
        else:
            est = self.ctx.installation.establishment_id
        self.initiative.clear()
        self.initiative.addItem("None", None)
        for i in self._initiatives:
            if i.establishment_id == est:
                ended = f" (ended {day_month_year(i.ended_on)})" if i.status == "ended" and i.ended_on else (
                    " (ended)" if i.status == "ended" else "")
                self.initiative.addItem(f"{i.name}{ended}", i.id)
        self.initiative.setCurrentIndex(max(0, self.initiative.findData(chosen)))

    def _load_failed(self, error: BaseException) -> None:
        self.status.say("")
        self.general_error.show_error(describe_error(error))

    def _set_enabled(self, enabled: bool) -> None:
        for widget in (self.establishment, self.what, self.title_edit, self.initiative, self.date, self.start, self.end, self.location,
                       self.facilitators, self.notes, self.repeat, self.save_button, self.cancel_session_button):
            widget.setEnabled(enabled)
        self.cohort_box.setEnabled(enabled and self._is_rat())
        self.repeat_until.setEnabled(enabled and self.repeat.isChecked())
        if enabled:
            self.save_button.setDefault(True)
            if self.details is not None and self.details.session.cancelled:
                self.cancel_session_button.setEnabled(False)

    # -- reacting --------------------------------------------------------------------------

    def _kind(self) -> tuple | None:
        index = self.what.currentIndex()
        if index < 0 or self.what.currentText() != self.what.itemText(index):
            return None  # something typed that is not (yet) one of the choices
        return self.what.itemData(index, KIND_ROLE)

    def _what_typed(self) -> None:
        """Leaving the field: take the choice whose name was typed in full, else go back."""
        typed = self.what.currentText().strip()
        index = self.what.currentIndex()
        if index >= 0 and typed == self.what.itemText(index):
            return
        found = self.what.findText(typed, Qt.MatchFlag.MatchFixedString) if typed else -1
        if found >= 0 and self.what_model.item(found).isEnabled():
            self.what.setCurrentIndex(found)
        elif typed and index >= 0:
            self.what.setEditText(self.what.itemText(index))
        self._what_changed()

    def _is_rat(self) -> bool:
        kind = self._kind()
        return bool(kind and kind[0] == "module" and kind[2] == RAT)

    def _what_changed(self) -> None:
        rat = self._is_rat()
        self.cohort_box.setEnabled(rat and self._ready)
        self.cohort_hint.setVisible(not rat)
        self.what_error.clear_error()

    def _cohort_changed(self) -> None:
        new = self.cohort.currentData() == NEW_COHORT
        for widget in self.new_cohort_widgets:
            widget.setVisible(new)
        if new and not self.cohort_name.text():
            day = pydate(self.date.date())
            chosen = self.establishment.currentText()
            place = self.ctx.installation.establishment_code or (
                chosen[chosen.rfind("(") + 1:-1] if chosen.endswith(")") else "SRC")
            self.cohort_name.setText(f"{place} recruits {day:%B %Y}")
            self.cohort_starts.setDate(self.date.date())
        if not new:
            for error in (self.cohort_name_error, self.cohort_starts_error, self.cohort_size_error):
                error.clear_error()

    def _date_changed(self) -> None:
        day = pydate(self.date.date())
        self.weekday.setText(long_date(day))
        self._update_repeat_note()

    def _start_changed(self, value: QTime) -> None:
        """Moving the start moves the end with it (the session keeps its length)."""
        shift = self._last_start.secsTo(value)
        self._last_start = value
        if self._ready or self.session_id is None:
            moved = self.end.time().addSecs(shift)
            if shift and moved > value:
                self.end.setTime(moved)

    def _repeat_toggled(self, on: bool) -> None:
        self.repeat_until.setEnabled(on)
        self.repeat_error.clear_error()
        self._update_repeat_note()
        if on:
            self.repeat_until.setFocus()

    def _update_repeat_note(self) -> None:
        if not self.repeat.isChecked():
            self.repeat_note.setText("")
            return
        first = pydate(self.date.date())
        dates = session_service.weekly_dates(first, pydate(self.repeat_until.date()))
        if not dates:
            self.repeat_note.setText("Choose a date after the session's date.")
        else:
            self.repeat_note.setText(
                f"{plural(len(dates) + 1, 'session')} in all, every {first:%A}, the last on {dates[-1].day} {dates[-1]:%b %Y}."
            )

    # -- values ----------------------------------------------------------------------------

    def _values(self) -> dict[str, Any]:
        kind = self._kind()
        cohort = self.cohort.currentData() if self._is_rat() else None
        values: dict[str, Any] = {
            "module_id": kind[1] if kind and kind[0] == "module" else None,
            "activity_type_id": kind[1] if kind and kind[0] == "activity" else None,
            "title": self.title_edit.text().strip(),
            "initiative_id": self.initiative.currentData(),
            "date": pydate(self.date.date()),
            "start_time": self.start.time().toString("HH:mm"),
            "end_time": self.end.time().toString("HH:mm"),
            "location": self.location.text().strip(),
            "notes": self.notes.toPlainText().strip(),
            "facilitator_ids": [p.id for p in self.facilitators.people],
            "recruit_cohort_id": None if cohort in (None, NEW_COHORT) else cohort,
            "new_cohort": {
                "name": self.cohort_name.text(), "starts_on": pydate(self.cohort_starts.date()),
                "size": self.cohort_size.value() or None,
            } if cohort == NEW_COHORT else None,
            "repeat_until": pydate(self.repeat_until.date()) if self.repeat.isChecked() and self.session_id is None
            else None,
        }
        if self.ask_establishment:
            values["establishment_id"] = self.establishment.currentData()
        return values

    @property
    def dirty(self) -> bool:
        return self._snapshot is not None and self._values() != self._snapshot

    # -- saving ----------------------------------------------------------------------------

    def _clear_errors(self) -> None:
        for error in {*self._field_errors.values(), self.general_error}:
            error.clear_error()

    def submit(self) -> None:
        if self._task is not None or not self._ready:
            return
        self._clear_errors()
        values = self._values()
        new_cohort = values.pop("new_cohort")
        repeat_until = values.pop("repeat_until")
        if self.session_id is not None:
            before = dict(self._snapshot or {})
            values = {k: v for k, v in values.items() if before.get(k) != v}
            if new_cohort is None and not values:
                self._saved(SaveOutcome(self.details.session, [], None))
                return
        elif self.ask_establishment and not values.get("establishment_id"):
            self.establishment_error.show_error("Choose the establishment where the session took place.")
            self.establishment.setFocus()
            return
        elif values["module_id"] is None and values["activity_type_id"] is None:
            self.what_error.show_error("Choose the module or the activity of the session.")
            self.what.setFocus()
            return
        self._set_enabled(False)
        self.status.say("Saving…")
        self._task = run_task(session_service.save_session, self.ctx, self.session_id, new_cohort=new_cohort,
                              repeat_until=repeat_until, **values, owner=self, name="save a session",
                              on_result=self._saved, on_error=self._save_failed)

    def _saved(self, outcome: SaveOutcome) -> None:
        self._task = None
        self.outcome = outcome
        self._snapshot = None
        self.saved.emit(outcome.session)
        self.accept()

    def _save_failed(self, error: BaseException) -> None:
        self._task = None
        self.status.say("")
        self._set_enabled(True)
        field = getattr(error, "field", None) if isinstance(error, ValidationError) else None
        target = self._field_errors.get(field or "")
        message = describe_error(error)
        (target or self.general_error).show_error(message)
        if target is not None and target.field is not None and target.field.isEnabled():
            focus = target.field.search if isinstance(target.field, PersonPicker) else target.field
            focus.setFocus()
        grow_to_fit(self)

    # -- cancelling the session, closing the dialog ---------------------------------------------

    def cancel_session(self) -> None:
        if self.session_id is None or self.details is None:
            return
        rec = self.details.session
        what = self.what.currentText() or "the session"
        dialog = CancelSessionDialog(self.ctx, self.session_id,
                                     f"{what} on {rec.date.day} {rec.date:%b %Y} at {rec.start_time}", self)
        dialog.cancelled.connect(self._was_cancelled)
        self.cancel_dialog = dialog
        dialog.show()

    def _was_cancelled(self, record: Any) -> None:
        self._snapshot = None
        self.outcome = SaveOutcome(record, [], None)
        self.saved.emit(record)
        self.accept()

    def reject(self) -> None:
        if self._task is not None:
            return  # saving: wait for it
        if self.dirty and not self._closing:
            ask(self, "Discard changes?", "This session has changes that are not saved. Discard them?",
                "&Discard changes", "&Keep editing", self._discard)
            return
        super().reject()

    def _discard(self) -> None:
        self._closing = True
        self.reject()

    def closeEvent(self, event) -> None:  # noqa: ANN001, N802
        if self.dirty and not self._closing and self._task is None:
            event.ignore()
            self.reject()
            return
        super().closeEvent(event)
