"""The import preview: what the chosen bundle files hold, before anything is applied.

:func:`srcdesk.services.sync.import_bundles` asks its ``preview`` once, from the worker it runs
on, while the automatic backup is made; the Import tab shows this dialog on the UI thread and
hands the answer back (:attr:`ImportPreviewDialog.answered`, emitted exactly once: Import, or
Cancel however the dialog was closed).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QHideEvent
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QGroupBox, QVBoxLayout, QWidget

from ...services.sync import BatchPreview, CheckedBundle
from ..table_model import RIGHT, Column, record_view
from ..widgets import grow_to_fit, heading, scrolling_layout
from .text import (
    changes_text,
    counts_text,
    error_text,
    gap_sentence,
    local_time,
    one_line,
    origin_text,
    records_text,
    seq_text,
    with_kind,
)
from .views import ColouredModel, error_colour, fit_columns, note, select_first, warning_colour


def checked_state(c: CheckedBundle) -> str:
    """One file's state in the preview: Ready, Refused: why, Already imported…"""
    if c.error is not None:
        return f"Refused: {error_text(c.error)}"
    if c.same_as is not None:
        return f"The same bundle as {c.same_as.name}; imported once"
    v = c.verified
    assert v is not None
    if v.already_imported:
        return "Already imported; nothing to do"
    if c.missing_before:
        return f"Ready (bundle{'s' if len(c.missing_before) > 1 else ''} {seq_text(c.missing_before)} not here yet)"
    return "Ready"


def describe_checked(c: CheckedBundle) -> str:
    """Several lines about one checked bundle, for the preview."""
    if c.error is not None:
        return f"{c.path.name}\nRefused: {error_text(c.error)}\nNothing from this file will be imported."
    v = c.verified
    assert v is not None
    office = v.origin_role == "office"
    origin = with_kind(origin_text(v), "the SRC office" if office else "an establishment PC", office=office)
    lines = [
        f"{v.path.name}",
        f"From {origin}, signed by its key and checked: nothing was changed on the way.",
        f"Bundle {v.seq}, made {local_time(v.created)}" + (" — a full bundle: everything again." if v.full else "."),
        (f"It brings {records_text(c.record_total)}: {counts_text(c.records)}"
         + (f" ({changes_text(v.total)} in all: a record can change more than once)." if v.total != c.record_total
            else ".") if c.records else
         "It brings no records: nothing changed there since its last bundle." if c.ready else
         f"It holds {changes_text(v.total)}.")
        + (f" It also passes on {v.revocations} revoked key{'' if v.revocations == 1 else 's'}."
           if v.revocations else ""),
    ]
    if c.same_as is not None:
        lines.append(f"{c.same_as.name} holds the same bundle: it is imported once.")
    elif v.already_imported:
        lines.append("Already imported: importing it again changes nothing.")
    elif c.missing_before:
        lines.append(gap_sentence(v.origin_name, c.missing_before)
                     + " This one can be imported now; import the missing ones when they arrive.")
    return "\n".join(lines)


PREVIEW_COLUMNS = [
    Column("File", lambda c: c.path.name, tooltip=lambda c: str(c.path)),
    Column("From", lambda c: origin_text(c.verified) if c.verified else ""),
    Column("Bundle", lambda c: c.verified.seq if c.verified else "", align=RIGHT),
    Column("Made", lambda c: local_time(c.verified.created) if c.verified else ""),
    Column("Records", lambda c: c.record_total if c.ready else "", align=RIGHT,
           tooltip=lambda c: counts_text(c.records) if c.records else ""),
    Column("State", lambda c: one_line(checked_state(c)), tooltip=checked_state),
]


class ImportPreviewDialog(QDialog):
    """What the chosen bundles hold; Import applies the ready ones, Cancel nothing.

    Non-blocking and window-modal (:meth:`open_`); :attr:`answered` says which, once.
    """

    answered = Signal(bool)

    def __init__(self, preview: BatchPreview, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("importPreviewDialog")
        self.setWindowTitle("Import bundles")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.preview = preview
        self.files = list(preview.files)
        self._answered = False
        ready = preview.ready

        self.model = ColouredModel(PREVIEW_COLUMNS, self._colour, self)
        self.model.set_rows(self.files)
        self.view = record_view(self.model, "previewTable", "Bundles chosen", fit=False)
        fit_columns(self.view, 48)
        rows = min(len(self.files) + 1, 6)
        self.view.setMinimumHeight(self.view.verticalHeader().defaultSectionSize() * rows + 8)
        self.view.selectionModel().currentRowChanged.connect(self._show_details)

        self.details = note("", "previewDetails")
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        details_box = QGroupBox("The bundle chosen above")
        details_layout = QVBoxLayout(details_box)
        details_layout.addWidget(self.details)

        skipped = len(self.files) - len(ready)
        summary = (f"{len(ready)} of {len(self.files)} bundles can be imported" if skipped
                   else f"{len(ready)} bundle{'' if len(ready) == 1 else 's'} ready to import")
        kinds: dict[str, int] = {}
        for c in ready:
            for table, count in c.records.items():
                kinds[table] = kinds.get(table, 0) + count
        if kinds:  # (one bundle's kinds are in its details above)
            summary += f", bringing {records_text(sum(kinds.values()))}" + (f": {counts_text(kinds)}"
                                                                           if len(ready) > 1 else "")
        backing_up = (" srcdesk is backing up the data now, while you read this." if preview.backing_up else "")
        self.backup_note = note(
            f"{summary}.{backing_up} Each bundle is then applied whole or not at all, the oldest first. Changes "
            "made in two places at once are kept for you to decide on the Conflicts tab.", "backupNote")

        self.buttons = QDialogButtonBox()
        label = f"&Import {len(ready)} bundle{'' if len(ready) == 1 else 's'}"
        self.import_button = self.buttons.addButton(label, QDialogButtonBox.ButtonRole.AcceptRole)
        self.import_button.setObjectName("importButton")
        self.import_button.setAccessibleName(label.replace("&", ""))
        self.import_button.setDefault(True)
        self.import_button.setEnabled(bool(ready))
        self.cancel_button = self.buttons.addButton("Cancel", QDialogButtonBox.ButtonRole.RejectRole)
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setAccessibleName("Cancel")
        self.cancel_button.setAutoDefault(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = scrolling_layout(self, self.buttons)
        layout.addWidget(heading("Check what the bundles hold"))
        layout.addWidget(self.view, 1)
        layout.addWidget(details_box)
        layout.addWidget(self.backup_note)
        QWidget.setTabOrder(self.view, self.import_button)
        QWidget.setTabOrder(self.import_button, self.cancel_button)
        select_first(self.view)
        self._show_details()

    def open_(self) -> ImportPreviewDialog:
        """Show it window-modal without blocking, wide enough for the file names."""
        self.setWindowModality(Qt.WindowModality.WindowModal)
        margins = self.layout().contentsMargins()
        cap = self.fontMetrics().averageCharWidth() * 48
        header = self.view.horizontalHeader()
        last = self.model.columnCount() - 1
        columns = sum(min(max(self.view.sizeHintForColumn(c), header.sectionSizeHint(c),
                              cap * 30 // 48 if c == last else 0), cap)
                      for c in range(last + 1))
        table = columns + 2 * self.view.frameWidth() + self.view.verticalScrollBar().sizeHint().width()
        screen = self.screen().availableGeometry().width() if self.screen() is not None else 1600
        width = min(max(self.sizeHint().width(), table + margins.left() + margins.right(),
                        self.fontMetrics().averageCharWidth() * 100), int(screen * 0.9))
        self.resize(width, self.sizeHint().height())
        self.show()
        grow_to_fit(self)
        self.view.setFocus()
        return self

    @property
    def first_field(self) -> QWidget:
        return self.view

    # -- the answer, exactly once ---------------------------------------------------------------

    def done(self, result: int) -> None:  # Import, Cancel, Escape, the window's close button
        self._answer(result == QDialog.DialogCode.Accepted)
        super().done(result)

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 - Qt's name; hidden by its window closing
        if not event.spontaneous():
            self._answer(False)
        super().hideEvent(event)

    def _answer(self, yes: bool) -> None:
        if not self._answered:
            self._answered = True
            self.answered.emit(yes)

    # -- the table --------------------------------------------------------------------------------

    def _colour(self, c: CheckedBundle) -> str | None:
        if c.error is not None:
            return error_colour(self)
        if c.missing_before:
            return warning_colour(self)
        return None

    def _show_details(self, *_: Any) -> None:
        c = self.model.row(self.view.currentIndex())
        self.details.setText(describe_checked(c) if c is not None else "")
        self.details.setAccessibleName(self.details.text())
