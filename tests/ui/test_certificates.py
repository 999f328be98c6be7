"""The Certificates page and its dialogs: the list and its filters, issue by keyboard, reissue,
revoke with a reason and a confirmation, and what a recorder sees."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QItemSelectionModel, Qt

from srcdesk.dates import numeric_date
from srcdesk.services import certificates, people
from srcdesk.ui.certificate_dialogs import (
    TRAVELS,
    IssueCertificateDialog,
    ReissueCertificateDialog,
    RevokeCertificateDialog,
)
from srcdesk.ui.pages.certificates import CertificatesPage

from .conftest import shot

WAIT = 5000


def _open_page(qtbot, ctx) -> CertificatesPage:  # noqa: ANN001
    page = CertificatesPage(ctx)
    qtbot.addWidget(page)
    page.resize(1280, 800)
    page.show()
    page.activate()
    qtbot.waitUntil(lambda: page.model.loaded_once and not page.loading, timeout=WAIT)
    return page


def _choose(qtbot, page: CertificatesPage, predicate) -> object:  # noqa: ANN001
    row = page.model.find(predicate)
    assert row >= 0
    page.table.setFocus()
    page.table.selectionModel().setCurrentIndex(
        page.model.index(row, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
    return page.model.row(row)


def _someone(ctx):  # noqa: ANN001, ANN202
    """A person of the demo with a name to type."""
    return people.search_people(ctx, "", limit=1).items[0]


def test_the_list_shows_the_certificates_newest_first_and_filters(qtbot, qtmodeltester, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    certificates.revoke(open_demo("colin"), certificates.list_certificates(ctx, limit=1).items[0].id, "In error")
    page = _open_page(qtbot, ctx)
    expected = certificates.list_certificates(ctx, limit=100).items
    assert len(expected) > 1, "the demo has certificates"
    assert [r.id for r in page.model.rows] == [r.id for r in expected]
    first = page.model.rows[0]
    cells = [page.model.data(page.model.index(0, c)) for c in range(page.model.columnCount())]
    assert cells[0] == first.serial and cells[1] == first.recipient_name and cells[2] == first.title
    assert cells[3] == f"{first.issued_on.day} {first.issued_on:%b %Y}" and cells[4] == first.place
    qtmodeltester.check(page.model)
    # the search: the start of a serial
    qtbot.keyClicks(page.search, first.serial)
    qtbot.waitUntil(lambda: not page.loading and page.model.rowCount() >= 1
                    and all(r.serial.startswith(first.serial) for r in page.model.rows), timeout=WAIT)
    page.search.clear()
    # the status filter
    page.status_filter.setCurrentIndex(page.status_filter.findData("revoked"))
    qtbot.waitUntil(lambda: not page.loading, timeout=WAIT)
    revoked = certificates.list_certificates(ctx, status="revoked", limit=100).items
    assert len(revoked) == 1 and [r.id for r in page.model.rows] == [r.id for r in revoked]
    assert all(page.model.data(page.model.index(i, 5)).startswith("Revoked") for i in range(page.model.rowCount()))
    # the programme filter lists the programmes
    qtbot.waitUntil(lambda: page.programme.count() > 1, timeout=WAIT)
    assert not page.establishment.isVisible()  # an establishment's PC: its own certificates
    shot(page, "certificates-page")


def test_a_recorder_sees_the_list_but_no_issue_reissue_or_revoke(qtbot, open_demo) -> None:  # noqa: ANN001
    page = _open_page(qtbot, open_demo("rita"))
    assert page.model.rowCount() > 0
    for button in (page.issue_button, page.reissue_button, page.revoke_button):
        assert not button.isVisible()
    assert page.issue() is None and page.revoke() is None and page.reissue() is None
    # a dialog opened anyway says why, and can't be completed
    row = page.model.rows[0]
    dialog = RevokeCertificateDialog(page.ctx, row, page)
    qtbot.addWidget(dialog)
    assert "Only a coordinator can revoke certificates" in dialog.role_note.text()
    assert not dialog.accept_button.isEnabled()


def test_issue_by_keyboard_from_the_page(qtbot, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("colin")
    person = _someone(ctx)
    page = _open_page(qtbot, ctx)
    assert page.issue_button.isVisible()
    qtbot.keyClick(page.search, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: isinstance(page.dialog, IssueCertificateDialog), timeout=WAIT)
    dialog: IssueCertificateDialog = page.dialog
    assert dialog.picker is not None and dialog.focusWidget() is dialog.picker.search
    assert not dialog.accept_button.isEnabled()
    assert "No prison number or date of birth is printed" in dialog.not_printed.text()
    assert dialog.own_name.text() == "The person can ask for the name they use to be printed."
    # find the person by their reference, Enter chooses them
    qtbot.keyClicks(dialog.picker.search, person.external_ref)
    qtbot.keyClick(dialog.picker.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.loaded, timeout=WAIT)
    assert dialog.person_id == person.id and dialog.name.text() == person.display_name
    assert dialog.focusWidget() is dialog.award  # next: what for
    # what for: the combo lists programmes and their modules; the first module of the first programme
    labels = [dialog.award.itemText(i) for i in range(dialog.award.count())]
    module_row = next(i for i, text in enumerate(labels) if text.strip().startswith("Module"))
    dialog.award.setFocus()
    for _ in range(module_row + 1):
        qtbot.keyClick(dialog.award, Qt.Key.Key_Down)
    assert dialog.award.currentIndex() == module_row
    award = dialog.award.currentData()
    # a date in the future is refused, under the date
    dialog.issued_on.selectAll()
    qtbot.keyClicks(dialog.issued_on, numeric_date(dt.date.today() + dt.timedelta(days=3)))
    dialog.name.selectAll()
    qtbot.keyClicks(dialog.name, "Kim Asked-For")
    assert dialog.accept_button.isEnabled()
    qtbot.keyClick(dialog.name, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.issued_on_error.isVisible(), timeout=WAIT)
    assert "future" in dialog.issued_on_error.text()
    assert certificates.certificates_for(ctx, person.id) == [] or all(
        c.recipient_name != "Kim Asked-For" for c in certificates.certificates_for(ctx, person.id))
    # today's date: issued
    dialog.issued_on.selectAll()
    qtbot.keyClicks(dialog.issued_on, numeric_date(dt.date.today()))
    assert not dialog.issued_on_error.isVisible()
    shot(dialog, "certificate-issue")
    with qtbot.waitSignal(dialog.saved, timeout=WAIT) as saved:
        qtbot.keyClick(dialog.name, Qt.Key.Key_Return)
    record = saved.args[0]
    assert (record.person_id, record.module_id, record.recipient_name, record.issued_on) == (
        person.id, award.module_id, "Kim Asked-For", dt.date.today())
    assert record.code.startswith("SRC1:")
    # the list reloads by itself: the new certificate comes first (newest)
    qtbot.waitUntil(lambda: not page.loading and page.model.rowCount() and page.model.rows[0].id == record.id,
                    timeout=WAIT)
    assert record.serial in page.status.text()


def test_revoke_asks_first_and_needs_a_reason(qtbot, monkeypatch, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("colin")
    page = _open_page(qtbot, ctx)
    row = _choose(qtbot, page, lambda r: r.status == "valid")
    assert page.revoke_button.isEnabled()
    questions: list[str] = []
    answer = {"yes": False}

    def ask(cls, parent, text, on_yes):  # noqa: ANN001, ANN202
        questions.append(text)
        if answer["yes"]:
            on_yes()

    monkeypatch.setattr(RevokeCertificateDialog, "ask", classmethod(ask))
    qtbot.keyClick(page.table, Qt.Key.Key_V, Qt.KeyboardModifier.AltModifier)  # Re&voke…
    qtbot.waitUntil(lambda: isinstance(page.dialog, RevokeCertificateDialog), timeout=WAIT)
    dialog: RevokeCertificateDialog = page.dialog
    assert dialog.travels.text() == TRAVELS and dialog.travels.isVisible()
    assert dialog.focusWidget() is dialog.reason and not dialog.accept_button.isEnabled()  # no reason yet
    qtbot.keyClicks(dialog.reason, "Issued in error")
    assert dialog.accept_button.isEnabled()
    qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
    assert questions and row.serial in questions[0]
    assert certificates.certificates_for(ctx, row.person_id)  # said no: nothing changed
    assert next(c for c in certificates.certificates_for(ctx, row.person_id) if c.id == row.id).status == "valid"
    shot(dialog, "certificate-revoke")
    answer["yes"] = True
    with qtbot.waitSignal(dialog.saved, timeout=WAIT):
        qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
    stored = next(c for c in certificates.certificates_for(ctx, row.person_id) if c.id == row.id)
    assert (stored.status, stored.status_reason, stored.status_changed_on) == ("revoked", "Issued in error",
                                                                              dt.date.today())
    qtbot.waitUntil(lambda: not page.loading and page.model.find(
        lambda r: r.id == row.id and r.status == "revoked") >= 0, timeout=WAIT)
    at = page.model.find(lambda r: r.id == row.id)
    assert page.model.data(page.model.index(at, 5)) == f"Revoked on {dt.date.today().day} {dt.date.today():%b %Y}"
    assert page.model.data(page.model.index(at, 5), Qt.ItemDataRole.ToolTipRole) == "Issued in error"
    _choose(qtbot, page, lambda r: r.id == row.id)
    assert not page.revoke_button.isEnabled() and "revoked" in page.revoke_button.toolTip()


def test_reissue_gives_a_new_serial_and_keeps_the_old_one(qtbot, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("colin")
    page = _open_page(qtbot, ctx)
    row = _choose(qtbot, page, lambda r: r.status == "valid" and r.kind != "milestone")
    dialog = page.reissue()
    assert isinstance(dialog, ReissueCertificateDialog)
    assert "new serial" in dialog.keep_note.text() and "superseded" in dialog.keep_note.text()
    assert dialog.name.text() == row.recipient_name and dialog.focusWidget() is dialog.name
    dialog.name.selectAll()
    qtbot.keyClicks(dialog.name, "Corrected Name")
    qtbot.keyClick(dialog.name, Qt.Key.Key_Tab)
    qtbot.keyClicks(dialog.reason, "Name misspelt")
    shot(dialog, "certificate-reissue")
    with qtbot.waitSignal(dialog.saved, timeout=WAIT) as saved:
        qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
    new = saved.args[0]
    assert new.serial != row.serial and new.supersedes_id == row.id and new.recipient_name == "Corrected Name"
    both = {c.id: c for c in certificates.certificates_for(ctx, row.person_id)}
    assert both[row.id].status == "superseded" and both[new.id].status == "valid"
    qtbot.waitUntil(lambda: not page.loading and page.model.find(lambda r: r.id == new.id) >= 0, timeout=WAIT)
    assert row.serial in page.status.text() and new.serial in page.status.text()


def test_enter_on_a_certificate_asks_for_its_person(qtbot, open_demo) -> None:  # noqa: ANN001
    page = _open_page(qtbot, open_demo("rita"))
    row = _choose(qtbot, page, lambda r: True)
    with qtbot.waitSignal(page.personRequested, timeout=WAIT) as asked:
        qtbot.keyClick(page.table, Qt.Key.Key_Return)
    assert asked.args == [row.person_id]


def test_at_the_office_the_list_filters_by_establishment(qtbot, office) -> None:  # noqa: ANN001
    kim = people.create_person(office, given_name="Kim", family_name="Lee")
    cert = certificates.issue(office, person_id=kim.id, kind="programme", programme_id="prog-rcdt")
    page = _open_page(qtbot, office)
    assert page.establishment.isVisible()
    qtbot.waitUntil(lambda: page.establishment.findText("HMP Perth (PER)") > 0, timeout=WAIT)
    assert [r.id for r in page.model.rows] == [cert.id]
    assert page.model.data(page.model.index(0, 4)) == "Scottish Recovery Consortium"
    page.establishment.setCurrentIndex(page.establishment.findText("HMP Perth (PER)"))
    qtbot.waitUntil(lambda: not page.loading and page.model.rowCount() == 0, timeout=WAIT)
    assert page.count.text() == "No certificate matches."
    page.establishment.setCurrentIndex(0)
    qtbot.waitUntil(lambda: not page.loading and page.model.rowCount() == 1, timeout=WAIT)


# -- a person's certificates, on their page -----------------------------------------------------


def _person_page(qtbot, ctx, person_id: str):  # noqa: ANN001, ANN202
    from srcdesk.ui.pages.people import PeoplePage

    page = PeoplePage(ctx)
    qtbot.addWidget(page)
    page.resize(1100, 700)
    page.show()
    with qtbot.waitSignal(page.model.loaded, timeout=WAIT):
        page.activate()
    with qtbot.waitSignal(page.person_view.loaded, timeout=WAIT):
        page.show_person(person_id)
    qtbot.waitUntil(lambda: not page.person_view.attendance_model.loading, timeout=WAIT)
    return page


def test_a_persons_page_lists_their_certificates_and_a_coordinator_issues_one(qtbot, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("colin")
    holder = certificates.list_certificates(ctx, limit=1).items[0]
    page = _person_page(qtbot, ctx, holder.person_id)
    view = page.person_view
    theirs = certificates.certificates_for(ctx, holder.person_id)
    assert sorted(r.id for r in view.certificate_model.rows) == sorted(c.id for c in theirs)
    assert view.certificate_model.rows[0].issued_on == max(c.issued_on for c in theirs)  # newest first
    assert view.certificate_note.text().startswith(f"{len(theirs)} certificate")
    view.tabs.setCurrentIndex(view.tabs.count() - 1)
    assert view.tabs.tabText(view.tabs.currentIndex()) == "&Certificates"
    assert view.issue_button.isVisible() and view.issue_button.isEnabled()
    shot(page, "person-certificates")
    qtbot.keyClick(view.issue_button, Qt.Key.Key_I, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: isinstance(view.dialog, IssueCertificateDialog) and view.dialog.loaded, timeout=WAIT)
    dialog: IssueCertificateDialog = view.dialog
    assert dialog.picker is None and dialog.person_id == holder.person_id
    person = people.get_person(ctx, holder.person_id)
    assert dialog.name.text() == f"{person.given_name} {person.family_name}"
    assert dialog.focusWidget() is dialog.award
    qtbot.keyClick(dialog.award, Qt.Key.Key_Down)  # the first programme
    programme = dialog.award.currentData()
    assert programme.kind in ("programme", "award") and programme.programme_id
    with qtbot.waitSignal(dialog.saved, timeout=WAIT) as saved:
        qtbot.keyClick(dialog.issued_on, Qt.Key.Key_Return)
    record = saved.args[0]
    assert record.programme_id == programme.programme_id and record.person_id == holder.person_id
    qtbot.waitUntil(lambda: view.certificate_model.find(lambda c: c.id == record.id) >= 0, timeout=WAIT)
    assert record.serial in view.status.text()
    assert view.certificate_model.rows[0].id == record.id


def test_a_recorder_sees_a_persons_certificates_but_cannot_issue(qtbot, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    holder = certificates.list_certificates(ctx, limit=1).items[0]
    page = _person_page(qtbot, ctx, holder.person_id)
    view = page.person_view
    assert view.certificate_model.rowCount() >= 1
    assert not view.issue_button.isVisible() and view.issue_certificate() is None


def test_a_certificate_of_another_establishment_is_revoked_there_not_here(qtbot, open_demo) -> None:  # noqa: ANN001
    from sqlalchemy import select

    from srcdesk.models import Certificate, Establishment

    ctx = open_demo("colin")
    row = certificates.list_certificates(ctx, limit=1).items[0]
    with ctx.write("certificate.issue") as s:  # as if it had come with a person transferred from Barlinnie
        other = s.execute(select(Establishment.id).where(Establishment.code != "PER")).scalars().first()
        s.get(Certificate, row.id).establishment_id = other
    page = _open_page(qtbot, ctx)
    _choose(qtbot, page, lambda r: r.id == row.id)
    assert page.current.status == "valid"
    assert not page.revoke_button.isEnabled() and not page.reissue_button.isEnabled()
    assert "belongs to another establishment" in page.revoke_button.toolTip()
    assert page.revoke() is None and page.reissue() is None
    _choose(qtbot, page, lambda r: r.id != row.id and r.status == "valid")
    assert page.revoke_button.isEnabled()


# -- the Eligible tab: who is due a certificate, issued as one batch ------------------------------


def _eligible_tab(qtbot, page: CertificatesPage):  # noqa: ANN001, ANN202
    page.tabs.setCurrentWidget(page.eligible)
    qtbot.waitUntil(lambda: page.eligible.model.loaded_once and not page.loading, timeout=WAIT)
    return page.eligible


def test_the_eligible_tab_issues_the_chosen_as_one_batch(qtbot, monkeypatch, open_demo, tmp_path) -> None:  # noqa: ANN001
    from srcdesk.services.eligibility import eligible_certificates
    from srcdesk.ui.eligible_certificates import EligibleTab

    ctx = open_demo("colin")
    page = _open_page(qtbot, ctx)
    tab = _eligible_tab(qtbot, page)
    due = eligible_certificates(ctx, limit=200).items
    assert len(due) >= 3, "the demo has people due certificates"
    assert [(r.person_id, r.award_code) for r in tab.model.rows] == [(r.person_id, r.award_code) for r in due]
    assert not tab.issue_button.isEnabled()  # nothing chosen yet
    questions: list[str] = []

    def ask(cls, parent, text, on_yes):  # noqa: ANN001, ANN202
        questions.append(text)
        on_yes()

    monkeypatch.setattr(EligibleTab, "ask", classmethod(ask))
    offered: list = []
    monkeypatch.setattr(CertificatesPage, "offer", classmethod(
        lambda cls, parent, text, on_print, on_save: offered.append((text, on_print, on_save))))
    # the first three, by keyboard: Home, then Shift+Down twice
    tab.table.setFocus()
    qtbot.keyClick(tab.table, Qt.Key.Key_Home)
    qtbot.keyClick(tab.table, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(tab.table, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    chosen = tab.selected
    assert len(chosen) == 3 and tab.issue_button.isEnabled()
    shot(page, "certificates-eligible")
    with qtbot.waitSignal(tab.issued, timeout=WAIT * 2) as issued:
        qtbot.keyClick(tab.table, Qt.Key.Key_S, Qt.KeyboardModifier.AltModifier)  # Issue &selected…
    assert questions and questions[0].startswith("Issue 3 certificates to ")
    batch = issued.args[0]
    assert len(batch.certificates) == 3 and {c.batch_id for c in batch.certificates} == {batch.id}
    assert [(c.person_id, c.award_code) for c in batch.certificates] == [(r.person_id, r.award_code) for r in chosen]
    assert all(c.issued_on == dt.date.today() and c.code.startswith("SRC1:") for c in batch.certificates)
    assert "Issued 3 certificates" in page.status.text()
    assert offered and "Print them now, or save them as one PDF?" in offered[0][0]
    # both lists reload by themselves: the three are no longer due, and are listed as issued
    keys = {(c.person_id, c.award_code) for c in batch.certificates}
    qtbot.waitUntil(lambda: not page.loading and not keys & {(r.person_id, r.award_code) for r in tab.model.rows}
                    and {c.id for c in batch.certificates} <= {r.id for r in page.model.rows}, timeout=WAIT)
    assert [(r.person_id, r.award_code) for r in tab.model.rows] == [
        (r.person_id, r.award_code) for r in eligible_certificates(ctx, limit=200).items]
    # the offer after the batch: Save PDF makes one PDF of the batch, a page each
    import pypdfium2 as pdfium

    from srcdesk.ui import certificate_output

    target = tmp_path / "batch.pdf"
    monkeypatch.setattr(certificate_output, "ask_save_path", lambda parent, suggested, on_chosen: on_chosen(target))
    offered[0][2]()
    qtbot.waitUntil(lambda: target.exists() and not page.loading, timeout=WAIT * 2)
    assert len(pdfium.PdfDocument(str(target))) == 3


def test_a_batch_with_a_bad_date_issues_nothing_and_says_why(qtbot, monkeypatch, open_demo) -> None:  # noqa: ANN001
    from srcdesk.ui.eligible_certificates import EligibleTab

    ctx = open_demo("colin")
    before = len(certificates.list_certificates(ctx, limit=1000).items)
    page = _open_page(qtbot, ctx)
    tab = _eligible_tab(qtbot, page)
    monkeypatch.setattr(EligibleTab, "ask", classmethod(lambda cls, parent, text, on_yes: on_yes()))
    tab.table.selectAll()
    tab.issued_on.setText("31/02/2026")
    qtbot.mouseClick(tab.issue_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.error.isVisible() and not tab.loading, timeout=WAIT)
    assert "Date of issue must be a date like 31/03/2026." in tab.error.text()
    assert len(certificates.list_certificates(ctx, limit=1000).items) == before


def test_a_recorder_sees_who_is_due_but_cannot_issue(qtbot, open_demo) -> None:  # noqa: ANN001
    page = _open_page(qtbot, open_demo("rita"))
    tab = _eligible_tab(qtbot, page)
    assert tab.model.rowCount() > 0
    assert not tab.issue_button.isVisible() and not tab.issued_on.isVisible()
    tab.table.selectAll()
    tab.issue_selected()
    assert tab.batch_task is None


# -- Save PDF…, Print…: the PDF of the chosen certificates ----------------------------------------


def test_save_pdf_and_print_make_one_pdf_of_the_chosen(qtbot, monkeypatch, open_demo, tmp_path) -> None:  # noqa: ANN001
    import pypdfium2 as pdfium

    from srcdesk.ui import certificate_output, certificate_print

    ctx = open_demo("rita")  # any role may print a certificate it can see
    page = _open_page(qtbot, ctx)
    valid = [r for r in page.model.rows if r.status == "valid"][:2]
    page.table.setFocus()
    selection = page.table.selectionModel()
    selection.clearSelection()
    for row in valid:
        selection.select(page.model.index(page.model.find(lambda r, row=row: r.id == row.id), 0),
                         QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows)
    assert page.save_button.isEnabled() and page.print_button.isEnabled() and page.preview_button.isEnabled()
    target = tmp_path / "chosen.pdf"
    asked: list[str] = []

    def ask(parent, suggested, on_chosen):  # noqa: ANN001, ANN202
        asked.append(suggested)
        on_chosen(target)

    monkeypatch.setattr(certificate_output, "ask_save_path", ask)
    qtbot.keyClick(page.table, Qt.Key.Key_D, Qt.KeyboardModifier.AltModifier)  # Save P&DF…
    qtbot.waitUntil(lambda: target.exists() and str(target) in page.status.text(), timeout=WAIT * 2)
    assert asked and asked[0].endswith(".pdf")
    assert len(pdfium.PdfDocument(str(target))) == 2
    # Print…: the system's print dialog gets a PDF made of the same certificates
    printed: list = []
    monkeypatch.setattr(certificate_print, "print_certificates", lambda parent, path: printed.append(path))
    qtbot.keyClick(page.table, Qt.Key.Key_N, Qt.KeyboardModifier.AltModifier)  # Pri&nt…
    qtbot.waitUntil(lambda: bool(printed), timeout=WAIT * 2)
    assert len(pdfium.PdfDocument(str(printed[0]))) == 2
    # a revoked certificate is never printed
    revoked = certificates.list_certificates(ctx, limit=1).items[0]
    certificates.revoke(open_demo("colin"), revoked.id, "In error")
    qtbot.waitUntil(lambda: not page.loading and page.model.find(
        lambda r: r.id == revoked.id and r.status == "revoked") >= 0, timeout=WAIT)
    _choose(qtbot, page, lambda r: r.id == revoked.id)
    assert not page.save_button.isEnabled() and "never printed" in page.save_button.toolTip()
