"""Verify: check a certificate's QR code (or its serial) offline, for every role.

A USB barcode scanner types the code into the field and presses Enter; so does a person typing a
serial. The check runs in the background (:mod:`srcdesk.services.certificate_verify`: a few
milliseconds, but it reads the database), and the answer is said in words, with a word and a
symbol that mean it without colour, on a panel coloured green (valid), amber (genuine, not here
yet), red (revoked, not genuine) or grey (superseded). The field is then selected, so the next
scan replaces it.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from ...services.base import Context
from ...services.certificate_verify import Verdict, verify
from ..tasks import run_task
from ..widgets import describe_error, heading, push_button
from . import Page

# outcome -> (word, symbol, text colour, background, border). The word and the symbol say it
# without colour; the colours are dark on light, readable in high contrast and in black and white.
LOOKS: dict[str, tuple[str, str, str, str, str]] = {
    "valid": ("VALID", "\u2714", "#0b5a25", "#e3f4e8", "#1b7f3b"),  # heavy check mark
    "not_here": ("GENUINE, NOT HERE YET", "!", "#6b4400", "#fff3d6", "#b07800"),
    "revoked": ("REVOKED", "\u2716", "#8c0014", "#fde8ea", "#b00020"),  # heavy multiplication x
    "not_genuine": ("NOT GENUINE", "\u2716", "#8c0014", "#fde8ea", "#b00020"),
    "superseded": ("SUPERSEDED", "\u21bb", "#333333", "#ececec", "#6b6b6b"),  # clockwise open circle arrow
    "error": ("NOT CHECKED", "?", "#8c0014", "#fde8ea", "#b00020"),
}


class VerifyPage(Page):
    key = "verify"
    title = "Verify"
    needs = "certificate.verify"

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self._asked = 0  # the number of the latest check: an older answer arriving late is dropped
        self.last: Verdict | None = None
        self._pending: Any = None  # the check under way

        intro = QLabel("Scan the QR code on a certificate: the scanner types it here and presses Enter. Or type "
                       "the serial printed on it and press Enter. It is checked on this PC, without a network.")
        intro.setWordWrap(True)
        self.code_field = QLineEdit()
        self.code_field.setObjectName("verifyCodeField")
        self.code_field.setAccessibleName("Certificate's code or serial")
        self.code_field.setPlaceholderText("Scan the QR code, or type a serial such as SRC-PER-2026-3F9A-000123")
        self.code_field.setMaxLength(1000)
        self.code_field.returnPressed.connect(self.check)
        self.name_field = QLineEdit()
        self.name_field.setObjectName("verifyNameField")
        self.name_field.setAccessibleName("Name on the certificate (optional)")
        self.name_field.setPlaceholderText("Optional: the name printed on it, to check that too")
        self.name_field.setMaxLength(170)
        self.name_field.returnPressed.connect(self.check)
        self.check_button = push_button("&Check", "verifyButton", self.check)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.addRow("Code or &serial:", self.code_field)
        form.addRow("&Name on the certificate:", self.name_field)
        buttons = QHBoxLayout()
        buttons.addWidget(self.check_button)
        buttons.addStretch(1)

        # The answer: a symbol, a word, the headline, the details.
        self.result = QFrame()
        self.result.setObjectName("verifyResult")
        self.result.setFrameShape(QFrame.Shape.StyledPanel)
        self.symbol = QLabel()
        self.symbol.setObjectName("verifySymbol")
        self.symbol.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.symbol.setMinimumWidth(48)
        big = QFont(self.symbol.font())
        if big.pointSizeF() > 0:
            big.setPointSizeF(big.pointSizeF() * 2.6)
        big.setBold(True)
        self.symbol.setFont(big)
        self.word = QLabel()
        self.word.setObjectName("verifyWord")
        bold = QFont(self.word.font())
        bold.setBold(True)
        if bold.pointSizeF() > 0:
            bold.setPointSizeF(bold.pointSizeF() * 1.25)
        self.word.setFont(bold)
        self.headline = QLabel()
        self.headline.setObjectName("verifyHeadline")
        self.headline.setWordWrap(True)
        headline_font = QFont(self.headline.font())
        headline_font.setBold(True)
        self.headline.setFont(headline_font)
        self.headline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details = QLabel()
        self.details.setObjectName("verifyDetails")
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.PlainText)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        words = QVBoxLayout()
        words.addWidget(self.word)
        words.addWidget(self.headline)
        words.addWidget(self.details)
        words.addStretch(1)
        inside = QHBoxLayout(self.result)
        inside.setContentsMargins(14, 12, 14, 12)
        inside.setSpacing(14)
        inside.addWidget(self.symbol, 0, Qt.AlignmentFlag.AlignTop)
        inside.addLayout(words, 1)
        self.result.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 18, 18, 18)
        layout.addWidget(heading("Verify a certificate", scale=1.6))
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.result)
        layout.addStretch(1)
        QWidget.setTabOrder(self.code_field, self.name_field)
        QWidget.setTabOrder(self.name_field, self.check_button)

    def activate(self) -> None:
        super().activate()
        self.code_field.setFocus()
        self.code_field.selectAll()

    # -- checking ---------------------------------------------------------------------------------

    @property
    def checking(self) -> bool:
        return self._pending is not None

    def check(self) -> None:
        text = self.code_field.text().strip()
        if not text:
            self.code_field.setFocus()
            return
        name = self.name_field.text().strip() or None
        self._asked += 1
        asked = self._asked
        self._pending = run_task(verify, self.ctx, text, printed_name=name, owner=self,
                                 on_done=lambda result, error: self._answered(asked, result, error),
                                 name="verify certificate")

    def _answered(self, asked: int, verdict: Verdict | None, error: BaseException | None) -> None:
        if asked != self._asked:
            return  # a newer scan is being checked
        self._pending = None
        if error is not None:
            self.last = None
            self._show("error", f"The certificate could not be checked. {describe_error(error)}", ())
        else:
            assert verdict is not None
            self.last = verdict
            self._show(verdict.outcome, verdict.headline, verdict.details, by_serial_only=verdict.by_serial_only)
        # The next scan replaces this one.
        self.code_field.setFocus()
        self.code_field.selectAll()

    def _show(self, outcome: str, headline: str, details: tuple[str, ...], *, by_serial_only: bool = False) -> None:
        word, symbol, ink, paper, border = LOOKS[outcome]
        if by_serial_only:  # what the record says, not a check of the paper
            word = f"{word} \u2014 BY SERIAL ONLY"
        self.result.setProperty("outcome", outcome)
        self.result.setStyleSheet(
            f"QFrame#verifyResult {{ background: {paper}; border: 2px solid {border}; border-radius: 6px; }}"
            f"QFrame#verifyResult QLabel {{ color: {ink}; background: transparent; border: none; }}")
        self.symbol.setText(symbol)
        self.word.setText(word)
        self.headline.setText(headline)
        self.details.setText("\n".join(details))
        self.details.setVisible(bool(details))
        self.result.setAccessibleName(f"{word}: {headline}")
        self.result.setAccessibleDescription("\n".join(details))
        self.result.show()
