"""The Pathways page's "Community organisations" tab: the local Lived Experience Recovery
Organisations (LEROs), recovery communities and other recovery-oriented services, and which
establishments they connect to (the strategy's "local connectivity between prisons and their
local LEROs").

They are shared reference data kept at the SRC office: its coordinators add, edit, retire,
connect and disconnect them (a reason asked); every other PC shows them read-only with the reason,
and they reach it in the office's bundles. Reads and writes go through
:mod:`srcdesk.services.community` in the background; the page calls :meth:`refresh` when shown and
when the data changes.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QTextOption
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ..errors import ValidationError
from ..models.community import LOCAL_AUTHORITIES, ORGANISATION_KINDS
from ..services import community, estate
from ..services.base import Context
from .catalogue_dialogs import FormDialog, ReasonedDialog
from .table_model import Column, RowsTableModel, record_view
from .tasks import Task, run_task
from .widgets import StatusNote, confirm, describe_error, filter_combo, hidden_unless, open_one, push_button

# Short words for the table (the detail shows the whole name of the kind).
KIND_SHORT = {"lero": "LERO", "recovery_community": "Recovery community", "service": "Service"}
LOADING = "Loading the community organisations…"


def _one_line(value: str | None) -> str:
    return " ".join((value or "").split())


COLUMNS = [
    Column("Name", lambda o: o.name + (" (retired)" if o.retired else ""), tooltip=lambda o: o.name, min_chars=24),
    Column("Kind", lambda o: KIND_SHORT.get(o.kind, o.kind_label), tooltip=lambda o: o.kind_label),
    Column("Area", lambda o: o.area or ""),
    Column("Connected to", lambda o: o.connected_codes or "None",
           tooltip=lambda o: ", ".join(c.name for c in o.connections) or None, min_chars=12),
    Column("What they offer", lambda o: _one_line(o.offers), tooltip=lambda o: o.offers or None),
]


@dataclass(frozen=True)
class Filters:
    search: str = ""
    area: str | None = None
    kind: str | None = None
    establishment_id: str | None = None
    include_retired: bool = False


@dataclass(frozen=True)
class Snapshot:
    organisations: list[community.OrganisationView]
    establishments: list[Any]  # open establishments, for the filter and the Connect dialog


def load(ctx: Context, filters: Filters) -> Snapshot:
    rows = community.list_organisations(ctx, area=filters.area, kind=filters.kind,
                                        establishment_id=filters.establishment_id, search=filters.search,
                                        include_retired=filters.include_retired)
    return Snapshot(rows, estate.establishments(ctx))


class OrganisationsView(QWidget):
    """The list with its filters, the chosen organisation's details, and (at the office, for
    coordinators) the buttons that change them."""

    loaded = Signal()  # a snapshot has been shown (tests wait for it)

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("organisationsView")
        self.ctx = ctx
        self.refusal = community.may_edit_organisations(ctx)  # None when this user may change them here
        self.editable = self.refusal is None
        self.snapshot: Snapshot | None = None
        self._task: Task | None = None
        self._wanted: str | None = None  # the organisation to select after the next load
        self.dialog: Any = None

        # One line each, unwrapped: a wrapped label would make the page ask for its height at
        # every width and scroll on a 600-pixel-high screen.
        intro = QLabel("Mapping and connectivity of visible local recovery communities and LEROs into prison "
                       "recovery development.")
        intro.setObjectName("organisationsIntro")
        intro.setToolTip("Lived Experience Recovery Organisations (LEROs), recovery communities and other "
                         "recovery-oriented services, and the establishments they connect to.")
        self.read_only_note = QLabel(f"Read only. {self.refusal}" if self.refusal else "")
        self.read_only_note.setObjectName("readOnlyNote")
        hidden_unless(self.read_only_note, not self.editable)

        # filters
        self.search = QLineEdit()
        self.search.setObjectName("organisationSearch")
        self.search.setAccessibleName("Search community organisations")
        self.search.setPlaceholderText("Name, area or what they offer")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(lambda _t: self.refresh(quiet=True))
        search_label = QLabel("&Search:")
        search_label.setBuddy(self.search)
        self.area_combo, area_label = filter_combo("&Area:", "organisationArea", "Council area",
                                                   [(a, a) for a in LOCAL_AUTHORITIES], everything="All areas")
        self.kind_combo, kind_label = filter_combo("&Kind:", "organisationKind", "Kind of organisation",
                                                   [(KIND_SHORT[k], k) for k in ORGANISATION_KINDS],
                                                   everything="All kinds")
        self.connected_combo, connected_label = filter_combo("Co&nnected to:", "organisationConnectedTo",
                                                             "Connected to establishment",
                                                             everything="Any establishment")
        for combo, chars in ((self.area_combo, 16), (self.kind_combo, 12), (self.connected_combo, 18)):
            # never as wide as the longest name (the search box keeps its room); the list opens wider
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(chars)
            combo.view().setMinimumWidth(combo.fontMetrics().horizontalAdvance("x") * (chars + 16))
            combo.activated.connect(lambda _i: self.refresh(quiet=True))
        self.search.setMinimumWidth(self.fontMetrics().horizontalAdvance("x") * 18)
        self.retired_box = QCheckBox("Incl&ude retired")
        self.retired_box.setObjectName("includeRetired")
        self.retired_box.toggled.connect(lambda _on: self.refresh(quiet=True))
        # two rows, so the tab fits a 1024-pixel-wide screen
        searching = QHBoxLayout()
        searching.addWidget(search_label)
        searching.addWidget(self.search, 1)
        searching.addSpacing(12)
        searching.addWidget(self.retired_box)
        choosing = QHBoxLayout()
        for i, (label, combo) in enumerate(((area_label, self.area_combo), (kind_label, self.kind_combo),
                                            (connected_label, self.connected_combo))):
            if i:
                choosing.addSpacing(12)
            choosing.addWidget(label)
            choosing.addWidget(combo)
        choosing.addStretch(1)
        filters = QVBoxLayout()
        filters.addLayout(searching)
        filters.addLayout(choosing)

        # the list
        self.model = RowsTableModel(COLUMNS, self)
        self.table = record_view(self.model, "organisationsTable", "Community organisations", stretch=len(COLUMNS) - 1)
        self.table.activated.connect(lambda _index: self._edit() if self.editable else None)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.count_label = QLabel()
        self.count_label.setObjectName("organisationsCount")

        # the chosen one
        self.detail = OrganisationDetail()
        detail_box = QGroupBox("Details")
        detail_box.setObjectName("organisationDetailBox")
        QVBoxLayout(detail_box).addWidget(self.detail)

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.table, 1)
        ll.addWidget(self.count_label)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.setObjectName("organisationsSplitter")
        split.setChildrenCollapsible(False)
        split.addWidget(left)
        split.addWidget(detail_box)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 0)
        ch = self.fontMetrics().horizontalAdvance("x")
        split.setSizes([ch * 110, ch * 32])

        # changes (coordinators at the office)
        self.add_button = push_button("Ne&w organisation…", "newOrganisationButton", self._add)
        self.edit_button = push_button("&Edit…", "editOrganisationButton", self._edit)
        self.retire_button = push_button("Re&tire…", "retireOrganisationButton", self._retire)
        self.connect_button = push_button("&Connect to establishment…", "connectOrganisationButton", self._connect)
        self.disconnect_button = push_button("&Disconnect…", "disconnectOrganisationButton", self._disconnect)
        self.buttons = (self.add_button, self.edit_button, self.retire_button, self.connect_button,
                        self.disconnect_button)
        row = QHBoxLayout()
        for b in self.buttons:
            hidden_unless(b, self.editable)
            row.addWidget(b)
        row.addStretch(1)

        self.status = StatusNote()
        self.status.setObjectName("organisationsStatus")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(intro)
        layout.addWidget(self.read_only_note)
        layout.addLayout(filters)
        layout.addWidget(split, 1)
        layout.addLayout(row)
        layout.addWidget(self.status)

        order = [self.search, self.area_combo, self.kind_combo, self.connected_combo, self.retired_box, self.table,
                 self.detail,
                 *self.buttons]
        for a, b in zip(order, order[1:], strict=False):
            QWidget.setTabOrder(a, b)
        self.setFocusProxy(self.table)
        self._selection_changed()

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        """No: a wrapped status line would otherwise make the page ask for its height at every
        width and scroll on a 600-pixel-high screen (the list and the details scroll instead)."""
        return False

    def sizeHint(self) -> QSize:  # noqa: N802
        """Wide as it likes, but no taller than a 600-pixel-high screen has room for (the list and
        the details scroll)."""
        hint = super().sizeHint()
        return QSize(hint.width(), min(hint.height(), self.minimumSizeHint().height() + 80))

    # -- loading -------------------------------------------------------------------------------

    def filters(self) -> Filters:
        return Filters(self.search.text().strip(), self.area_combo.currentData(), self.kind_combo.currentData(),
                       self.connected_combo.currentData(), self.retired_box.isChecked())

    def refresh(self, *, quiet: bool = False) -> None:
        """Read them again in the background (``quiet``: keep what the status line says)."""
        if self._task is not None:
            self._task.discard()
        if not quiet or self.snapshot is None:
            self.status.say(LOADING)
        self._task = run_task(load, self.ctx, self.filters(), owner=self, on_result=self._show,
                              on_error=self._failed, name="load the community organisations")

    def _failed(self, error: BaseException) -> None:
        self._task = None
        self.status.say(f"The community organisations could not be read: {describe_error(error)}")

    def _show(self, snap: Snapshot) -> None:
        self._task = None
        self.snapshot = snap
        if self.status.text() == LOADING:
            self.status.say("")
        chosen = self.connected_combo.currentData()
        self.connected_combo.clear()
        self.connected_combo.addItem("Any establishment", None)
        for e in snap.establishments:
            self.connected_combo.addItem(f"{e.name} ({e.code})", e.id)
        self.connected_combo.setCurrentIndex(max(0, self.connected_combo.findData(chosen)))
        keep = self._wanted or (self.selected().id if self.selected() else None)
        self._wanted = None
        self.model.set_rows(snap.organisations)
        n = len(snap.organisations)
        filtered = self.filters() != Filters()
        self.count_label.setText(
            f"{n} organisation{'s' if n != 1 else ''}" + (" match." if filtered else ".") if n else
            ("None match: change the filters." if filtered else
             "No community organisations yet." + (" Add one with New organisation." if self.editable else
                                                   " They come with the office's bundles.")))
        row = self.model.find(lambda o: o.id == keep) if keep else -1
        if row < 0 and n:
            row = 0
        if row >= 0:
            self.table.selectRow(row)
        self._selection_changed()
        self.loaded.emit()

    # -- the chosen one ------------------------------------------------------------------------

    def selected(self) -> community.OrganisationView | None:
        model = self.table.selectionModel()
        rows = model.selectedRows() if model is not None else []
        return self.model.row(rows[0].row()) if rows else None

    def _selection_changed(self, *_: Any) -> None:
        org = self.selected()
        self.detail.show_organisation(org)
        live = org is not None and not org.retired
        self.edit_button.setEnabled(org is not None)
        self.retire_button.setEnabled(org is not None)
        self.retire_button.setText("&Bring back…" if org is not None and org.retired else "Re&tire…")
        self.retire_button.setAccessibleName("Bring back" if org is not None and org.retired else "Retire")
        open_ids = {e.id for e in (self.snapshot.establishments if self.snapshot else [])}
        linked = {c.establishment_id for c in org.connections} if org else set()
        self.connect_button.setEnabled(live and bool(open_ids - linked))
        self.disconnect_button.setEnabled(org is not None and bool(linked))

    # -- changes -------------------------------------------------------------------------------

    def _open(self, dialog: Any) -> None:
        open_one(self, dialog, on_saved=self._saved, say=self.status.say)

    def _saved(self, result: Any) -> None:
        chosen = self.selected()
        self._wanted = getattr(result, "id", None) or (chosen.id if chosen else None)  # a new one, else as was
        self.refresh(quiet=True)

    def _add(self) -> None:
        if self.editable:
            self._open(OrganisationDialog(self.ctx, None, self))

    def _edit(self) -> None:
        org = self.selected()
        if self.editable and org is not None:
            self._open(OrganisationDialog(self.ctx, org, self))

    def _retire(self) -> None:
        org = self.selected()
        if not self.editable or org is None:
            return
        if org.retired:
            self._run(community.retire_organisation, (self.ctx, org.id, False),
                      f"{org.name} is back; establishments see it with the next bundle.", org.id)
            return
        self.question_box = confirm(
            self, "Retire organisation?", f"Retire {org.name}?", "&Retire",
            lambda: self._run(community.retire_organisation, (self.ctx, org.id),
                              f"Retired {org.name}; establishments see it with the next bundle.", org.id),
            no_text="&Keep it",
            informative="It is no longer listed or offered on liberation records; referrals and records that "
                        "name it keep it. It can be brought back.")

    def _run(self, fn: Callable[..., Any], args: tuple, message: str, org_id: str) -> None:
        self.status.say("Saving…")

        def done(_result: Any) -> None:
            self.status.say(message)
            self._wanted = org_id
            self.refresh(quiet=True)

        run_task(fn, *args, owner=self, on_result=done, on_error=lambda e: self.status.say(describe_error(e)),
                 name="change a community organisation")

    def _connect(self) -> None:
        org = self.selected()
        if self.editable and org is not None and self.snapshot is not None:
            linked = {c.establishment_id for c in org.connections}
            choices = [e for e in self.snapshot.establishments if e.id not in linked]
            if choices:
                self._open(ConnectDialog(self.ctx, org, choices, self))

    def _disconnect(self) -> None:
        org = self.selected()
        if self.editable and org is not None and org.connections:
            self._open(DisconnectDialog(self.ctx, org, self))


DETAIL_FIELDS = (("kind", "Kind"), ("area", "Area"), ("offers", "What they offer"), ("contact", "Contact"),
                 ("connections", "Connected to"), ("notes", "Notes"))


class OrganisationDetail(QTextBrowser):
    """What is known about one organisation, as text that wraps (a long email address too),
    scrolls and can be selected and copied."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("organisationDetail")
        self.setAccessibleName("Details of the organisation")
        self.setOpenLinks(False)
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setTabChangesFocus(True)
        self.texts: dict[str, str] = {}
        self.title = ""
        self.show_organisation(None)

    def show_organisation(self, org: community.OrganisationView | None) -> None:
        if org is None:
            self.title, self.texts = "", {}
            self.setPlainText("Choose an organisation in the list to see its details.")
            return
        self.title = org.name + (" (retired)" if org.retired else "")
        self.texts = {
            "kind": org.kind_label, "area": org.area or "Not said", "offers": org.offers or "Not said",
            "contact": org.contact or "Not said",
            "connections": "\n".join(f"{c.name} ({c.code})" for c in org.connections) or "No establishment yet",
            "notes": org.notes or "None",
        }
        parts = [f"<p><b>{html.escape(self.title)}</b></p>"]
        for key, label in DETAIL_FIELDS:
            value = html.escape(self.texts[key]).replace("\n", "<br>")
            parts.append(f"<p><b>{label}:</b><br>{value}</p>")
        self.setHtml("".join(parts))

    def text(self, key: str) -> str:
        return self.texts.get(key, "")


# -- dialogs -----------------------------------------------------------------------------------


def _text_box(placeholder: str, lines: int = 3) -> QPlainTextEdit:
    box = QPlainTextEdit()
    box.setTabChangesFocus(True)
    box.setPlaceholderText(placeholder)
    spacing = box.fontMetrics().lineSpacing()
    box.setMinimumHeight(spacing * lines)
    box.setMaximumHeight(spacing * (lines + 3))
    return box


class OrganisationDialog(FormDialog):
    """Add a community organisation or edit one: name, kind, council area, what they offer,
    contact details, notes."""

    def __init__(self, ctx: Context, org: community.OrganisationView | None, parent: QWidget | None = None) -> None:
        title = "Edit community organisation" if org else "New community organisation"
        super().__init__(ctx, title, org.name if org else title, "&Save", parent)
        self.setObjectName("organisationDialog")
        self.org = org
        self.name = self.add_row("&Name:", QLineEdit(org.name if org else ""), "name", "organisationName", "Name")
        self.name.setMaxLength(200)
        self.kind = QComboBox()
        for key, label in ORGANISATION_KINDS.items():
            self.kind.addItem(label, key)
        self.add_row("&Kind:", self.kind, "kind", "organisationKindField", "Kind of organisation")
        self.area = QComboBox()
        self.area.addItem("Choose a council area", None)
        for a in LOCAL_AUTHORITIES:
            self.area.addItem(a, a)
        self.add_row("&Area:", self.area, "area", "organisationAreaField", "Council area")
        self.offers = self.add_row("What they &offer:", _text_box(
            "e.g. Peer support; recovery café on Fridays; family support; mutual-aid meetings"), "offers",
            "organisationOffers", "What they offer")
        self.contact = self.add_row("&Contact details:", _text_box("Phone, email, address, who to ask for", 2),
                                    "contact", "organisationContact", "Contact details")
        self.notes = self.add_row("No&tes:", _text_box("e.g. visits on Tuesdays; hand-over at the gate", 2),
                                  "notes", "organisationNotes", "Notes")
        if org is not None:
            self.kind.setCurrentIndex(max(0, self.kind.findData(org.kind)))
            self.area.setCurrentIndex(max(0, self.area.findData(org.area)))
            self.offers.setPlainText(org.offers or "")
            self.contact.setPlainText(org.contact or "")
            self.notes.setPlainText(org.notes or "")
        self.finish_layout()
        self._dirty = False

    def problems(self) -> list[ValidationError]:
        out = []
        if not self.name.text().strip():
            out.append(ValidationError("Give the organisation's name.", "name"))
        if self.area.currentData() is None:
            out.append(ValidationError("Choose the council area the organisation is in.", "area"))
        return out

    def work(self) -> tuple[Callable[..., Any], tuple, dict]:
        values = {"name": self.name.text(), "kind": self.kind.currentData(), "area": self.area.currentData(),
                  "offers": self.offers.toPlainText(), "contact": self.contact.toPlainText(),
                  "notes": self.notes.toPlainText()}
        if self.org is None:
            return community.create_organisation, (self.ctx,), values
        return community.update_organisation, (self.ctx, self.org.id), values

    def done_message(self, result: Any) -> str:
        verb = "Saved" if self.org else "Added"
        return f"{verb} {result.name}; establishments get it with the next bundle."


class ConnectDialog(FormDialog):
    """Connect an organisation to an establishment it is not connected to yet."""

    def __init__(self, ctx: Context, org: community.OrganisationView, choices: list[Any],
                 parent: QWidget | None = None) -> None:
        super().__init__(ctx, "Connect to establishment", f"Connect {org.name}", "&Connect", parent)
        self.setObjectName("connectDialog")
        self.org = org
        self.establishment = QComboBox()
        for e in choices:
            self.establishment.addItem(f"{e.name} ({e.code})", e.id)
        self.add_row("&Establishment:", self.establishment, "establishment_id", "connectEstablishment", "Establishment")
        already = ", ".join(c.code for c in org.connections)
        note = QLabel(f"Already connected to: {already}." if already else "Not connected to any establishment yet.")
        note.setWordWrap(True)
        self.grid.addWidget(note, self.grid.rowCount(), 1)
        self.finish_layout()
        self._dirty = False

    def work(self) -> tuple[Callable[..., Any], tuple, dict]:
        return community.link_organisation, (self.ctx, self.org.id, self.establishment.currentData()), {}

    def done_message(self, result: Any) -> str:
        return f"Connected {self.org.name} to {self.establishment.currentText()}."


class DisconnectDialog(ReasonedDialog):
    """Disconnect an organisation from one of its establishments, saying why; asks once more."""

    def __init__(self, ctx: Context, org: community.OrganisationView, parent: QWidget | None = None) -> None:
        super().__init__(ctx, "Disconnect from establishment", f"Disconnect {org.name}", "&Disconnect…", parent)
        self.setObjectName("disconnectDialog")
        self.org = org
        self.establishment = QComboBox()
        for c in org.connections:
            self.establishment.addItem(f"{c.name} ({c.code})", c.establishment_id)
        self.add_row("&Establishment:", self.establishment, "establishment_id", "disconnectEstablishment",
                     "Establishment")
        self.reason = self.add_row("&Reason:", QLineEdit(), "reason", "disconnectReason", "Reason for disconnecting")
        self.reason.setMaxLength(500)
        self.reason.setPlaceholderText("e.g. no longer visiting; the service closed")
        self.finish_layout()

    missing_reason = "Say why the organisation is no longer connected; the reason goes with it to every PC."

    def reason_text(self) -> str:
        return self.reason.text()

    def question(self) -> tuple[str, str, str, str, str]:
        where = self.establishment.currentText()
        return ("Disconnect?", f"Disconnect {self.org.name} from {where}?", "&Disconnect", "&Keep it",
                "The establishment sees it with the next bundle.")

    def work(self) -> tuple[Callable[..., Any], tuple, dict]:
        return community.unlink_organisation, (self.ctx, self.org.id, self.establishment.currentData(),
                                               self.reason.text()), {}

    def done_message(self, result: Any) -> str:
        return f"Disconnected {self.org.name} from {self.establishment.currentText()}."
