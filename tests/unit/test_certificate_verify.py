"""Verify a certificate's signed code offline: genuine, altered, unknown key, copied onto another
serial, revoked key, a name typed, a serial typed by hand; the issuers' keys and the statuses the
office sends, strictly checked; fast enough for a barcode scanner."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import select

from srcdesk.dates import day_month_year
from srcdesk.models import Certificate, CertificateIssuer, CertificateStatus, Installation
from srcdesk.services import certificate_verify, people, trust
from srcdesk.services.base import Context
from srcdesk.services.certificate_verify import apply_issuers, apply_statuses, verify
from srcdesk.sync import certcode
from srcdesk.sync.errors import BundleRefused
from srcdesk.sync.minisign import SigningKey

DAY = dt.date(2026, 12, 3)
MADE = dt.datetime(2026, 12, 3, 9, 0)


def own_key(ctx: Context) -> SigningKey:
    return trust.local_identity(ctx).signing_key


def code_for(key: SigningKey, serial: str = "SRC-PER-2026-3F9A-000001", name: str = "Kim Lee",
             issued_on: dt.date = DAY, est: str = "PER", award: str = "RCDT") -> str:
    return certcode.sign(key, serial=serial, award_code=award, issued_on=issued_on, establishment_code=est, name=name)


def flip(text: str, at: int) -> str:
    """``text`` with the character at ``at`` changed to another one of the base45 alphabet."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    old = text[at]
    new = alphabet[(alphabet.index(old) + 1) % len(alphabet)]
    return text[:at] + new + text[at + 1:]


def issuer_record(key: SigningKey, installation_id: str = "01a21e98-7315-7396-bb60-7baf2346ca15", **kw):  # noqa: ANN003, ANN201
    return {"installation_id": installation_id, "role": "establishment", "establishment_code": "BAR",
            "name": "HMP Barlinnie PC", "signing_key": key.public().line(), "enrolled_at": "2026-11-01T10:00:00",
            "revoked_at": None, **kw}


def status_record(serial: str = "SRC-BAR-2026-1A2B-000001", key_id: str | None = "00" * 8, **kw):  # noqa: ANN003, ANN201
    return {"serial": serial, "key_id": key_id, "issued_on": "2026-12-01", "status": "revoked",
            "status_on": "2026-12-02", "by_name": "PHR Officer", "by_role": "coordinator",
            "reason": "Issued in error", "superseded_by": None, **kw}


def test_a_code_signed_here_for_a_serial_not_held_is_genuine_but_not_here(recorder: Context) -> None:
    v = verify(recorder, code_for(own_key(recorder)))
    assert v.outcome == "not_here" and v.name_checked is None and v.certificate_id is None
    assert v.headline == ("Genuine, issued by HMP Perth's PC on 3 Dec 2026; its records have not reached this "
                          "PC yet.")
    assert "Serial: SRC-PER-2026-3F9A-000001" in v.details


def test_a_flipped_character_anywhere_in_the_payload_is_not_genuine(recorder: Context) -> None:
    text = code_for(own_key(recorder))
    prefix = len(certcode.PREFIX)
    for at in range(prefix, len(text), 7):
        v = verify(recorder, flip(text, at))
        assert v.outcome == "not_genuine", (at, v)
    assert verify(recorder, text).outcome == "not_here"  # the untouched code still is


def test_a_code_signed_by_a_key_nobody_enrolled_is_not_genuine(recorder: Context) -> None:
    v = verify(recorder, code_for(SigningKey.generate()))
    assert v.outcome == "not_genuine"
    assert v.headline == "Not genuine: it was signed by a PC this srcdesk does not know."


def test_a_forged_signature_under_a_known_key_id_is_not_genuine(recorder: Context) -> None:
    """A forger who copies a real key id into a code signed with their own key."""
    real = certcode.decode(code_for(own_key(recorder)))
    forged = certcode.decode(code_for(SigningKey.generate(), name="Someone Else"))
    text = certcode.Code(real.key_id, forged.serial, forged.award_code, forged.issued_on,
                         forged.establishment_code, forged.name_hash, forged.signature).text()
    v = verify(recorder, text)
    assert v.outcome == "not_genuine" and "signature does not match" in v.headline


def test_a_pc_of_one_establishment_can_t_issue_for_another(recorder: Context) -> None:
    """Perth's own key, signing a code that says it was issued at Barlinnie."""
    v = verify(recorder, certcode.sign(own_key(recorder), serial="SRC-BAR-2026-0001-000001", award_code="RCDT",
                                       issued_on=dt.date.today(), establishment_code="BAR", name="Kim Lee"))
    assert v.outcome == "not_genuine"
    assert "a PC of HMP Perth (PER), but says it was issued at HMP Barlinnie (BAR)" in v.headline


def test_text_that_is_not_a_code_says_why(recorder: Context) -> None:
    assert verify(recorder, "hello").headline.startswith("Not genuine: that is not a srcdesk certificate's code")
    assert verify(recorder, "SRC1:!!!").outcome == "not_genuine"
    assert verify(recorder, "   ").headline == "Not genuine: nothing was scanned or typed."


def test_a_scanner_in_lower_case_with_spaces_still_reads(recorder: Context) -> None:
    assert verify(recorder, "  " + code_for(own_key(recorder)).lower() + "\n").outcome == "not_here"


def test_the_name_typed_must_be_the_name_it_was_issued_to(recorder: Context) -> None:
    text = code_for(own_key(recorder), name="Kim Lee")
    assert verify(recorder, text, printed_name="  kim   LEE ").name_checked is True
    wrong = verify(recorder, text, printed_name="Kim Leigh")
    assert wrong.outcome == "not_genuine" and wrong.name_checked is False
    assert wrong.headline == "Not genuine: the name typed is not the name this certificate was issued to."
    assert verify(recorder, text, printed_name="  ").name_checked is None


def test_a_key_the_office_sent_verifies_but_is_not_trusted_for_bundles(recorder: Context, ctx: Context) -> None:
    barlinnie = SigningKey.generate()
    with ctx.db.session(ctx.actor) as s:
        assert apply_issuers(s, [issuer_record(barlinnie)], made_at=MADE) == 1
    v = verify(recorder, code_for(barlinnie, serial="SRC-BAR-2026-1A2B-000001", est="BAR"))
    assert v.outcome == "not_here"
    assert v.headline.startswith("Genuine, issued by HMP Barlinnie's PC on 3 Dec 2026")
    # Never in `installation`: the importer finds no key for that PC's bundles.
    with ctx.read() as s:
        assert s.get(Installation, issuer_record(barlinnie)["installation_id"]) is None
        assert trust.installation_identity(s, issuer_record(barlinnie)["installation_id"]) is None


def test_a_key_revoked_before_the_date_of_issue_is_not_genuine(recorder: Context, ctx: Context) -> None:
    key = SigningKey.generate()
    with ctx.db.session(ctx.actor) as s:
        apply_issuers(s, [issuer_record(key, revoked_at="2026-12-01T12:00:00")], made_at=MADE)
    before = verify(recorder, code_for(key, serial="SRC-BAR-2026-1A2B-000001", est="BAR", issued_on=DAY))
    assert before.outcome == "not_genuine" and "revoked on 1 Dec 2026" in before.headline
    earlier = verify(recorder, code_for(key, serial="SRC-BAR-2026-1A2B-000002", est="BAR",
                                        issued_on=dt.date(2026, 11, 30)))
    assert earlier.outcome == "not_here"  # issued while the key was good


def test_the_status_list_answers_for_a_certificate_not_held_here(recorder: Context, ctx: Context) -> None:
    key = SigningKey.generate()
    text = code_for(key, serial="SRC-BAR-2026-1A2B-000001", est="BAR", issued_on=dt.date(2026, 12, 1))
    key_id = certcode.decode(text).key_id.hex()
    with ctx.db.session(ctx.actor) as s:
        apply_issuers(s, [issuer_record(key)], made_at=MADE)
        apply_statuses(s, [status_record(key_id=key_id)], made_at=MADE)
    v = verify(recorder, text)
    assert v.outcome == "revoked" and v.headline == "Genuine, but revoked on 2 Dec 2026."
    assert v.details[:2] == ("Revoked on 2 Dec 2026 by PHR Officer (coordinator)", "Reason: Issued in error")
    # By serial alone: what the list says, marked as such.
    by_serial = verify(recorder, "src-bar-2026-1a2b-000001")
    assert by_serial.outcome == "revoked" and by_serial.by_serial_only
    assert by_serial.headline.startswith(certificate_verify.SERIAL_ONLY)


def test_the_newest_status_wins_whatever_order_bundles_come_in(ctx: Context) -> None:
    older = status_record(status="superseded", status_on="2026-12-02", superseded_by="SRC-BAR-2026-1A2B-000009",
                          reason="Name misspelt")
    newer = status_record(status="revoked", status_on="2026-12-05", reason="Never completed")
    with ctx.db.session(ctx.actor) as s:
        assert apply_statuses(s, [newer], made_at=MADE) == 1
        assert apply_statuses(s, [older], made_at=MADE + dt.timedelta(days=1)) == 0
    with ctx.read() as s:
        row = s.execute(select(CertificateStatus)).scalar_one()
        assert (row.status, row.reason) == ("revoked", "Never completed")


@pytest.mark.parametrize("change, says", [
    ({"status": "valid"}, "its status is not revoked or superseded"),
    ({"serial": "x" * 41}, "its serial is not a serial"),
    ({"key_id": "XYZ"}, "its key id is not 16 hex digits"),
    ({"issued_on": "3/12/2026"}, r"its date of issue is not an ISO date \(2026-01-31\)"),
    ({"by_role": "king"}, "the role of who changed it is not a role"),
    ({"reason": "x" * 1001}, "its reason is not text of at most 1000 characters"),
    ({"person_id": "p1"}, "its fields are wrong"),
    ({"recipient_name": "Kim Lee"}, "its fields are wrong"),
])
def test_a_malformed_status_refuses_the_whole_list(ctx: Context, change, says) -> None:  # noqa: ANN001
    with ctx.db.session(ctx.actor) as s:
        with pytest.raises(BundleRefused, match=says):
            apply_statuses(s, [status_record("SRC-BAR-2026-1A2B-000002"), status_record(**change)], made_at=MADE)
    with ctx.read() as s:
        assert s.execute(select(CertificateStatus)).first() is None


@pytest.mark.parametrize("change, says", [
    ({"signing_key": "RWQ" + "!" * 53}, "its key is not a minisign key line"),
    ({"installation_id": "not-an-id"}, "is not an installation id"),
    ({"role": "king"}, "its role is not establishment or office"),
    ({"establishment_code": "per!"}, "its establishment code is not a code"),
    ({"revoked_at": "yesterday"}, "its revocation time is not a time"),
    ({"age_recipient": "age1..."}, "its fields are wrong"),
])
def test_a_malformed_issuer_refuses_the_whole_list(ctx: Context, change, says) -> None:  # noqa: ANN001
    with ctx.db.session(ctx.actor) as s:
        with pytest.raises(BundleRefused, match=says):
            apply_issuers(s, [issuer_record(SigningKey.generate(), "01a21e98-7315-7396-bb60-7baf2346ca16"),
                              issuer_record(SigningKey.generate(), **change)], made_at=MADE)
    with ctx.read() as s:
        assert s.execute(select(CertificateIssuer)).first() is None


def test_an_issuer_keeps_its_key_and_its_revocation(ctx: Context) -> None:
    key = SigningKey.generate()
    with ctx.db.session(ctx.actor) as s:
        apply_issuers(s, [issuer_record(key, revoked_at="2026-12-01T12:00:00")], made_at=MADE)
        # An older bundle, imported later, that did not know of the revocation changes nothing.
        assert apply_issuers(s, [issuer_record(key)], made_at=MADE - dt.timedelta(days=3)) == 0
        with pytest.raises(BundleRefused, match="differs from the one the office sent before"):
            apply_issuers(s, [issuer_record(SigningKey.generate())], made_at=MADE + dt.timedelta(days=1))
    with ctx.read() as s:
        row = s.execute(select(CertificateIssuer)).scalar_one()
        assert row.revoked_at == dt.datetime(2026, 12, 1, 12) and row.signing_key == key.public().line()


def test_this_pcs_own_key_is_not_stored_as_an_issuer(ctx: Context) -> None:
    me = trust.local_identity(ctx)
    record = issuer_record(me.signing_key, ctx.installation.id, establishment_code="PER")
    with ctx.db.session(ctx.actor) as s:
        assert apply_issuers(s, [record], made_at=MADE) == 0


def test_any_signed_in_role_may_verify_and_nobody_else(recorder: Context, ctx: Context) -> None:
    from srcdesk.errors import PermissionDenied

    assert verify(recorder, "hello").outcome == "not_genuine"
    with pytest.raises(PermissionDenied):
        verify(ctx.signed_in(None), "hello")


def test_a_serial_typed_by_hand_that_is_unknown_here(recorder: Context) -> None:
    v = verify(recorder, "SRC-PER-2026-3F9A-000077")
    assert v.outcome == "not_here" and v.by_serial_only and v.headline.startswith(certificate_verify.SERIAL_ONLY)


def test_one_scan_takes_under_five_milliseconds(recorder: Context, ctx: Context) -> None:
    """With 40 installations and 40 issuers' keys known, and a code whose key is the last found."""
    with ctx.db.session(ctx.actor) as s:
        apply_issuers(s, [issuer_record(SigningKey.generate(), f"01a21e98-7315-7396-bb60-7baf2346{i:04x}")
                          for i in range(40)], made_at=MADE)
        apply_statuses(s, [status_record(f"SRC-BAR-2026-1A2B-{i:06d}") for i in range(2000)], made_at=MADE)
    with ctx.read() as s:
        last = s.execute(select(CertificateIssuer).order_by(CertificateIssuer.installation_id.desc())).scalars().first()
    assert last is not None
    text = code_for(own_key(recorder))
    verify(recorder, text)  # warm up
    runs = 50
    start = time.perf_counter()
    for _ in range(runs):
        assert verify(recorder, text).outcome == "not_here"
    per_scan = (time.perf_counter() - start) / runs
    assert per_scan < 0.005, f"{per_scan * 1000:.2f} ms a scan"


def test_rows_stay_untouched_by_a_verify(recorder: Context, ctx: Context) -> None:
    people.create_person(recorder, given_name="Kim", family_name="Lee")
    with ctx.read() as s:
        before = s.execute(select(Certificate)).all()
    verify(recorder, code_for(own_key(recorder)))
    with ctx.read() as s:
        assert s.execute(select(Certificate)).all() == before


# -- certificates held here, issued through the service ----------------------------------------------


@pytest.fixture
def kim_cert(coordinator: Context):  # noqa: ANN201
    from srcdesk.services import certificates

    kim = people.create_person(coordinator, given_name="Kim", family_name="Lee")
    return certificates.issue(coordinator, person_id=kim.id, kind="programme", programme_id="prog-rcdt")


def test_a_certificate_issued_here_is_genuine_and_valid(recorder: Context, kim_cert) -> None:  # noqa: ANN001
    v = verify(recorder, kim_cert.code, printed_name="Kim Lee")
    assert (v.outcome, v.headline, v.certificate_id, v.name_checked) == ("valid", "Genuine and valid.", kim_cert.id,
                                                                         True)
    assert f"Serial: {kim_cert.serial}" in v.details and "Issued to: Kim Lee" in v.details
    assert any(d.startswith("Issued at: HMP Perth (PER), by Coordinator") for d in v.details), v.details


def test_a_genuine_code_copied_onto_another_certificate_of_that_serial_is_not_genuine(
        recorder: Context, kim_cert) -> None:  # noqa: ANN001
    """Signed by this PC's own key for the same serial, but not the code the record holds (another
    name): the record says which code its paper carries."""
    other = code_for(own_key(recorder), serial=kim_cert.serial, name="Someone Else", issued_on=kim_cert.issued_on)
    v = verify(recorder, other)
    assert v.outcome == "not_genuine" and v.certificate_id is None
    assert v.headline == "Not genuine: the code does not match the record for this serial."


def test_revoked_and_superseded_here_say_when_by_whom_and_why(coordinator: Context, recorder: Context,
                                                              kim_cert) -> None:  # noqa: ANN001
    from srcdesk.services import certificates

    new = certificates.reissue(coordinator, kim_cert.id, "Name misspelt", recipient_name="Kimberley Lee")
    old = verify(recorder, kim_cert.code)
    assert old.outcome == "superseded" and old.headline == f"Genuine, but superseded by {new.serial}."
    today = day_month_year(dt.date.today())
    assert old.details[:2] == (f"Superseded by {new.serial} on {today} by Coordinator (coordinator)",
                               "Reason: Name misspelt")
    certificates.revoke(coordinator, new.id, "Issued in error")
    v = verify(recorder, new.code)
    assert v.outcome == "revoked" and v.headline == f"Genuine, but revoked on {today}."
    assert v.details[:2] == (f"Revoked on {today} by Coordinator (coordinator)", "Reason: Issued in error")
    by_serial = verify(recorder, new.serial.lower())
    assert by_serial.outcome == "revoked" and by_serial.by_serial_only and by_serial.certificate_id == new.id


def test_a_serial_typed_by_hand_says_what_the_record_says(recorder: Context, kim_cert) -> None:  # noqa: ANN001
    v = verify(recorder, f"  {kim_cert.serial} ")
    assert v.outcome == "valid" and v.by_serial_only and v.certificate_id == kim_cert.id
    assert v.headline == f"{certificate_verify.SERIAL_ONLY} This PC's record says it is valid."


def test_the_status_list_at_the_office_has_no_names_or_people(coordinator: Context, kim_cert) -> None:  # noqa: ANN001
    from srcdesk.services import certificates

    certificates.revoke(coordinator, kim_cert.id, "Issued in error")
    with coordinator.read() as s:
        listed = certificate_verify.statuses_for_bundle(s)
    assert listed == [{
        "serial": kim_cert.serial, "key_id": certcode.decode(kim_cert.code).key_id.hex(),
        "issued_on": kim_cert.issued_on.isoformat(), "status": "revoked",
        "status_on": dt.date.today().isoformat(), "by_name": "Coordinator", "by_role": "coordinator",
        "reason": "Issued in error", "superseded_by": None}]
    assert "Kim" not in repr(listed) and kim_cert.person_id not in repr(listed)
