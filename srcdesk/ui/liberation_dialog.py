"""The Liberation record dialog: made with the person before they go home, saved as a PDF.

"A recovery pathway that continues seamlessly throughout their custody and on liberation carries on
into their resettlement back into their community" (the strategy). The coordinator chooses the
council area the person is going to, types their journey in their own words (the last record's
words are offered again), confirms the person agreed to the record being made and shared (and
when), sees what will be printed, and saves the PDF. Earlier records are listed, each can be
reprinted exactly as it was made. Everything runs through :func:`srcdesk.ui.tasks.run_task`.

Read-only, with the reason, for those who may not make one (recorders).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from ..dates import QT_DATE_FORMAT
from ..errors import ValidationError
from ..models import LOCAL_AUTHORITIES
from ..reports.liberation_content import file_name, sections
from ..services import liberation
from ..services.base import Context
from ..words import plural
from .export import _documents
from .progress import run_with_progress
from .session_dialog import pydate, qdate
from .table_model import Column, RowsTableModel, record_view
from .tasks import Task, run_task
from .widgets import (
    FieldError,
    StatusNote,
    choose_save_file,
    describe_error,
    grow_to_fit,
    heading,
    push_button,
    scrolling_layout,
    show_service_error,
)

PREVIEW_DELAY_MS = 300
WORDS_HEIGHT = 80  # pixels: four lines of their words (it scrolls for more)
RECORDS_HEIGHT = 84  # the header and two records
INTRO = ("Made with the person before they go home: their journey in their own words, what they did, their "
         "certificates and the recovery communities where they are going. Never an offence or a prison number.")

RECORD_COLUMNS = [
    Column("Made", lambda r: r.made_on),
    Column("At", lambda r: r.place),
    Column("By", lambda r: r.made_by),
    Column("Going to", lambda r: r.area),
    Column("Consent", lambda r: r.consent_on),
    Column("Printed", lambda r: plural(r.printed_count, "time")),
]


class _WordsEdit(QPlainTextEdit):
    """Their words: a few lines high to begin with (it scrolls for more; the dialog can grow)."""

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(420, WORDS_HEIGHT)


class LiberationDialog(QDialog):
    """Make (coordinators) or look at a person's liberation records."""

    saved = Signal(object)  # the RecordRow made

    def __init__(self, ctx: Context, person_id: str, name: str, parent: QWidget | None = None, *,
                 today: dt.date | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.person_id, self.name = ctx, person_id, name
        self.today = today or dt.date.today()
        self.allowed = ctx.can("liberation.record")
        self.saved_path: Path | None = None
        self._task: Task | None = None
        self._preview_task: Task | None = None
        self._preview: dict[str, Any] | None = None
        self.setObjectName("liberationDialog")
        self.setWindowTitle(f"Liberation record: {name}")

        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        self.reason = QLabel(ctx.refusal("liberation.record"))
        self.reason.setObjectName("readOnlyReason")
        self.reason.setWordWrap(True)
        if self.allowed:
            self.reason.hide()

        # -- the record ------------------------------------------------------------------------
        self.area = QComboBox()
        self.area.setObjectName("area")
        self.area.setAccessibleName("Council area they are going to")
        self.area.setEditable(True)
        self.area.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.area.addItems(LOCAL_AUTHORITIES)
        self.area.setCurrentIndex(-1)
        self.area.lineEdit().setPlaceholderText("Type to find the council area…")
        completer = QCompleter(list(LOCAL_AUTHORITIES), self.area)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.area.setCompleter(completer)
        self.area.installEventFilter(self)  # Enter here takes the area and moves on; it never saves
        self.area.lineEdit().installEventFilter(self)
        self.area_error = FieldError(self.area)

        self.words = _WordsEdit()
        self.words.setObjectName("ownWords")
        self.words.setAccessibleName("Their recovery journey, in their own words")
        self.words.setTabChangesFocus(True)
        self.words.setPlaceholderText("What their recovery journey in custody has meant to them, as they say it.")
        self.words.setMinimumHeight(WORDS_HEIGHT)
        self.words_error = FieldError(self.words)

        self.agreed = QCheckBox("They a&greed to this record being made and shared")
        self.agreed.setObjectName("agreed")
        self.consent_on = QDateEdit()
        self.consent_on.setObjectName("consentOn")
        self.consent_on.setAccessibleName("Date they agreed")
        self.consent_on.setDisplayFormat(QT_DATE_FORMAT)
        self.consent_on.setCalendarPopup(True)
        self.consent_on.setMaximumDate(qdate(self.today))
        self.consent_on.setDate(qdate(self.today))
        self.consent_error = FieldError(self.agreed)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        area_label = QLabel("Council &area they are going to:")
        area_label.setBuddy(self.area)
        words_label = QLabel("Their journey, in their &own words:")
        words_label.setBuddy(self.words)
        consent_label = QLabel("on &date:")
        consent_label.setBuddy(self.consent_on)
        form.addRow(area_label, self.area)
        form.addRow("", self.area_error)
        form.addRow(words_label, self.words)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        form.addRow("", self.words_error)
        consent_row = QHBoxLayout()
        consent_row.addWidget(self.agreed)
        consent_row.addSpacing(12)
        consent_row.addWidget(consent_label)
        consent_row.addWidget(self.consent_on)
        consent_row.addStretch(1)
        form.addRow("", consent_row)
        form.addRow("", self.consent_error)

        # -- what will be printed ----------------------------------------------------------------
        preview_box = QGroupBox("What will be printed")
        preview_box.setObjectName("previewBox")
        self.preview = QLabel("Choose the council area to see what will be printed.")
        self.preview.setObjectName("preview")
        self.preview.setWordWrap(True)
        self.preview.setTextFormat(Qt.TextFormat.PlainText)
        QVBoxLayout(preview_box).addWidget(self.preview)

        # -- earlier records -------------------------------------------------------------------
        records_box = QGroupBox("Records made before")
        records_box.setObjectName("recordsBox")
        self.records_model = RowsTableModel(RECORD_COLUMNS, self)
        self.records = record_view(self.records_model, "records", "Liberation records made before", stretch=1)
        self.records.setMinimumHeight(RECORDS_HEIGHT)
        self.records.setMaximumHeight(RECORDS_HEIGHT + 16)
        self.records.activated.connect(lambda *_: self.reprint())
        self.records_note = QLabel("Loading…")
        self.records_note.setObjectName("recordsNote")
        self.reprint_button = push_button("&Reprint…", "reprintButton", self.reprint,
                                          accessible="Reprint the chosen record exactly as it was made")
        self.reprint_button.setEnabled(False)
        self.reprint_button.setToolTip(self.reason.text())
        records_layout = QVBoxLayout(records_box)
        records_layout.addWidget(self.records_note)
        records_layout.addWidget(self.records, 1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.reprint_button)
        records_layout.addLayout(row)
        self.records.selectionModel().currentRowChanged.connect(lambda *_: self._update_buttons())

        self.error = FieldError()
        self.error.setObjectName("error")
        self.status = StatusNote()
        self.status.setObjectName("status")

        # -- buttons ---------------------------------------------------------------------------
        buttons = QDialogButtonBox()
        self.save_button = buttons.addButton("&Save as PDF…", QDialogButtonBox.ButtonRole.AcceptRole)
        self.save_button.setObjectName("saveButton")
        self.save_button.setAccessibleName("Make the record and save it as a PDF")
        self.save_button.setDefault(True)
        self.save_button.setEnabled(self.allowed)
        self.save_button.setToolTip(self.reason.text())
        close = buttons.addButton("&Quit", QDialogButtonBox.ButtonRole.RejectRole)
        close.setObjectName("quitButton")
        close.setAutoDefault(False)
        buttons.accepted.connect(self.save_as)
        buttons.rejected.connect(self.reject)

        layout = scrolling_layout(self, buttons)
        layout.addWidget(heading(f"Liberation record: {name}", scale=1.3))
        layout.addWidget(intro)
        layout.addWidget(self.reason)
        layout.addLayout(form)
        layout.addWidget(preview_box)
        layout.addWidget(records_box)
        layout.addWidget(self.error)
        layout.addWidget(self.status)

        for widget in (self.area, self.words, self.agreed, self.consent_on):
            widget.setEnabled(self.allowed)
        QWidget.setTabOrder(self.area, self.words)
        QWidget.setTabOrder(self.words, self.agreed)
        QWidget.setTabOrder(self.agreed, self.consent_on)
        QWidget.setTabOrder(self.consent_on, self.records)
        QWidget.setTabOrder(self.records, self.reprint_button)

        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(PREVIEW_DELAY_MS)
        self._preview_timer.timeout.connect(self._load_preview)
        self.area.currentTextChanged.connect(lambda *_: self._preview_timer.start())
        self.words.textChanged.connect(self._words_changed)
        self.resize(760, 600)
        self._load_records(prefill=True)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self.allowed:
            self.area.setFocus()
            self.area.lineEdit().selectAll()  # typing replaces the area offered from the last record
        else:
            self.records.setFocus()

    # -- loading ------------------------------------------------------------------------------

    def _load_records(self, prefill: bool = False) -> None:
        def load(ctx: Context, person_id: str) -> tuple[list[Any], tuple[str, str | None]]:
            return liberation.records(ctx, person_id), liberation.last_own_words(ctx, person_id)

        run_task(load, self.ctx, self.person_id, owner=self, name="load a person's liberation records",
                 on_result=lambda result: self._records_loaded(result, prefill), on_error=self._show_error)

    def _records_loaded(self, result: tuple[list[Any], tuple[str, str | None]], prefill: bool) -> None:
        rows, (words, area) = result
        self.records_model.set_rows(rows)
        self.records_note.setText("None yet." if not rows else
                                  f"{plural(len(rows), 'record')}; each is reprinted exactly as it was made.")
        if rows:
            self.records.setCurrentIndex(self.records_model.index(0, 0))
        if prefill and self.allowed:
            if words and not self.words.toPlainText().strip():
                self.words.setPlainText(words)
            if area and self.area.currentIndex() < 0 and area in LOCAL_AUTHORITIES:
                self.area.setCurrentIndex(LOCAL_AUTHORITIES.index(area))
        self._update_buttons()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if (watched in (self.area, self.area.lineEdit()) and event.type() == QEvent.Type.KeyPress
                and isinstance(event, QKeyEvent) and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
                and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
                and not self.area.completer().popup().isVisible()):
            # Typing an area and pressing Enter means "this one": move on to their words rather than
            # pressing Save as PDF… and showing what is still missing before it could be filled in.
            if self.chosen_area() is None:
                self.area_error.show_error("Choose the council area they are going to from the list.")
            else:
                self.area_error.clear_error()
                self.words.setFocus(Qt.FocusReason.TabFocusReason)
            return True
        return super().eventFilter(watched, event)

    def chosen_area(self) -> str | None:
        text = " ".join(self.area.currentText().split())
        return next((a for a in LOCAL_AUTHORITIES if a.casefold() == text.casefold()), None)

    def _words_changed(self) -> None:
        self.words_error.clear_error()
        if self._preview is not None:
            self._show_preview(self._preview)  # "In their own words" follows what is typed

    def _load_preview(self) -> None:
        area = self.chosen_area()
        self.area_error.clear_error()
        if area is None:
            self._preview = None
            self.preview.setText("Choose the council area to see what will be printed.")
            return
        if self._preview_task is not None:
            self._preview_task.discard()
        self.preview.setText("Gathering what will be printed…")
        self._preview_task = run_task(liberation.preview, self.ctx, self.person_id, area=area, owner=self,
                                      name="gather a liberation record", on_result=self._preview_loaded,
                                      on_error=self._preview_failed)

    def _preview_loaded(self, content: dict[str, Any]) -> None:
        self._preview_task = None
        if content["area"] != self.chosen_area():
            return
        self._preview = content
        self._show_preview(content)

    def _show_preview(self, content: dict[str, Any]) -> None:
        content = {**content, "own_words": self.words.toPlainText().strip()}
        parts = []
        for title, count in sections(content):
            if title == "In their own words":
                parts.append(f"{title}: {'yes' if count else 'nothing typed yet'}")
            else:
                parts.append(f"{title}: {count}")
        self.preview.setText(f"“My recovery journey”, for {content['name']}. " + " · ".join(parts) + ".")
        grow_to_fit(self)

    def _preview_failed(self, error: BaseException) -> None:
        self._preview_task = None
        self.preview.setText("")
        self.error.show_error(describe_error(error))

    def _show_error(self, error: BaseException) -> None:
        self.records_note.setText("")
        self.error.show_error(describe_error(error))

    def _update_buttons(self) -> None:
        busy = self._task is not None
        self.save_button.setEnabled(self.allowed and not busy)
        self.reprint_button.setEnabled(self.allowed and not busy and self.selected_record() is not None)

    def selected_record(self) -> Any | None:
        index = self.records.currentIndex()
        if not index.isValid() or index.row() >= self.records_model.rowCount():
            return None
        return self.records_model.row(index.row())

    # -- saving ---------------------------------------------------------------------------------

    @classmethod
    def ask_path(cls, parent: QWidget, suggested: str, on_chosen: Callable[[Path], Any]) -> Any:
        """Ask where to save the PDF without blocking (tests replace this)."""
        return choose_save_file(parent, "Save the liberation record", suggested, "PDF files (*.pdf)", "pdf",
                                "saveLiberationDialog", on_chosen)

    def _check(self) -> bool:
        ok = True
        if self.chosen_area() is None:
            self.area_error.show_error("Choose the council area they are going to from the list.")
            self.area.setFocus()
            ok = False
        if not self.agreed.isChecked():
            self.consent_error.show_error("Tick this once the person has agreed to the record being made and "
                                          "shared: it is not made without their consent.")
            if ok:
                self.agreed.setFocus()
            ok = False
        return ok

    def save_as(self) -> None:
        if not self.allowed or self._task is not None:
            return
        self.error.clear_error()
        if not self._check():
            return
        suggested = str(_documents() / file_name({"name": self.name}))
        self.ask_path(self, suggested, self.write)

    def write(self, path: Path) -> None:
        """Make the record and write its PDF at ``path`` in the background."""
        if self._task is not None:
            return
        area = self.chosen_area()
        if area is None or not self.agreed.isChecked():
            self._check()
            return
        self.status.say("Making the liberation record…")
        self._task, self.progress_dialog = run_with_progress(
            self, liberation.make_record, self.ctx, self.person_id, area=area, own_words=self.words.toPlainText(),
            consent_on=pydate(self.consent_on.date()), write_to=path, title="Liberation record",
            label="Making the liberation record…", on_result=lambda row: self._written(row, path),
            on_error=self._failed, name="make a liberation record")
        self._update_buttons()

    def _written(self, row: Any, path: Path) -> None:
        self._task = None
        self.saved_path = path
        self.status.say(f"Saved {path.name} in {path.parent}. Give it to {self.name}; a copy of what was printed "
                        "is kept and can be reprinted.")
        self._load_records()
        self._update_buttons()
        self.saved.emit(row)

    def _failed(self, error: BaseException) -> None:
        self._task = None
        self.status.say("")
        self._update_buttons()
        fields = {"area": self.area_error, "consent_on": self.consent_error, "own_words": self.words_error}
        if isinstance(error, ValidationError):
            show_service_error(error, self.error, fields)
        else:
            self.error.show_error(describe_error(error))

    def reprint(self) -> None:
        record = self.selected_record()
        if record is None or not self.allowed or self._task is not None:
            return
        self.error.clear_error()
        suggested = str(_documents() / file_name({"name": record.name}))
        self.ask_path(self, suggested, lambda path: self._reprint_to(record, path))

    def _reprint_to(self, record: Any, path: Path) -> None:
        if self._task is not None:
            return
        self.status.say("Reprinting…")
        self._task, self.progress_dialog = run_with_progress(
            self, liberation.reprint, self.ctx, record.id, write_to=path, title="Liberation record",
            label="Reprinting the liberation record…", on_result=lambda _content: self._reprinted(record, path),
            on_error=self._failed, name="reprint a liberation record")
        self._update_buttons()

    def _reprinted(self, record: Any, path: Path) -> None:
        self._task = None
        self.saved_path = path
        self.status.say(f"Reprinted the record of {record.made_on.day} {record.made_on:%b %Y} as it was made: "
                        f"{path.name} in {path.parent}.")
        self._load_records()
        self._update_buttons()

    def reject(self) -> None:
        for task in (self._task, self._preview_task):
            if task is not None:
                task.discard()
        self._task = self._preview_task = None
        super().reject()
