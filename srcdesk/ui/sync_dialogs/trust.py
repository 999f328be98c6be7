"""Trust: enrol another installation (its card and the fingerprint read out by phone), revoke one.

Both dialogs are non-blocking and do their work in the background; a refusal is shown in the
dialog in the service's words.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QWidget

from ...errors import ValidationError
from ...services import trust
from ...services.base import Context
from ...sync import identity
from ...sync.identity import read_card
from ..catalogue_dialogs import FormDialog, ReasonedDialog
from ..tasks import Task, run_task
from ..widgets import FieldError, describe_error, grow_to_fit, push_button
from .text import with_kind
from .views import monospace_font, note


def read_card_file(path: Path) -> bytes:
    """The bytes of an enrolment card file (a regular file no larger than any card, read once)."""
    return identity.read_card_file(Path(path), refuse=lambda why: ValidationError(why, "card"))


def peek_card(path: Path) -> Any:
    """The identity an enrolment card states (checked: its own signature), without trusting it."""
    return read_card(read_card_file(path))


def enrol_card_file(ctx: Context, path: Path, fingerprint: str) -> trust.TrustedInstallation:
    return trust.enrol(ctx, read_card_file(path), fingerprint)


def describe_identity(identity: Any) -> str:
    if identity.role == "office":
        return with_kind(identity.name, "the SRC office", office=True)
    code = f" ({identity.establishment_code})" if identity.establishment_code else ""
    return f"{identity.name}{code}, an establishment PC"


class EnrolDialog(FormDialog):
    """Trust another installation: its enrolment card, and the fingerprint read out by phone."""


    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(ctx, "Enrol an installation", "Enrol an installation", "&Enrol", parent)
        self.setObjectName("enrolDialog")
        self.grid.setVerticalSpacing(8)
        other = "an establishment's PC" if ctx.installation.is_office else "the SRC office"
        intro = note(
            f"Enrolling {other} lets this PC read the bundles it signs and write bundles only it can read. "
            "You need its enrolment card (a file, e.g. on a USB drive) and its fingerprint.", "enrolIntro")
        self.layout_.insertWidget(1, intro)
        self._peek: Task | None = None
        self._peek_generation = 0

        # the card: a path with a Choose… button beside it
        self.card = QLineEdit()
        self.card.setObjectName("cardPath")
        self.card.setAccessibleName("Enrolment card file")
        self.card.setPlaceholderText("the card file from the other PC")
        self.choose_button = push_button("C&hoose…", "chooseCardButton", self.choose_card,
                                         accessible="Choose the enrolment card file")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.card, 1)
        row.addWidget(self.choose_button)
        holder = QWidget()
        holder.setLayout(row)
        card_label = QLabel("Enrolment &card:")
        card_label.setBuddy(self.card)
        card_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        r = self.grid.rowCount()
        self.grid.addWidget(card_label, r, 0)
        self.grid.addWidget(holder, r, 1)
        self.card_info = note("", "cardInfo")
        self.card_info.hide()
        self.grid.addWidget(self.card_info, r + 1, 1)
        self.errors["card"] = FieldError(self.card)
        self.errors["card"].setObjectName("cardError")
        self.grid.addWidget(self.errors["card"], r + 2, 1)
        self._fields.append(self.card)
        self._watch(self.card)
        self.card.editingFinished.connect(self._card_changed)

        how = note(
            "Phone the person at that PC (or ask for it on paper) and have them read out the fingerprint shown "
            "on their Sync → Trust tab. Type it here; srcdesk enrols the card only if it matches. Don't copy it "
            "from the card file: a forged card would carry a forged fingerprint.", "fingerprintHow")
        r = self.grid.rowCount()
        self.grid.addWidget(how, r, 1)
        self.fingerprint = self.add_row("&Fingerprint:", QLineEdit(), "fingerprint", "fingerprint",
                                        "Fingerprint, as read out by phone")
        self.fingerprint.setFont(monospace_font(self))
        self.fingerprint.setPlaceholderText("8 groups of 4 letters and digits")
        self.fingerprint.setMaxLength(120)
        self.finish_layout()
        self.fingerprint.setMinimumWidth(self.fingerprint.fontMetrics().horizontalAdvance("WWWW " * 8) + 16)

    # -- the card file -------------------------------------------------------------------------

    @classmethod
    def ask_card_file(cls, parent: QWidget, start: str, on_chosen: Callable[[Path], Any]) -> QFileDialog | None:
        """Ask which enrolment card to read, without blocking (tests replace this)."""
        dialog = QFileDialog(parent, "Choose the enrolment card", start,
                             "Enrolment cards (*.card);;All files (*)")
        dialog.setObjectName("cardFileDialog")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(lambda chosen: on_chosen(Path(chosen)))
        dialog.open()
        return dialog

    def choose_card(self) -> None:
        start = str(Path(self.card.text()).parent) if self.card.text().strip() else str(Path.home())
        self.ask_card_file(self, start, self.set_card)

    def set_card(self, path: Path) -> None:
        self.card.setText(str(path))
        self._dirty = True
        self._card_changed()
        self.fingerprint.setFocus()

    def _card_changed(self) -> None:
        """Read the card in the background and say whose it is (or why it is refused)."""
        self.errors["card"].clear_error()
        self.card_info.hide()
        text = self.card.text().strip()
        if not text:
            return
        self._peek_generation += 1
        generation = self._peek_generation
        self._peek = run_task(peek_card, Path(text), owner=self, name="read an enrolment card",
                              on_done=lambda identity, error: self._card_read(generation, identity, error))

    def _card_read(self, generation: int, identity: Any, error: BaseException | None) -> None:
        if generation != self._peek_generation:
            return
        self._peek = None
        if error is not None:
            self.errors["card"].show_error(describe_error(error))
            return
        self.card_info.setText(f"This is the card of {describe_identity(identity)}, installation "
                               f"{identity.installation_id}.")
        self.card_info.setAccessibleName(self.card_info.text())
        self.card_info.show()
        grow_to_fit(self)  # the description takes its lines; never drawn over the fields below

    # -- enrolling -----------------------------------------------------------------------------

    def problems(self) -> list[ValidationError]:
        found = []
        if not self.card.text().strip():
            found.append(ValidationError("Choose the enrolment card file the other PC wrote.", "card"))
        if not self.fingerprint.text().strip():
            found.append(ValidationError("Type the fingerprint the other side read out to you.", "fingerprint"))
        return found

    def work(self) -> tuple[Callable[..., Any], tuple, dict]:
        return enrol_card_file, (self.ctx, Path(self.card.text().strip()), self.fingerprint.text()), {}

    def done_message(self, result: trust.TrustedInstallation) -> str:
        where = f" ({result.establishment_code})" if result.establishment_code else ""
        return (f"{result.name}{where} is enrolled: this PC accepts the bundles it signs and can write bundles "
                "for it.")


class RevokeDialog(ReasonedDialog):
    """Stop trusting an installation for good, with a reason; asks once more before doing it."""


    def __init__(self, ctx: Context, installation: trust.TrustedInstallation, parent: QWidget | None = None) -> None:
        title = f"Revoke {installation.name}"
        super().__init__(ctx, "Revoke an installation", title, "&Revoke…", parent)
        self.setObjectName("revokeDialog")
        self.installation = installation
        passes = (" The office passes the revocation on to the establishments in its next bundles."
                  if ctx.installation.is_office else "")
        last = installation.last_received_seq
        scope = (f"Bundles it numbered after {last}, the last one imported here, will be refused"
                 if last else "No bundle from it was imported here, so every bundle it signs will be refused")
        intro = note(
            f"Revoke {installation.name} when that PC or its keys may be in the wrong hands, or the PC is "
            f"retired. {scope}, and it can never be enrolled again.{passes}", "revokeIntro")
        self.layout_.insertWidget(1, intro)
        self.reason = self.add_row("&Reason:", QPlainTextEdit(), "reason", "reason", "Reason for revoking")
        self.reason.setTabChangesFocus(True)
        self.reason.setPlaceholderText("e.g. the PC was stolen; the PC was replaced")
        lines = self.reason.fontMetrics().lineSpacing()
        self.reason.setMinimumHeight(lines * 3)
        self.reason.setMaximumHeight(lines * 6)
        self.finish_layout()

    missing_reason = "Say why the installation is revoked; the reason is kept with it."

    def reason_text(self) -> str:
        return self.reason.toPlainText()

    def question(self) -> tuple[str, str, str, str, str]:
        return ("Revoke for good?", f"Revoke {self.installation.name} for good?", "&Revoke for good",
                "&Don't revoke", "This is permanent: it can't be undone, and that PC can never be enrolled again "
                "— it would have to be set up afresh.")

    def work(self) -> tuple[Callable[..., Any], tuple, dict]:
        return trust.revoke, (self.ctx, self.installation.installation_id, self.reason.toPlainText()), {}

    def done_message(self, result: trust.TrustedInstallation) -> str:
        return f"{result.name} is revoked: {revoked_scope(result.revoked_after_seq)}"


def revoked_scope(after_seq: int | None) -> str:
    """What a revocation refuses, in a sentence."""
    if not after_seq:
        return "every bundle it signs is refused."
    return f"bundles it numbered after {after_seq} (the last one imported here) are refused."
