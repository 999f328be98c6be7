"""Sync → Trust: this PC's fingerprint and enrolment card, and the installations it trusts;
administrators enrol (card + fingerprint read out by phone) and revoke."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QGroupBox, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from ....services import trust
from ...catalogue_dialogs import open_dialog
from ...sync_dialogs import (
    EnrolDialog,
    RevokeDialog,
    fit_columns,
    local_time,
    monospace_font,
    note,
    revoked_scope,
    with_kind,
)
from ...table_model import RIGHT, Column, PagedTableModel, record_view
from ...tasks import run_task
from ...widgets import push_button
from .base import Tab, say_error

if TYPE_CHECKING:
    from .page import SyncPage

def _status(t: trust.TrustedInstallation, *, long: bool = False) -> str:
    when = (lambda m: local_time(m)) if long else (lambda m: local_time(m).rsplit(" ", 1)[0])
    if t.revoked_at is not None:
        return f"Revoked {when(t.revoked_at)}"
    if t.enrolled_at is not None:
        return f"Enrolled {when(t.enrolled_at)}"
    return "Known (not enrolled)"


def _status_tip(t: trust.TrustedInstallation) -> str:
    text = _status(t, long=True)
    return f"{text}: {t.revoked_reason}" if t.revoked_reason else text


def describe_installation(t: trust.TrustedInstallation) -> str:
    """A few lines about a trusted installation, under the list."""
    kind = "the SRC office" if t.role == "office" else (
        f"establishment {t.establishment_code}" if t.establishment_code else "an establishment")
    lines = [f"{with_kind(t.name, kind, office=t.role == 'office')}, installation {t.installation_id}.",
             _status_tip(t) + (f"; {revoked_scope(t.revoked_after_seq)}" if t.is_revoked else "."),
             ("Last bundle imported from it: number " + str(t.last_received_seq) + "." if t.last_received_seq
              else "No bundle imported from it yet.")]
    return "\n".join(lines)


TRUST_COLUMNS = [
    Column("Installation", lambda t: t.name, tooltip=lambda t: t.installation_id),
    Column("Establishment", lambda t: t.establishment_code or ("SRC office" if t.role == "office" else "")),
    Column("Status", _status, tooltip=_status_tip),
    Column("Last bundle", lambda t: t.last_received_seq or "none yet", align=RIGHT),
    Column("Fingerprint", lambda t: t.fingerprint or "", tooltip=lambda t: t.fingerprint),
]


class TrustTab(Tab):
    def __init__(self, page: SyncPage) -> None:
        super().__init__(page, "trustTab")
        self.dialog: Any = None
        self.identity: Any = None
        admin = page.can_trust
        only_admin = page.ctx.refusal("trust.edit")

        mine = QGroupBox("This PC")
        self.who = note("", "thisPc")
        self.fingerprint = QLabel()
        self.fingerprint.setObjectName("fingerprintLabel")
        self.fingerprint.setFont(monospace_font(self, 1.5))
        self.fingerprint.setTextFormat(Qt.TextFormat.PlainText)
        self.fingerprint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fingerprint.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.fingerprint.setAccessibleName("Fingerprint of this PC")
        fp_label = QLabel("Fingerprint:")
        how = note("Another installation enrols this PC from its enrolment card. Give them the card (a file, on a "
                   "USB drive or by email) and read this fingerprint out to them by phone, or send it on paper, "
                   "so they can check the card really comes from this PC.", "fingerprintNote")
        self.card_button = push_button("E&xport enrolment card…", "exportCardButton", self.export_card)
        self.card_button.setEnabled(admin)
        self.card_button.setToolTip("Write this PC's enrolment card to a file." if admin else only_admin)
        mine_layout = QGridLayout(mine)
        mine_layout.addWidget(self.who, 0, 0, 1, 2)
        mine_layout.addWidget(fp_label, 1, 0, Qt.AlignmentFlag.AlignVCenter)
        mine_layout.addWidget(self.fingerprint, 1, 1)
        mine_layout.addWidget(how, 2, 0, 1, 2)
        card_row = QHBoxLayout()
        card_row.addWidget(self.card_button)
        card_row.addStretch(1)
        mine_layout.addLayout(card_row, 3, 0, 1, 2)
        mine_layout.setColumnStretch(1, 1)

        others = QGroupBox("Installations this PC trusts")
        self.model = PagedTableModel(TRUST_COLUMNS, parent=self)
        self.view = record_view(self.model, "trustTable", "Installations this PC trusts", fit=False)
        self.model.loaded.connect(self._loaded)
        self.model.failed.connect(lambda error: say_error(self.error, error))
        self.view.selectionModel().currentRowChanged.connect(self._update_buttons)
        self.empty = note("", "trustEmpty")
        self.empty.hide()
        self.enrol_button = push_button("E&nrol…", "enrolButton", self.enrol)
        self.revoke_button = push_button("&Revoke…", "revokeButton", self.revoke)
        self.enrol_button.setEnabled(admin)
        self.enrol_button.setToolTip(
            "Trust another installation: its card and its fingerprint read out by phone." if admin else only_admin)
        self.revoke_button.setToolTip("Stop trusting the installation chosen above, for good." if admin else only_admin)
        buttons = QHBoxLayout()
        buttons.addWidget(self.enrol_button)
        buttons.addWidget(self.revoke_button)
        buttons.addStretch(1)
        self.details = note("", "installationDetails")
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details_fingerprint = QLabel()
        self.details_fingerprint.setObjectName("installationFingerprint")
        self.details_fingerprint.setFont(monospace_font(self, 1.15))
        self.details_fingerprint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        others_layout = QVBoxLayout(others)
        others_layout.addWidget(self.empty)
        others_layout.addWidget(self.view, 1)
        others_layout.addWidget(self.details)
        others_layout.addWidget(self.details_fingerprint)
        others_layout.addLayout(buttons)

        self.layout_.addWidget(mine)
        self.layout_.addWidget(self.status)
        self.layout_.addWidget(self.error)
        self.layout_.addWidget(others, 1)
        QWidget.setTabOrder(self.card_button, self.view)
        QWidget.setTabOrder(self.view, self.enrol_button)
        QWidget.setTabOrder(self.enrol_button, self.revoke_button)
        self._update_buttons()

    def load(self) -> None:
        ctx = self.ctx
        if self.identity is None:
            self.page.track(run_task(trust.my_identity, ctx, owner=self, name="load this PC's identity",
                                     on_result=self._identity, on_error=lambda e: say_error(self.error, e)))
        self.model.set_fetch(lambda _after: trust.trusted_installations(ctx))
        self.page.track_model(self.model)

    def _identity(self, identity: Any) -> None:
        self.identity = identity
        if identity.role == "office":
            self.who.setText(f"{identity.name}, the office installation {identity.installation_id}.")
        else:
            self.who.setText(f"{identity.name} ({identity.establishment_code}), establishment installation "
                             f"{identity.installation_id}.")
        self.fingerprint.setText(identity.fingerprint)
        self.fingerprint.setAccessibleDescription(identity.fingerprint)

    def _loaded(self) -> None:
        self.error.clear_error()
        office = self.ctx.installation.is_office
        if self.model.rowCount() == 0:
            self.empty.setText(
                "No establishment PC is enrolled yet. Enrol each establishment's card to exchange bundles with it."
                 if office else
                 "The SRC office is not enrolled yet. Enrol the office's card to exchange bundles with it.")
        self.empty.setVisible(self.model.rowCount() == 0)
        fit_columns(self.view, 30)
        self._update_buttons()

    def selected(self) -> trust.TrustedInstallation | None:
        return self.model.row(self.view.currentIndex())

    def _update_buttons(self, *_: Any) -> None:
        chosen = self.selected()
        self.revoke_button.setEnabled(self.page.can_trust and chosen is not None and not chosen.is_revoked)
        self.details.setText(describe_installation(chosen) if chosen is not None else "")
        self.details.setVisible(chosen is not None)
        fp = chosen.fingerprint if chosen is not None and chosen.fingerprint else ""
        self.details_fingerprint.setText(f"Fingerprint: {fp}" if fp else "")
        self.details_fingerprint.setAccessibleName(f"Fingerprint: {fp}")
        self.details_fingerprint.setVisible(bool(fp))

    # -- actions -------------------------------------------------------------------------------

    def export_card(self) -> None:
        if not self.page.can_trust:
            return
        inst = self.ctx.installation
        name = f"{(inst.establishment_code or 'office').lower()}-enrolment.card"
        self.page.ask_card_path(self, str(Path(self.page.last_folder()) / name), self._write_card)

    def _write_card(self, path: Path) -> None:
        self.error.clear_error()
        self.page.remember_folder(Path(path).parent)
        self.status.say(f"Writing the enrolment card to {path}…")

        def written(result: Path) -> None:
            fp = self.identity.fingerprint if self.identity is not None else "shown above"
            self.status.say(f"Wrote the enrolment card to {result}. Read the fingerprint to the other side by "
                            f"phone or on paper: {fp}")

        def failed(error: BaseException) -> None:
            self.status.say("")
            say_error(self.error, error)

        self.page.track(run_task(trust.export_card, self.ctx, Path(path), owner=self, name="export the card",
                                 on_result=written, on_error=failed))

    def _open(self, dialog: Any) -> Any:
        self.error.clear_error()
        dialog.savedMessage.connect(self.status.say)
        self.dialog = open_dialog(dialog)
        return self.dialog

    def enrol(self) -> Any:
        if not self.page.can_trust:
            return None
        return self._open(EnrolDialog(self.ctx, parent=self))

    def revoke(self) -> Any:
        chosen = self.selected()
        if not self.page.can_trust or chosen is None or chosen.is_revoked:
            return None
        return self._open(RevokeDialog(self.ctx, chosen, parent=self))
