"""The Certificates page's Eligible tab: who meets a completion rule and holds no certificate for
it yet, and "Issue selected" (coordinators), a graduation's batch in one go.

The list is keyset-paged over :func:`srcdesk.services.eligibility.eligible_certificates` (this
establishment's people; at the office everyone, or one establishment's). The chosen rows are
issued by one :func:`srcdesk.services.certificates.issue_batch` in the background, with a
progress dialog (:func:`srcdesk.ui.progress.run_with_progress`): all of them or, if one is
refused, none. The question before it goes through :meth:`EligibleTab.ask` (tests replace it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QModelIndex, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from ..dates import DATE_HINT, numeric_date
from ..services import certificates
from ..services.base import Context
from ..services.eligibility import eligible_certificates
from ..words import plural
from .export import ExportButton
from .progress import run_with_progress
from .table_model import Column, PagedTableModel, record_view
from .tasks import Task
from .widgets import (
    FieldError,
    StatusNote,
    confirm,
    filter_combo,
    fit_placeholder,
    hidden_unless,
    push_button,
    show_service_error,
)

KIND_WORDS = {"programme": "Programme", "award": "Award", "module": "Module", "milestone": "Ladder level"}
KINDS = [("All kinds", None), ("Programmes", "programme"), ("Awards", "award"), ("Modules", "module"),
         ("Ladder levels", "milestone")]
COLUMNS = [
    Column("Name", lambda r: r.display_name),
    Column("Reference", lambda r: r.external_ref),
    Column("Where", lambda r: r.establishment_code),
    Column("Kind", lambda r: KIND_WORDS.get(r.kind, r.kind)),
    Column("For", lambda r: r.title, tooltip=lambda r: f"{r.title} ({r.award_code})"),
    Column("Completed", lambda r: r.completed_on),
]
PAGE_SIZE = 200


def requests_for(rows: list[Any]) -> list[certificates.IssueRequest]:
    """What to issue for these eligible rows (each with the person's own name as printed)."""
    return [certificates.IssueRequest(r.person_id, r.kind, r.programme_id, r.module_id, r.achievement_id)
            for r in rows]


class EligibleTab(QWidget):
    """People due a certificate, several chosen at once, issued together."""

    issued = Signal(object)  # the srcdesk.services.certificates.Batch just issued

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("eligibleTab")
        self.can_issue = ctx.can("certificate.issue")
        self.at_office = ctx.installation.is_office
        self.batch_task: Task | None = None
        self.progress_dialog: Any = None
        self.last_batch: certificates.Batch | None = None
        self.confirm_box: QMessageBox | None = None

        self.kind, kind_label = filter_combo("&Kind:", "eligibleKind", "Show certificates due of kind", KINDS)
        self.establishment, establishment_label = filter_combo(
            "Es&tablishment:", "eligibleEstablishment", "Show people due a certificate at establishment",
            everything="All establishments")
        filters = QHBoxLayout()
        filters.addWidget(kind_label)
        filters.addWidget(self.kind)
        if self.at_office:
            filters.addWidget(establishment_label)
            filters.addWidget(self.establishment, 1)
        else:
            establishment_label.hide()
            self.establishment.hide()
            filters.addStretch(1)

        self.model = PagedTableModel(COLUMNS, parent=self)
        self.table = record_view(self.model, "eligibleTable", "People due a certificate", stretch=4)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_button())
        self.model.loaded.connect(self._loaded)
        self.model.failed.connect(self._show_error)
        self.model.modelReset.connect(self._update_button)

        self.issued_on = QLineEdit()
        self.issued_on.setObjectName("batchIssuedOn")
        self.issued_on.setAccessibleName("Date of issue")
        self.issued_on.setPlaceholderText(DATE_HINT)
        self.issued_on.setMaxLength(20)
        self.issued_on.setText(numeric_date(dt.date.today()))
        fit_placeholder(self.issued_on)
        date_label = QLabel("&Date of issue:")
        date_label.setBuddy(self.issued_on)
        self.issue_button = push_button("Issue &selected…", "issueSelectedAction", self.issue_selected,
                                        accessible="Issue certificates to the people chosen")
        actions = QHBoxLayout()
        for widget in (date_label, self.issued_on, self.issue_button):
            actions.addWidget(widget)
            hidden_unless(widget, self.can_issue)
        self.export_button = ExportButton(ctx, "eligible", self.filters, say=lambda m: self.status.say(m),
                                          parent=self)
        actions.addWidget(self.export_button)
        actions.addStretch(1)
        self.count = StatusNote()
        self.count.setObjectName("eligibleCount")
        actions.addWidget(self.count)
        self.status = StatusNote()
        self.status.setObjectName("eligibleStatus")
        self.error = FieldError(self.issued_on)
        self.error.setObjectName("eligibleError")

        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addLayout(actions)
        layout.addWidget(self.status)
        layout.addWidget(self.error)
        order = [self.kind, *([self.establishment] if self.at_office else []), self.table, self.issued_on,
                 self.issue_button, self.export_button]
        for first, second in zip(order, order[1:], strict=False):
            QWidget.setTabOrder(first, second)
        self.kind.currentIndexChanged.connect(self.reload)
        self.establishment.currentIndexChanged.connect(self.reload)
        self._update_button()

    # -- loading ----------------------------------------------------------------------------------

    def add_establishments(self, rows: list[Any]) -> None:
        for est in rows:
            self.establishment.addItem(f"{est.name} ({est.code})", est.id)

    def filters(self) -> dict[str, Any]:
        """The list's filters as :func:`eligible_certificates` keyword arguments."""
        return {"kind": self.kind.currentData(),
                "establishment_id": self.establishment.currentData() if self.at_office else None}

    def reload(self, *_: Any) -> None:
        ctx, filters = self.ctx, self.filters()
        self.model.set_fetch(lambda after: eligible_certificates(ctx, **filters, after=after, limit=PAGE_SIZE))

    @property
    def loading(self) -> bool:
        return self.model.loading or self.batch_task is not None

    def _loaded(self) -> None:
        rows = self.model.rowCount()
        more = self.model.canFetchMore(QModelIndex())
        if rows == 0:
            self.count.say("No one is due a certificate.")
        elif more:
            self.count.say(f"The first {rows} certificates due; more appear as you scroll.")
        else:
            self.count.say(f"{plural(rows, 'certificate')} due.")
        self._update_button()

    def _show_error(self, error: BaseException) -> None:
        show_service_error(error, self.error, {"issued_on": self.error})

    # -- issuing ------------------------------------------------------------------------------------

    @property
    def selected(self) -> list[Any]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.model.row(r) for r in rows if self.model.row(r) is not None]

    def _update_button(self) -> None:
        n = len(self.selected)
        self.issue_button.setEnabled(self.can_issue and n > 0 and self.batch_task is None)
        self.issue_button.setToolTip(f"Issue {plural(n, 'certificate')} at once, as one batch" if n else
                                     "Choose people in the list (Shift or Ctrl for several, Ctrl+A for all)")

    @classmethod
    def ask(cls, parent: QWidget, text: str, on_yes: Callable[[], Any]) -> QMessageBox | None:
        """Ask before issuing a batch (tests replace this)."""
        return confirm(parent, "Issue the certificates?", text, "&Issue", on_yes,
                       informative="Each gets a serial and a signed QR code now, with the person's name as "
                                   "registered; to print another name, issue that one from their page.")

    def issue_selected(self) -> None:
        rows = self.selected
        if not self.can_issue or not rows or self.batch_task is not None:
            return
        people = len({r.person_id for r in rows})
        text = f"Issue {plural(len(rows), 'certificate')} to {plural(people, 'person', 'people')}, dated " \
               f"{self.issued_on.text().strip()}?"
        self.confirm_box = self.ask(self, text, lambda: self._issue(rows))

    def _issue(self, rows: list[Any]) -> None:
        self.error.clear_error()
        self.status.say("Issuing…")
        self.batch_task, self.progress_dialog = run_with_progress(
            self, certificates.issue_batch, self.ctx, requests_for(rows), issued_on=self.issued_on.text().strip(),
            title="Issue certificates", label=f"Issuing {plural(len(rows), 'certificate')}…", reports_progress=True,
            on_result=self._issued, on_error=self._failed, name="issue a batch of certificates")
        self._update_button()

    def _issued(self, batch: certificates.Batch) -> None:
        self.batch_task = None
        self.last_batch = batch
        first, last = batch.certificates[0].serial, batch.certificates[-1].serial
        serials = first if len(batch.certificates) == 1 else f"{first} to {last}"
        self.status.say(f"Issued {plural(len(batch.certificates), 'certificate')} ({serials}).")
        self._update_button()
        self.issued.emit(batch)

    def _failed(self, error: BaseException) -> None:
        self.batch_task = None
        self.status.say("")
        self._show_error(error)
        self._update_button()
