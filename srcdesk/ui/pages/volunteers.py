"""Peer volunteers: the milestone ladder, who is at each level, who is ready for the next one,
each person's progress with the sessions behind it, and sign-off, withdrawal and correction.

Everything loads in the background through :mod:`srcdesk.services.ladder`; the sign-off,
withdraw and supersede dialogs (:mod:`srcdesk.ui.signoff_dialog`) write through its services
and their commits raise ``"ladder"`` on the data bus, after which this page (and any other listening) reloads itself.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ...services import ladder
from ...services.base import Context
from ...services.estate import establishments
from ...words import plural
from ..certificate_dialogs import IssueCertificateDialog
from ..signoff_dialog import SignOffDialog, SupersedeDialog, WithdrawDialog, fit_rows
from ..table_model import RIGHT, Column, PagedTableModel, RowsTableModel, record_view
from ..tasks import Task, run_task
from ..widgets import FieldError, StatusNote, confirm, heading, push_button, show_service_error
from . import Page

BOARD_COLUMNS = [
    Column("Level", lambda b: b.level, align=RIGHT),
    Column("Name", lambda b: b.name, tooltip=lambda b: b.description),
    Column("Holders", lambda b: b.holders, align=RIGHT,
           tooltip=lambda b: f"{b.holders} people are at {b.name} now (their highest level held)"),
    Column("Eligible", lambda b: b.eligible, align=RIGHT,
           tooltip=lambda b: f"{b.eligible} people meet the rule for {b.name} and wait to be signed off"),
    Column("Rule", lambda b: b.rule),
]
HOLDER_COLUMNS = [
    Column("Name", lambda h: h.display_name),
    Column("Reference", lambda h: h.external_ref),
    Column("Since", lambda h: h.achieved_on),
    Column("Signed off by", lambda h: h.signed_off_by),
]
ELIGIBLE_COLUMNS = [
    Column("Name", lambda r: r.display_name),
    Column("Reference", lambda r: r.external_ref),
    Column("Ready for", lambda r: r.next_level),
]
STATE_WORDS = {"held": "Held", "eligible": "Eligible", "not yet": "Not yet"}
LEVEL_COLUMNS = [
    Column("Level", lambda lp: lp.level, align=RIGHT),
    Column("Name", lambda lp: lp.name, tooltip=lambda lp: lp.rule),
    Column("State", lambda lp: STATE_WORDS.get(lp.state, lp.state)),
    Column("Progress", lambda lp: lp.progress, tooltip=lambda lp: f"{lp.progress}\nRule: {lp.rule}"),
    Column("Signed off by", lambda lp: lp.signed_off_by),
]
ACHIEVEMENT_COLUMNS = [
    Column("Level", lambda a: a.level_name),
    Column("Achieved", lambda a: a.achieved_on),
    Column("Signed off by", lambda a: a.signed_off_by),
    Column("Status", lambda a: a.status.capitalize()),
    Column("Evidence", lambda a: a.evidence_count, align=RIGHT),
    Column("Reason", lambda a: a.status_reason, tooltip=lambda a: a.notes),
]
EVIDENCE_COLUMNS = [
    Column("Date", lambda e: e.date),
    Column("Session", lambda e: e.what),
    Column("Where", lambda e: e.establishment_code),
    Column("Status", lambda e: e.status),
    Column("Role", lambda e: e.role),
    Column("Counts", lambda e: e.counts, tooltip=lambda e: None if e.counts else
           "Not attended (the status does not count, or the session was cancelled)"),
    Column("Evidence for", lambda e: e.evidence_for),
]


def _table(name: str, accessible: str, model: Any, stretch: int | None = None) -> QTableView:
    view = record_view(model, name, accessible, stretch=stretch)
    # compact rows, from the font (so they scale with it)
    view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().lineSpacing() + 8)
    return view


class VolunteersPage(Page):
    """The ladder board; a level's holders and the people ready for it; one person's progress."""

    key = "volunteers"
    title = "Peer volunteers"
    topics = frozenset({"ladder", "attendance", "people", "catalogue", "sessions"})

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.person: ladder.PersonLadder | None = None
        self._person_id: str | None = None
        self._level_id: str | None = None
        self._board_task: Task | None = None
        self._person_task: Task | None = None
        self.message = ""  # what the last sign-off, withdrawal or correction did

        # at the office: every establishment's ladder (the first choice), or one establishment's
        self.establishment_combo = QComboBox()
        self.establishment_combo.setObjectName("ladderEstablishment")
        self.establishment_combo.setAccessibleName("Establishment")
        self.establishment_combo.setPlaceholderText("Loading the establishments…")
        self.establishment_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        establishment_label = QLabel("Es&tablishment:")
        establishment_label.setBuddy(self.establishment_combo)
        self._establishments_loaded = False
        self.establishment_combo.currentIndexChanged.connect(self._establishment_chosen)

        # the board
        self.board_model = RowsTableModel(BOARD_COLUMNS, self)
        self.board_view = _table("boardView", "The ladder: levels with holders and eligible people",
                                 self.board_model, stretch=4)
        self.board_view.selectionModel().currentRowChanged.connect(self._level_chosen)
        board_label = QLabel("The &ladder")
        board_label.setBuddy(self.board_view)

        # a level's people
        self.holders_model = PagedTableModel(HOLDER_COLUMNS, parent=self)
        self.holders_view = _table("holdersView", "Holders of the level", self.holders_model, stretch=0)
        self.holders_label = QLabel("&Holders")
        self.holders_label.setObjectName("holdersLabel")
        self.holders_label.setBuddy(self.holders_view)
        self.eligible_model = PagedTableModel(ELIGIBLE_COLUMNS, parent=self)
        self.eligible_view = _table("eligibleView", "Eligible for the level", self.eligible_model, stretch=0)
        self.eligible_label = QLabel("&Eligible for next level")
        self.eligible_label.setObjectName("eligibleLabel")
        self.eligible_label.setBuddy(self.eligible_view)
        for view in (self.holders_view, self.eligible_view):
            view.selectionModel().currentRowChanged.connect(self._person_chosen)
        for model in (self.holders_model, self.eligible_model):
            model.failed.connect(self._show_error)
        self.eligible_model.loaded.connect(self._eligible_loaded)
        lists = QWidget()
        lists_layout = QVBoxLayout(lists)
        lists_layout.setContentsMargins(0, 0, 0, 0)
        lists_layout.addWidget(self.eligible_label)
        lists_layout.addWidget(self.eligible_view, 1)
        lists_layout.addWidget(self.holders_label)
        lists_layout.addWidget(self.holders_view, 2)

        # one person
        self.person_title = heading("Choose a person", scale=1.2)
        self.person_title.setObjectName("personTitle")
        self.person_summary = QLabel("Choose someone from the lists to see their progress and the sessions behind it.")
        self.person_summary.setObjectName("personSummary")
        self.person_summary.setWordWrap(True)
        self.levels_model = RowsTableModel(LEVEL_COLUMNS, self)
        self.levels_view = _table("levelsView", "Progress on each level", self.levels_model, stretch=3)
        self.levels_view.selectionModel().currentRowChanged.connect(lambda *_: self._update_buttons())
        levels_label = QLabel("P&rogress")
        levels_label.setBuddy(self.levels_view)
        self.achievements_model = RowsTableModel(ACHIEVEMENT_COLUMNS, self)
        self.achievements_view = _table("achievementsView", "Achievements, including withdrawn and superseded",
                                        self.achievements_model)
        self.achievements_view.selectionModel().currentRowChanged.connect(lambda *_: self._update_buttons())
        achievements_label = QLabel("Ac&hievements")
        achievements_label.setBuddy(self.achievements_view)
        self.evidence_model = RowsTableModel(EVIDENCE_COLUMNS, self)
        self.evidence_view = _table("evidenceView", "Sessions: which, in which role", self.evidence_model, stretch=1)
        evidence_label = QLabel("Sessi&ons")
        evidence_label.setBuddy(self.evidence_view)

        self.sign_off_button = push_button("&Sign off…", "signOffAction", self.sign_off)
        self.withdraw_button = push_button("&Withdraw…", "withdrawAction", self.withdraw)
        self.supersede_button = push_button("S&upersede…", "supersedeAction", self.supersede)
        actions = QHBoxLayout()
        for button in (self.sign_off_button, self.withdraw_button, self.supersede_button):
            actions.addWidget(button)
        actions.addStretch(1)

        person_box = QGroupBox("Person")
        person_box.setObjectName("personBox")
        person_layout = QVBoxLayout(person_box)
        person_layout.addWidget(self.person_title)
        person_layout.addWidget(self.person_summary)
        person_layout.addWidget(levels_label)
        person_layout.addWidget(self.levels_view)
        person_layout.addLayout(actions)
        person_layout.addWidget(achievements_label)
        person_layout.addWidget(self.achievements_view)
        person_layout.addWidget(evidence_label)
        person_layout.addWidget(self.evidence_view, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("volunteersSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(lists)
        self.splitter.addWidget(person_box)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)

        self.status = StatusNote()
        self.status.setObjectName("status")
        self.error = FieldError()
        self.error.setObjectName("volunteersError")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 18, 18, 18)
        layout.addWidget(heading(self.title, scale=1.6))
        if ctx.installation.is_office:
            chooser = QHBoxLayout()
            chooser.addWidget(establishment_label)
            chooser.addWidget(self.establishment_combo, 1)
            chooser.addStretch(1)
            layout.addLayout(chooser)
        layout.addWidget(board_label)
        layout.addWidget(self.board_view)
        layout.addWidget(self.status)
        layout.addWidget(self.error)
        layout.addWidget(self.splitter, 1)

        order = [*([self.establishment_combo] if ctx.installation.is_office else []), self.board_view, self.eligible_view, self.holders_view, self.levels_view, self.sign_off_button,
                 self.withdraw_button, self.supersede_button, self.achievements_view, self.evidence_view]
        for first, second in zip(order, order[1:], strict=False):
            QWidget.setTabOrder(first, second)
        for view in (self.eligible_view, self.holders_view):
            view.activated.connect(lambda _index: self.levels_view.setFocus())
        refresh_key = QShortcut(QKeySequence(QKeySequence.StandardKey.Refresh), self)
        refresh_key.activated.connect(self.refresh)
        self._update_buttons()

    # -- loading --------------------------------------------------------------------------------

    @property
    def establishment_id(self) -> str | None:
        """Whose ladder is shown: this establishment's, or the one chosen at the office (None: all)."""
        if self.ctx.installation.is_office:
            return self.establishment_combo.currentData()
        return self.ctx.installation.establishment_id

    def _establishments_arrived(self, rows: list[Any]) -> None:
        self.establishment_combo.blockSignals(True)
        self.establishment_combo.addItem("All establishments", None)
        for est in rows:
            self.establishment_combo.addItem(f"{est.name} ({est.code})", est.id)
        self.establishment_combo.setCurrentIndex(0)
        self.establishment_combo.blockSignals(False)
        self.refresh()

    def _establishment_chosen(self, _index: int) -> None:
        self._level_id = None
        self.board_model.set_rows([])
        self.refresh()

    def refresh(self) -> None:
        if self.ctx.installation.is_office and not self._establishments_loaded:
            self._establishments_loaded = True
            run_task(establishments, self.ctx, owner=self, name="load establishments",
                     on_result=self._establishments_arrived, on_error=self._board_failed)
            return
        if self.ctx.installation.is_office and self.establishment_combo.currentIndex() < 0:
            return  # the establishments are on their way
        if not self.board_model.rowCount():
            self.status.say("Counting the ladder…")
        if self._board_task is not None:
            self._board_task.discard()
        self._board_task = run_task(ladder.ladder_board, self.ctx, establishment_id=self.establishment_id,
                                    owner=self, name="ladder board",
                                    on_result=self._board_loaded, on_error=self._board_failed)
        if self._person_id is not None:
            self.show_person(self._person_id)

    @property
    def loading(self) -> bool:
        return (self._board_task is not None or self._person_task is not None or self.holders_model.loading
                or self.eligible_model.loading)

    def _board_loaded(self, board: list[ladder.LevelCount]) -> None:
        self._board_task = None
        self.status.say(self.message)
        self.error.clear_error()
        keep = self._level_id
        self.board_model.set_rows(board)
        self.board_view.resizeColumnsToContents()
        fit_rows(self.board_view, 12)
        self.board_view.setMinimumWidth(0)
        row = self.board_model.find(lambda b: b.definition_id == keep) if keep else -1
        if row < 0:  # first time: the first level with someone waiting, else the first level
            row = max(0, self.board_model.find(lambda b: b.eligible > 0))
        if self.board_model.rowCount():
            self._level_id = None  # reload its lists even when the same level is chosen again
            self.board_view.selectionModel().setCurrentIndex(
                self.board_model.index(row, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)

    def _board_failed(self, error: BaseException) -> None:
        self._board_task = None
        self.status.say("")
        self._show_error(error)

    def _show_error(self, error: BaseException) -> None:
        show_service_error(error, self.error)

    def _level_chosen(self, current: QModelIndex, _previous: QModelIndex = QModelIndex()) -> None:  # noqa: B008
        level = self.board_model.row(current)
        if level is None or level.definition_id == self._level_id:
            return
        self._level_id = level.definition_id
        ctx, did, est = self.ctx, level.definition_id, self.establishment_id
        self.holders_label.setText(f"&Holders of {level.name} ({level.holders})")
        self.holders_view.setAccessibleName(f"Holders of {level.name}")
        self.eligible_label.setText(f"&Eligible for next level: {level.name} ({level.eligible})")
        self.eligible_view.setAccessibleName(f"Eligible to be signed off as {level.name}")
        self.holders_model.set_fetch(lambda after: ladder.people_at_level(ctx, did, establishment_id=est,
                                                                          after=after))
        self.eligible_model.set_fetch(lambda after: ladder.eligible_for_level(ctx, did, establishment_id=est,
                                                                              after=after))

    def _eligible_loaded(self) -> None:
        self.eligible_view.resizeColumnsToContents()

    @property
    def level(self) -> ladder.LevelCount | None:
        """The level chosen on the board."""
        return self.board_model.row(self.board_view.currentIndex())

    # -- one person -----------------------------------------------------------------------------

    def _person_chosen(self, current: QModelIndex, _previous: QModelIndex = QModelIndex()) -> None:  # noqa: B008
        row = current.model().row(current) if current.isValid() else None
        if row is not None:
            self.show_person(row.person_id)

    def show_person(self, person_id: str) -> None:
        """Show one person's progress (other pages jump here with this)."""
        self._person_id = person_id
        if self._person_task is not None:
            self._person_task.discard()
        self._person_task = run_task(ladder.person_ladder, self.ctx, person_id, owner=self, name="person's ladder",
                                     on_result=self._person_loaded, on_error=self._person_failed)

    def _person_loaded(self, person: ladder.PersonLadder) -> None:
        self._person_task = None
        keep = self.achievement
        self.person = person
        self.person_title.setText(person.display_name)
        self.person_title.setAccessibleName(person.display_name)
        bits = [f"Reference {person.external_ref}" if person.external_ref else "No reference",
                f"at {person.establishment_code}" if person.establishment_code else "no establishment",
                f"current level: {person.current_level}" if person.current_level else "no level held yet"]
        attended = sum(1 for e in person.evidence if e.counts)
        bits.append(f"{plural(attended, 'session')} attended")
        self.person_summary.setText("; ".join(bits) + ".")
        self.person_summary.setAccessibleName(self.person_summary.text())
        self.levels_model.set_rows(person.levels)
        self.achievements_model.set_rows(person.achievements)
        self.evidence_model.set_rows(person.evidence)
        for view in (self.levels_view, self.achievements_view, self.evidence_view):
            view.resizeColumnsToContents()
        fit_rows(self.levels_view, 12)
        fit_rows(self.achievements_view, 4, min_rows=2)
        for view in (self.levels_view, self.achievements_view):
            view.setMinimumWidth(0)
        ready = self.levels_model.find(lambda lp: lp.state == "eligible")
        if ready < 0:
            ready = self.levels_model.find(lambda lp: lp.state == "not yet")
        self._select(self.levels_view, ready)
        row = self.achievements_model.find(lambda a: keep is not None and a.id == keep.id)
        if row < 0:
            row = self.achievements_model.find(lambda a: a.status == "active")
        self._select(self.achievements_view, row)
        self._update_buttons()

    @staticmethod
    def _select(view: QTableView, row: int) -> None:
        if row >= 0:
            view.selectionModel().setCurrentIndex(
                view.model().index(row, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        else:
            view.selectionModel().clearSelection()
            view.selectionModel().setCurrentIndex(QModelIndex(), QItemSelectionModel.SelectionFlag.NoUpdate)

    def _person_failed(self, error: BaseException) -> None:
        self._person_task = None
        self._show_error(error)

    @property
    def ready_level(self) -> ladder.LevelProgress | None:
        """The person's level that meets its rule and waits to be signed off."""
        if self.person is None:
            return None
        return next((lp for lp in self.person.levels if lp.state == "eligible"), None)

    @property
    def achievement(self) -> ladder.AchievementRow | None:
        """The achievement chosen in the person's achievements."""
        return self.achievements_model.row(self.achievements_view.currentIndex())

    def _update_buttons(self) -> None:
        ready = self.ready_level
        self.sign_off_button.setEnabled(ready is not None)
        self.sign_off_button.setToolTip(f"Sign {self.person.display_name} off as {ready.name}"
                                        if ready is not None and self.person else
                                        "Choose someone who is eligible for their next level")
        chosen = self.achievement
        active = chosen is not None and chosen.status == "active"
        for button in (self.withdraw_button, self.supersede_button):
            button.setEnabled(active)
            button.setToolTip("" if active else "Choose an active achievement below")

    # -- actions ----------------------------------------------------------------------------------

    offer_box: QMessageBox | None = None

    @classmethod
    def offer_certificate(cls, parent: QWidget, text: str, on_yes: Any) -> QMessageBox | None:
        """After a sign-off: offer the level's certificate (tests replace this)."""
        return confirm(parent, "Signed off", text, "&Issue certificate…", on_yes,
                       informative="You can also issue it later from the Certificates page (Eligible).")

    def _open_issue(self, person_id: str, achievement_id: str) -> IssueCertificateDialog:
        dialog = IssueCertificateDialog(self.ctx, person_id, self, achievement_id=achievement_id)
        dialog.open()
        self.issue_dialog = dialog
        return dialog

    def sign_off(self) -> SignOffDialog | None:
        ready = self.ready_level
        if ready is None or self.person is None:
            return None
        return self.open_one(SignOffDialog(self.ctx, self.person.person_id, ready.definition_id, self))

    def withdraw(self) -> WithdrawDialog | None:
        chosen = self.achievement
        if chosen is None or self.person is None or chosen.status != "active":
            return None
        return self.open_one(WithdrawDialog(self.ctx, chosen, self.person.display_name, self))

    def supersede(self) -> SupersedeDialog | None:
        chosen = self.achievement
        if chosen is None or self.person is None or chosen.status != "active":
            return None
        return self.open_one(SupersedeDialog(self.ctx, chosen, self.person.display_name, self))

    def dialog_saved(self, dialog: Any, record: Any) -> None:
        self.message = getattr(dialog, "last_message", "") or "Saved."
        self.status.say(self.message)
        if isinstance(dialog, SignOffDialog) and self.ctx.can("certificate.issue"):
            person_id = dialog.person_id
            level = dialog.preview.level_name if dialog.preview else "this level"
            self.offer_box = self.offer_certificate(
                self, f"Issue a certificate for {level} now?",
                lambda: self._open_issue(person_id, record.id))
        # the bus announcement reloads the board and the person when this page is showing;
        # reload the person at once in any case so the change shows where it was made
        if self._person_id is not None and not self.isVisible():
            self.show_person(self._person_id)

