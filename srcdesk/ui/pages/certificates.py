"""Certificates: every certificate issued (here, or anywhere at the office), found by serial or
name, filtered by status, establishment and programme; Save PDF…, Print… and Print preview… of
the chosen ones (anyone); issue, reissue and revoke (coordinators). The Eligible tab
(:mod:`srcdesk.ui.eligible_certificates`) lists who is due a certificate and issues a batch.

The list is a :class:`~srcdesk.ui.table_model.PagedTableModel` over
:func:`srcdesk.services.certificates.list_certificates` (keyset-paged, newest first, fetched in
the background). Enter or a double-click shows the person the certificate was issued to (the
window's People page, through :attr:`CertificatesPage.personRequested`). Writes raise the
``ladder`` topic on the data bus, after which both lists reload themselves. After a batch,
:meth:`CertificatesPage.offer` asks whether to print it or save it (tests replace it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ...models import Programme
from ...services import catalogue, certificates
from ...services.base import Context
from ...services.estate import establishments
from ...sync.authority import local_refusal
from .. import certificate_output
from ..certificate_dialogs import (
    IssueCertificateDialog,
    ReissueCertificateDialog,
    RevokeCertificateDialog,
    status_words,
)
from ..eligible_certificates import EligibleTab
from ..export import ExportButton
from ..table_model import Column, PagedTableModel, record_view
from ..tasks import run_task
from ..widgets import (
    FieldError,
    StatusNote,
    filter_combo,
    fit_placeholder,
    heading,
    hidden_unless,
    push_button,
    show_service_error,
)
from . import Page

COLUMNS = [
    Column("Serial", lambda c: c.serial, min_chars=30),  # SRC-PER-2026-3F9A-000123, in full
    Column("Name as printed", lambda c: c.recipient_name),
    Column("For", lambda c: c.title, tooltip=lambda c: c.title),
    Column("Issued", lambda c: c.issued_on),
    Column("Where", lambda c: c.place),
    Column("Status", status_words, tooltip=lambda c: c.status_reason or None, min_chars=30),
]
STATUSES = [("All statuses", None), ("Valid", "valid"), ("Revoked", "revoked"), ("Superseded", "superseded")]
PAGE_SIZE = 100
SEARCH_DELAY_MS = 150


class CertificatesPage(Page):
    key = "certificates"
    title = "Certificates"
    needs = "person.read"
    topics = frozenset({"ladder", "people", "catalogue"})

    personRequested = Signal(str)  # person id: show them on the People page

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.message = ""
        self.can_issue = ctx.can("certificate.issue")
        self.can_revoke = ctx.can("certificate.revoke")

        # -- finding --------------------------------------------------------------------------
        self.search = QLineEdit()
        self.search.setObjectName("certificateSearch")
        self.search.setAccessibleName("Search certificates by serial or name")
        self.search.setPlaceholderText("A serial (SRC-…) or words of the name as printed")
        self.search.setClearButtonEnabled(True)
        fit_placeholder(self.search)
        search_label = QLabel("&Find:")
        search_label.setBuddy(self.search)
        self.issue_button = push_button("&Issue…", "issueAction", self.issue, accessible="Issue a certificate")
        self.issue_button.setToolTip("Issue a certificate to one person (Ctrl+N)")
        hidden_unless(self.issue_button, self.can_issue)

        self.status_filter, status_label = filter_combo("S&tatus:", "statusFilter", "Show certificates with status",
                                                        STATUSES)
        self.establishment, establishment_label = filter_combo(
            "E&stablishment:", "establishmentFilter", "Show certificates issued at establishment",
            everything="All establishments")
        self.programme, programme_label = filter_combo("&Programme:", "programmeFilter",
                                                       "Show certificates for programme", everything="All programmes")

        search_row = QHBoxLayout()
        search_row.addWidget(search_label)
        search_row.addWidget(self.search, 1)
        search_row.addWidget(self.issue_button)
        filter_row = QHBoxLayout()
        filter_row.addWidget(status_label)
        filter_row.addWidget(self.status_filter)
        self.at_office = ctx.installation.is_office
        if self.at_office:  # an establishment's PC lists its own certificates (and those that came to it)
            filter_row.addWidget(establishment_label)
            filter_row.addWidget(self.establishment, 1)
        else:
            establishment_label.hide()
            self.establishment.hide()
        filter_row.addWidget(programme_label)
        filter_row.addWidget(self.programme, 1)

        # -- the list ---------------------------------------------------------------------------
        self.model = PagedTableModel(COLUMNS, parent=self)
        self.table = record_view(self.model, "certificateTable", "Certificates", stretch=2)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.activated.connect(self._open_index)
        self.table.doubleClicked.connect(self._open_index)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self.model.loaded.connect(self._list_loaded)
        self.model.failed.connect(self._show_error)
        self.model.modelReset.connect(self._update_buttons)

        self.reissue_button = push_button("&Reissue…", "reissueAction", self.reissue,
                                          accessible="Reissue the chosen certificate")
        self.revoke_button = push_button("Re&voke…", "revokeAction", self.revoke,
                                         accessible="Revoke the chosen certificate")
        self.save_button = push_button("Save P&DF…", "savePdfAction", lambda: self.save_pdf(),
                                       accessible="Save the chosen certificates as a PDF")
        self.print_button = push_button("Pri&nt…", "printAction", lambda: self.print_selected(),
                                        accessible="Print the chosen certificates")
        self.preview_button = push_button("Print previe&w…", "previewAction", lambda: self.preview_selected(),
                                          accessible="Print preview of the chosen certificates")
        self.export_button = ExportButton(ctx, "certificates", self.filters, say=lambda m: self.status.say(m),
                                          parent=self)
        actions = QHBoxLayout()
        for button in (self.save_button, self.print_button, self.preview_button):
            actions.addWidget(button)
        for button in (self.reissue_button, self.revoke_button):
            hidden_unless(button, self.can_revoke)
            actions.addWidget(button)
        actions.addWidget(self.export_button)
        actions.addStretch(1)
        self.count = StatusNote()
        self.count.setObjectName("countNote")
        actions.addWidget(self.count)

        self.status = StatusNote()
        self.status.setObjectName("status")
        self.error = FieldError()
        self.error.setObjectName("certificatesError")

        issued = QWidget()
        issued.setObjectName("issuedTab")
        issued_layout = QVBoxLayout(issued)
        issued_layout.addLayout(search_row)
        issued_layout.addLayout(filter_row)
        issued_layout.addWidget(self.table, 1)
        issued_layout.addLayout(actions)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("certificateTabs")
        self.tabs.setAccessibleName("Certificates")
        self.tabs.tabBar().setAccessibleName("Certificates issued, and people due one")
        self.tabs.addTab(issued, "Iss&ued")
        self.eligible = EligibleTab(ctx)
        self.eligible.issued.connect(self._batch_issued)
        self.tabs.addTab(self.eligible, "&Eligible")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 18, 18, 18)
        layout.addWidget(heading(self.title, scale=1.6))
        layout.addWidget(self.status)
        layout.addWidget(self.error)
        layout.addWidget(self.tabs, 1)

        order = [self.search, self.issue_button, self.status_filter,
                 *([self.establishment] if self.at_office else []), self.programme, self.table,
                 self.save_button, self.print_button, self.preview_button, self.reissue_button, self.revoke_button,
                 self.export_button]
        for first, second in zip(order, order[1:], strict=False):
            QWidget.setTabOrder(first, second)
        self.setFocusProxy(self.search)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SEARCH_DELAY_MS)
        self._timer.timeout.connect(self._reload_list)
        self.search.textChanged.connect(lambda _t: self._timer.start())
        self.search.returnPressed.connect(self._enter_in_search)
        for combo in (self.status_filter, self.establishment, self.programme):
            combo.currentIndexChanged.connect(self._reload_list)
        new = QShortcut(QKeySequence.StandardKey.New, self)
        new.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        new.activated.connect(self.issue)
        refresh_key = QShortcut(QKeySequence(QKeySequence.StandardKey.Refresh), self)
        refresh_key.activated.connect(self.refresh)
        self._choices_loaded = False
        self._update_buttons()

    # -- loading ----------------------------------------------------------------------------------

    def refresh(self) -> None:
        if not self._choices_loaded:
            self._choices_loaded = True
            if self.at_office:
                run_task(establishments, self.ctx, include_closed=True, owner=self, name="load establishments",
                         on_result=self._fill_establishments, on_error=self._show_error)
            run_task(catalogue.list_all, self.ctx, Programme, include_retired=True, owner=self,
                     name="load programmes", on_result=self._fill_programmes, on_error=self._show_error)
        self._reload_list()
        self.eligible.reload()

    def _fill_establishments(self, rows: list[Any]) -> None:
        for est in rows:
            closed = " — closed" if est.closed else ""
            self.establishment.addItem(f"{est.name} ({est.code}){closed}", est.id)
        self.eligible.add_establishments([est for est in rows if not est.closed])

    def _fill_programmes(self, rows: list[Any]) -> None:
        for programme in rows:
            retired = " — retired" if programme.retired else ""
            self.programme.addItem(f"{programme.name} ({programme.code}){retired}", programme.id)

    def filters(self) -> dict[str, Any]:
        """The list's filters as :func:`certificates.list_certificates` keyword arguments."""
        return {"status": self.status_filter.currentData(), "search": self.search.text().strip() or None,
                "establishment_id": self.establishment.currentData() if self.at_office else None,
                "programme_id": self.programme.currentData()}

    def _reload_list(self, *_: Any) -> None:
        self._timer.stop()
        ctx, filters = self.ctx, self.filters()
        self.model.set_fetch(lambda after: certificates.list_certificates(ctx, **filters, after=after,
                                                                          limit=PAGE_SIZE))

    @property
    def loading(self) -> bool:
        return self.model.loading or self._timer.isActive() or self.eligible.loading

    def _filtered(self) -> bool:
        return bool(self.search.text().strip()) or any(
            c.currentData() is not None for c in (self.status_filter, self.establishment, self.programme))

    def _list_loaded(self) -> None:
        self.error.clear_error()
        rows = self.model.rowCount()
        more = self.model.canFetchMore(QModelIndex())
        if rows == 0:
            self.count.say("No certificate matches." if self._filtered() else "No certificates have been issued yet.")
        elif more:
            self.count.say(f"The newest {rows} certificates; more appear as you scroll.")
        else:
            self.count.say(f"{rows} {'certificate' if rows == 1 else 'certificates'}.")
        if rows and not self.table.selectionModel().hasSelection():
            self.table.selectionModel().setCurrentIndex(
                self.model.index(0, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self._update_buttons()

    def _show_error(self, error: BaseException) -> None:
        show_service_error(error, self.error)

    def _enter_in_search(self) -> None:
        if self._timer.isActive():
            self._reload_list()
        self.table.setFocus()

    # -- the chosen certificates ---------------------------------------------------------------------

    @property
    def selected(self) -> list[Any]:
        """The certificates chosen in the list, in the list's order."""
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.model.row(r) for r in rows if self.model.row(r) is not None]

    @property
    def current(self) -> Any:
        """The one certificate chosen (None if none, or several)."""
        chosen = self.selected
        return chosen[0] if len(chosen) == 1 else None

    def elsewhere(self, row: Any) -> str | None:
        """Why this PC may not revoke or reissue ``row`` (issued by another establishment), or None."""
        inst = self.ctx.installation
        return local_refusal("certificate", {"establishment_id": row.establishment_id}, office=inst.is_office,
                             establishment_id=inst.establishment_id)

    def _update_buttons(self) -> None:
        chosen = self.current
        refused = self.elsewhere(chosen) if chosen is not None else None
        valid = chosen is not None and chosen.status == "valid" and refused is None
        why = ("" if valid else "Choose one valid certificate in the list" if chosen is None
               else refused or f"This certificate is {chosen.status}")
        for button in (self.reissue_button, self.revoke_button):
            button.setEnabled(valid)
            button.setToolTip(why)
        chosen_all = self.selected
        printable = bool(chosen_all) and all(r.status == "valid" for r in chosen_all)
        print_why = (f"{len(chosen_all)} chosen" if printable else "Choose valid certificates in the list (Shift or "
                     "Ctrl for several); a revoked or superseded one is never printed")
        for button in (self.save_button, self.print_button, self.preview_button):
            button.setEnabled(printable)
            button.setToolTip(print_why)
        if valid:
            self.reissue_button.setToolTip(f"Reissue {chosen.serial} with a correction: a new serial, the old one kept "
                                           "as superseded")
            self.revoke_button.setToolTip(f"Revoke {chosen.serial}, with a reason")

    def _open_index(self, index: QModelIndex) -> None:
        row = self.model.row(index)
        if row is not None:
            self.personRequested.emit(row.person_id)

    # -- actions --------------------------------------------------------------------------------------

    def issue(self) -> IssueCertificateDialog | None:
        if not self.can_issue:
            return None
        return self.open_one(IssueCertificateDialog(self.ctx, None, self))

    def reissue(self) -> ReissueCertificateDialog | None:
        chosen = self.current
        if not self.can_revoke or chosen is None or chosen.status != "valid" or self.elsewhere(chosen):
            return None
        return self.open_one(ReissueCertificateDialog(self.ctx, chosen, self))

    def revoke(self) -> RevokeCertificateDialog | None:
        chosen = self.current
        if not self.can_revoke or chosen is None or chosen.status != "valid" or self.elsewhere(chosen):
            return None
        return self.open_one(RevokeCertificateDialog(self.ctx, chosen, self))

    # -- the PDF, printing ---------------------------------------------------------------------------

    def _ids(self) -> list[str]:
        return [r.id for r in self.selected if r.status == "valid"]

    def _suggested(self, rows: list[Any]) -> str:
        return f"{rows[0].serial}.pdf" if len(rows) == 1 else f"certificates-{rows[0].issued_on.isoformat()}.pdf"

    def save_pdf(self, ids: list[str] | None = None, suggested: str | None = None) -> None:
        ids = ids if ids is not None else self._ids()
        if ids:
            certificate_output.save_pdf(self, self.ctx, ids, suggested or self._suggested(self.selected),
                                        on_saved=self._pdf_saved, on_error=self._show_error)

    def print_selected(self, ids: list[str] | None = None) -> None:
        certificate_output.print_pdf(self, self.ctx, ids if ids is not None else self._ids(),
                                     on_error=self._show_error)

    def preview_selected(self, ids: list[str] | None = None) -> None:
        certificate_output.preview_pdf(self, self.ctx, ids if ids is not None else self._ids(),
                                       on_error=self._show_error)

    def _pdf_saved(self, path: Any) -> None:
        self.message = f"Saved {path}."
        self.status.say(self.message)

    @classmethod
    def offer(cls, parent: QWidget, text: str, on_print: Callable[[], Any], on_save: Callable[[], Any]) -> QMessageBox:
        """After a batch: print it, save it as a PDF, or not now (tests replace this)."""
        box = QMessageBox(QMessageBox.Icon.Information, "Certificates issued", text, QMessageBox.StandardButton.NoButton,
                          parent)
        box.setObjectName("batchOffer")
        print_button = box.addButton("Pri&nt…", QMessageBox.ButtonRole.AcceptRole)
        save_button = box.addButton("Save P&DF…", QMessageBox.ButtonRole.ActionRole)
        later = box.addButton("Not &now", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(print_button)
        box.setEscapeButton(later)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.buttonClicked.connect(lambda button: on_print() if button is print_button
                                  else on_save() if button is save_button else None)
        box.open()
        return box

    def _batch_issued(self, batch: Any) -> None:
        self.message = self.eligible.status.text()
        self.status.say(self.message)
        self.eligible.status.say("")  # said once, at the top of the page
        ids = [c.id for c in batch.certificates]
        day = batch.certificates[0].issued_on.isoformat()
        self.offer_box = self.offer(self, f"{self.message} Print them now, or save them as one PDF?",
                                    lambda: self.print_selected(ids),
                                    lambda: self.save_pdf(ids, f"certificates-{day}-batch.pdf"))

    def dialog_saved(self, dialog: Any, _record: Any) -> None:
        self.message = getattr(dialog, "last_message", "") or "Saved."
        self.status.say(self.message)
