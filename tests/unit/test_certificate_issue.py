"""Issuing certificates: content frozen at issue, a code signed by this PC, batches all or nothing,
reissue and revoke keep every record."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from srcdesk.errors import PermissionDenied, ValidationError
from srcdesk.models import Certificate, CertificateDesign
from srcdesk.reports.certificate_content import CertificateContent
from srcdesk.services import certificates, people, trust
from srcdesk.services.base import Context
from srcdesk.sync import certcode

TODAY = dt.date.today()


@pytest.fixture
def kim(recorder: Context):  # noqa: ANN201
    return people.create_person(recorder, given_name="Kim", family_name="Lee", external_ref="A123456")


def test_issue_freezes_what_is_printed_and_signs_a_code(coordinator: Context, kim) -> None:  # noqa: ANN001
    cert = certificates.issue(coordinator, person_id=kim.id, kind="module", module_id="mod-rcdt-02",
                              recipient_name="Kimberley Lee")
    content = CertificateContent.from_json(cert.content)
    assert (content.name, content.title, content.award_code, content.place, content.establishment_code) == (
        "Kimberley Lee", "Recovery capital", "RCDT02", "HMP Perth", "PER")
    assert content.detail == "a module of the SRC Recovery Community Development Training Programme"
    assert content.signatories[0].name == "Coordinator"  # no design yet: the coordinator issuing it
    assert "A123456" not in cert.content  # no prison number, ever
    assert content.to_json() == cert.content and content.code == cert.code
    code = certcode.decode(cert.code)
    key = trust.local_identity(coordinator).signing_key.public()
    assert code.verifies(key) and code.name_matches("kimberley  LEE") and not code.name_matches("Kim Lee")
    assert (code.serial, code.award_code, code.issued_on) == (cert.serial, "RCDT02", TODAY)


def test_a_reprint_is_the_same_content_even_after_the_design_and_names_change(coordinator: Context, kim) -> None:  # noqa: ANN001
    cert = certificates.issue(coordinator, person_id=kim.id, kind="programme", programme_id="prog-rcdt")
    before = certificates.contents(coordinator, [cert.id])[0].to_json()
    people.update_person(coordinator, kim.id, given_name="Kimberley")
    with coordinator.write("certificate.issue") as s:  # a later design must not change what was issued
        s.add(CertificateDesign(key="footer", value="A new footer"))
    assert certificates.contents(coordinator, [cert.id])[0].to_json() == before == cert.content


def test_design_signatories_and_footer_are_frozen_in(coordinator: Context, kim) -> None:  # noqa: ANN001
    with coordinator.write("certificate.issue") as s:  # (helper C adds the design service)
        s.add_all([CertificateDesign(key="signatory1_name", value="Annemarie Ward"),
                   CertificateDesign(key="signatory1_role", value="Chief Executive"),
                   CertificateDesign(key="footer", value="Recovery is possible")])
    content = CertificateContent.from_json(
        certificates.issue(coordinator, person_id=kim.id, kind="programme", programme_id="prog-t4t").content)
    assert [(s.name, s.role) for s in content.signatories] == [("Annemarie Ward", "Chief Executive")]
    assert content.footer == "Recovery is possible"


def test_only_coordinators_issue_revoke_and_reissue(recorder: Context, coordinator: Context, kim) -> None:  # noqa: ANN001
    with pytest.raises(PermissionDenied):
        certificates.issue(recorder, person_id=kim.id, kind="programme", programme_id="prog-rcdt")
    cert = certificates.issue(coordinator, person_id=kim.id, kind="programme", programme_id="prog-rcdt")
    with pytest.raises(PermissionDenied):
        certificates.revoke(recorder, cert.id, "No")
    with pytest.raises(PermissionDenied):
        certificates.reissue(recorder, cert.id, "No")


def test_reissue_supersedes_with_a_new_serial_and_code_and_keeps_both(coordinator: Context, kim) -> None:  # noqa: ANN001
    old = certificates.issue(coordinator, person_id=kim.id, kind="programme", programme_id="prog-rcdt")
    new = certificates.reissue(coordinator, old.id, "Name misspelt", recipient_name="Kimberley Lee")
    assert new.serial != old.serial and new.code != old.code and new.supersedes_id == old.id
    rows = {c.id: c for c in certificates.certificates_for(coordinator, kim.id)}
    assert rows[old.id].status == "superseded" and rows[old.id].status_reason == "Name misspelt"
    assert rows[old.id].status_changed_on == TODAY and rows[old.id].status_changed_by == coordinator.user.id
    assert CertificateContent.from_json(new.content).name == "Kimberley Lee"
    with pytest.raises(ValidationError):  # a superseded one can't be printed, nor reissued again
        certificates.contents(coordinator, [old.id])
    with pytest.raises(ValidationError):
        certificates.reissue(coordinator, old.id, "again")


def test_revoke_needs_a_reason_keeps_the_record_and_says_when_and_who(coordinator: Context, kim) -> None:  # noqa: ANN001
    cert = certificates.issue(coordinator, person_id=kim.id, kind="programme", programme_id="prog-rcdt")
    with pytest.raises(ValidationError):
        certificates.revoke(coordinator, cert.id, "  ")
    certificates.revoke(coordinator, cert.id, "Issued in error")
    with coordinator.db.read() as s:
        row = s.get(Certificate, cert.id)
        assert (row.status, row.status_reason, row.status_changed_by, row.deleted_hlc) == (
            "revoked", "Issued in error", coordinator.user.id, None)
    with pytest.raises(ValidationError):
        certificates.revoke(coordinator, cert.id, "twice")


def test_a_batch_is_all_or_nothing_and_shares_one_batch_id(coordinator: Context, kim, recorder: Context) -> None:  # noqa: ANN001
    ali = people.create_person(recorder, given_name="Ali", family_name="Khan")
    ok = [certificates.IssueRequest(kim.id, "programme", programme_id="prog-rcdt"),
          certificates.IssueRequest(ali.id, "module", module_id="mod-rcdt-01")]
    with pytest.raises(Exception):  # noqa: B017 - any refusal; nothing may be written
        certificates.issue_batch(coordinator, [*ok, certificates.IssueRequest(ali.id, "module", module_id="nope")])
    with coordinator.db.read() as s:
        assert s.execute(select(Certificate)).first() is None
    seen = []
    batch = certificates.issue_batch(coordinator, ok, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1, 2), (2, 2)] and {c.batch_id for c in batch.certificates} == {batch.id}
    assert certificates.select_for_print(coordinator, batch_id=batch.id) == sorted(
        (c.id for c in batch.certificates), key=lambda i: next(c.serial for c in batch.certificates if c.id == i))
    assert certificates.select_for_print(coordinator, serials=[batch.certificates[1].serial.lower()]) == [
        batch.certificates[1].id]


def test_award_codes_name_programmes_modules_and_levels_held(coordinator: Context, kim) -> None:  # noqa: ANN001
    assert certificates.find_award(coordinator, kim.id, "rcdt").programme_id == "prog-rcdt"
    assert certificates.find_award(coordinator, kim.id, "RCDT03").module_id == "mod-rcdt-03"
    with pytest.raises(ValidationError, match="not been signed off"):
        certificates.find_award(coordinator, kim.id, "attender")
    with pytest.raises(ValidationError, match="No programme"):
        certificates.find_award(coordinator, kim.id, "NOPE")


def test_list_filters_and_searches(coordinator: Context, kim, recorder: Context) -> None:  # noqa: ANN001
    ali = people.create_person(recorder, given_name="Ali", family_name="Khan")
    a = certificates.issue(coordinator, person_id=kim.id, kind="programme", programme_id="prog-rcdt")
    b = certificates.issue(coordinator, person_id=ali.id, kind="module", module_id="mod-rcdt-01")
    certificates.revoke(coordinator, a.id, "Issued in error")
    assert [r.id for r in certificates.list_certificates(coordinator, status="valid").items] == [b.id]
    assert [r.id for r in certificates.list_certificates(coordinator, search="khan").items] == [b.id]
    assert {r.id for r in certificates.list_certificates(coordinator, search=b.serial[:-2].lower()).items} == {a.id, b.id}
    assert [r.id for r in certificates.list_certificates(coordinator, search=b.serial).items] == [b.id]
    assert {r.id for r in certificates.list_certificates(coordinator, programme_id="prog-rcdt").items} == {a.id, b.id}
    page = certificates.list_certificates(coordinator, limit=1)
    rest = certificates.list_certificates(coordinator, limit=1, after=page.after)
    assert {page.items[0].id, rest.items[0].id} == {a.id, b.id}


def test_a_certificate_issued_at_another_establishment_is_revoked_only_there_or_at_the_office(
        coordinator: Context, kim) -> None:  # noqa: ANN001
    cert = certificates.issue(coordinator, person_id=kim.id, kind="programme", programme_id="prog-rcdt")
    with coordinator.write("certificate.issue") as s:  # as if Kim had been certified at Barlinnie
        s.get(Certificate, cert.id).establishment_id = "est-bar"
    for act in (lambda: certificates.revoke(coordinator, cert.id, "No"),
                lambda: certificates.reissue(coordinator, cert.id, "No")):
        with pytest.raises(PermissionDenied, match="belongs to another establishment"):
            act()


def test_a_certificate_from_before_frozen_content_prints_from_its_record_and_its_serials_place(
        coordinator: Context, kim) -> None:  # noqa: ANN001
    cert = certificates.issue(coordinator, person_id=kim.id, kind="programme", programme_id="prog-rcdt")
    with coordinator.write("certificate.issue") as s:  # as srcdesk before issue 11 left it
        row = s.get(Certificate, cert.id)
        row.content = row.code = row.establishment_id = row.award_code = None
    [content] = certificates.contents(coordinator, [cert.id])
    assert (content.place, content.establishment_code, content.code, content.name) == (
        "HMP Perth", "PER", "", "Kim Lee")
    assert content.statement == "has successfully completed" and content.award_code == "RCDT"
    assert certificates.list_certificates(coordinator).items[0].place == "HMP Perth"
