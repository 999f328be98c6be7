"""The Verify page: a barcode scanner types a certificate's code and presses Enter; the answer comes
in words, a word and a symbol, and colour; the field is selected for the next scan."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import select

from srcdesk.errors import DatabaseError
from srcdesk.models import Certificate
from srcdesk.services import certificates
from srcdesk.ui.pages import verify as verify_module
from srcdesk.ui.pages.registry import PAGES
from srcdesk.ui.pages.verify import LOOKS, VerifyPage

from .conftest import WAIT_MS, shot


def verify_page(qtbot, ctx) -> VerifyPage:  # noqa: ANN001
    page = VerifyPage(ctx)
    qtbot.addWidget(page)
    page.resize(900, 560)
    page.show()
    page.activate()
    return page


def scan(qtbot, page: VerifyPage, text: str) -> None:  # noqa: ANN001
    """What a USB scanner does: types the text into the focused field, then Enter."""
    before = page._asked  # noqa: SLF001
    qtbot.keyClicks(page.code_field, text)
    qtbot.keyClick(page.code_field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page._asked > before and not page.checking, timeout=WAIT_MS)  # noqa: SLF001


def a_certificate(ctx, status: str = "valid") -> Certificate:  # noqa: ANN001
    with ctx.read() as s:
        row = s.execute(select(Certificate).where(Certificate.code.is_not(None), Certificate.status == status)
                        .order_by(Certificate.serial).limit(1)).scalar_one_or_none()
        if row is not None:
            s.expunge(row)
        return row


def test_verify_is_a_page_every_role_sees() -> None:
    assert VerifyPage in PAGES
    assert VerifyPage.needs == "certificate.verify"


def test_a_scan_and_enter_says_valid_then_the_next_scan_replaces_it(qtbot, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("rita")  # a recorder
    cert = a_certificate(ctx)
    assert cert is not None, "the demo data has certificates with codes"
    page = verify_page(qtbot, ctx)
    scan(qtbot, page, cert.code)
    assert page.result.isVisible() and page.result.property("outcome") == "valid"
    assert page.word.text() == "VALID" and page.symbol.text() == LOOKS["valid"][1]
    assert page.headline.text() == "Genuine and valid."
    assert f"Serial: {cert.serial}" in page.details.text()
    assert LOOKS["valid"][3] in page.result.styleSheet()  # green
    # The field is selected: the next scan types over it.
    assert page.code_field.selectedText() == cert.code
    shot(page, "verify-valid")

    tampered = cert.code[:-3] + ("A" if cert.code[-3] != "A" else "B") + cert.code[-2:]
    scan(qtbot, page, tampered)
    assert page.code_field.text() == tampered  # replaced, not appended
    assert page.result.property("outcome") == "not_genuine" and page.word.text() == "NOT GENUINE"
    assert page.headline.text().startswith("Not genuine: ")
    assert LOOKS["not_genuine"][3] in page.result.styleSheet()  # red
    shot(page, "verify-not-genuine")


def test_a_serial_typed_by_hand_and_a_name_checked(qtbot, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    cert = a_certificate(ctx)
    page = verify_page(qtbot, ctx)
    scan(qtbot, page, cert.serial)
    assert page.last.by_serial_only and page.headline.text().startswith("Checked by serial only")
    assert page.word.text() == "VALID \u2014 BY SERIAL ONLY"

    qtbot.keyClicks(page.name_field, "Not " + cert.recipient_name)
    page.code_field.setFocus()
    page.code_field.selectAll()
    scan(qtbot, page, cert.code)
    assert page.last.outcome == "not_genuine" and page.last.name_checked is False
    page.name_field.setText(cert.recipient_name.upper())
    page.code_field.selectAll()
    scan(qtbot, page, cert.code)
    assert page.last.outcome == "valid" and page.last.name_checked is True


def test_revoked_is_red_and_superseded_grey(qtbot, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("colin")  # a coordinator revokes one and reissues another
    with ctx.read() as s:
        valid = s.execute(select(Certificate.id, Certificate.code).where(
            Certificate.code.is_not(None), Certificate.status == "valid").order_by(Certificate.serial).limit(2)).all()
    assert len(valid) == 2
    certificates.revoke(ctx, valid[0].id, "Issued in error")
    new = certificates.reissue(ctx, valid[1].id, "Name misspelt")
    page = verify_page(qtbot, ctx)
    scan(qtbot, page, valid[0].code)
    assert page.word.text() == "REVOKED" and "Reason: Issued in error" in page.details.text()
    assert LOOKS["revoked"][3] in page.result.styleSheet()
    shot(page, "verify-revoked")
    scan(qtbot, page, valid[1].code)
    assert page.word.text() == "SUPERSEDED" and page.headline.text() == f"Genuine, but superseded by {new.serial}."
    assert LOOKS["superseded"][3] in page.result.styleSheet()


def test_the_check_runs_off_the_ui_thread_and_a_failure_is_said(qtbot, open_demo, monkeypatch) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    threads: list[threading.Thread] = []

    def failing(*_args, **_kw):  # noqa: ANN002, ANN003, ANN202
        threads.append(threading.current_thread())
        raise DatabaseError("The database could not be read.")

    monkeypatch.setattr(verify_module, "verify", failing)
    page = verify_page(qtbot, ctx)
    scan(qtbot, page, "SRC1:ANYTHING")
    assert threads and threads[0] is not threading.main_thread()
    assert page.word.text() == "NOT CHECKED"
    assert page.headline.text() == "The certificate could not be checked. The database could not be read."


@pytest.mark.parametrize("outcome", sorted(LOOKS))
def test_every_answer_has_a_word_and_a_symbol_not_only_a_colour(outcome: str) -> None:
    word, symbol, ink, paper, border = LOOKS[outcome]
    assert word.isupper() and symbol.strip() and len({ink, paper}) == 2
