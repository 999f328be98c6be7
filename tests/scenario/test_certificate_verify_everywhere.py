"""Issue 11, item 5: any srcdesk verifies any certificate offline, revocation included, with real
bundles between the office and three establishments.

An establishment PC enrols only the office and holds only the certificates of people in its scope:
the office's bundles carry the keys of the installations it enrolled and the statuses of revoked
and superseded certificates, so Barlinnie can check Perth's certificate, and Glenochil, which never
held Kim, still says it was revoked. Only the office speaks for the estate."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from srcdesk.models import Certificate, CertificateIssuer, CertificateStatus
from srcdesk.services import certificate_verify, certificates, people, sync, trust
from srcdesk.services.certificate_verify import verify
from srcdesk.sync import bundle as fmt
from srcdesk.sync.errors import BundleRefused


def held(ctx, serial: str) -> int:  # noqa: ANN001
    with ctx.read() as s:
        return s.execute(select(func.count()).select_from(Certificate).where(Certificate.serial == serial)).scalar_one()


@pytest.fixture
def estate(make_world):  # noqa: ANN001, ANN201
    return make_world(("PER", "BAR", "GLE"))


def test_a_certificate_checks_everywhere_and_its_revocation_reaches_every_pc(estate, make_user) -> None:  # noqa: ANN001
    office, per, bar, gle = estate.office, estate["PER"], estate["BAR"], estate["GLE"]
    per_coordinator = make_user(per, "coordinator", "percoord")
    kim = people.create_person(per_coordinator, given_name="Kim", family_name="Lee")
    cert = certificates.issue(per_coordinator, person_id=kim.id, kind="programme", programme_id="prog-rcdt")
    at_perth = verify(per, cert.code)
    assert at_perth.outcome == "valid" and at_perth.certificate_id == cert.id

    # Barlinnie knows only the office: Perth's key is a stranger to it.
    assert verify(bar, cert.code).headline == "Not genuine: it was signed by a PC this srcdesk does not know."

    # The office's bundle brings the keys of every PC it enrolled: genuine, but not here yet.
    estate.send(office, bar)
    v = verify(bar, cert.code, printed_name="Kim Lee")
    assert v.outcome == "not_here" and v.name_checked is True
    assert v.headline.startswith("Genuine, issued by HMP Perth's PC on ")
    assert v.headline.endswith("; its records have not reached this PC yet.")
    with bar.read() as s:
        assert s.get(CertificateIssuer, per.installation.id) is not None
        # A key to check certificates with, never a key whose bundles Barlinnie trusts.
        assert trust.installation_identity(s, per.installation.id) is None
    perth_bundle = estate.export(per)
    with pytest.raises(BundleRefused, match="not enrolled on this PC"):
        sync.import_bundle(bar, perth_bundle, backup=False)
    sync.import_bundle(office, perth_bundle, backup=False)

    # The office holds it now, and revokes it.
    assert verify(office, cert.code).outcome == "valid"
    office_coordinator = make_user(office, "coordinator", "phrcoord")
    with office.read() as s:
        row_id = s.execute(select(Certificate.id).where(Certificate.serial == cert.serial)).scalar_one()
    certificates.revoke(office_coordinator, row_id, "Issued before the last session was attended")

    # Perth holds Kim: its own record is revoked by the office's bundle.
    estate.send(office, per)
    v = verify(per, cert.code)
    assert v.outcome == "revoked" and v.certificate_id == cert.id
    assert v.details[1] == "Reason: Issued before the last session was attended"
    assert "by Coordinator (coordinator)" in v.details[0]

    # Barlinnie and Glenochil never held Kim: the status list says revoked all the same.
    for site in (bar, gle):
        estate.send(office, site)
        assert held(site, cert.serial) == 0
        v = verify(site, cert.code)
        assert v.outcome == "revoked", (site.installation.establishment_code, v)
        assert v.certificate_id is None and "Reason: Issued before the last session was attended" in v.details
        with site.read() as s:
            status = s.execute(select(CertificateStatus)).scalar_one()
        assert status.by_name == "Coordinator" and status.by_role == "coordinator"
        # No name or person travelled with it.
        assert "Kim" not in repr(status.__dict__) and kim.id not in repr(status.__dict__)


def test_a_reissue_at_the_office_says_superseded_where_the_old_one_was_never_held(estate, make_user) -> None:  # noqa: ANN001
    office, bar = estate.office, estate["BAR"]
    coordinator = make_user(office, "coordinator", "phrcoord")
    jo = people.create_person(coordinator, given_name="Jo", family_name="Bloggs")
    old = certificates.issue(coordinator, person_id=jo.id, kind="programme", programme_id="prog-rcdt")
    new = certificates.reissue(coordinator, old.id, "Name misspelt", recipient_name="Joanne Bloggs")
    estate.send(office, bar)
    assert held(bar, old.serial) == 0
    v = verify(bar, old.code)
    assert v.outcome == "superseded" and v.headline == f"Genuine, but superseded by {new.serial}."
    fresh = verify(bar, new.code, printed_name="Joanne Bloggs")
    assert fresh.outcome == "not_here" and fresh.headline.startswith("Genuine, issued by the SRC office's PC on ")


def test_a_bundle_from_an_establishment_carrying_keys_or_statuses_is_refused(estate, monkeypatch) -> None:  # noqa: ANN001
    """A Perth PC (its real key, a real bundle) that claims to speak for the estate: the office
    refuses the whole bundle and changes nothing."""
    office, per = estate.office, estate["PER"]
    intruder = {"installation_id": "01a21e98-7315-7396-bb60-7baf2346ca15", "role": "establishment",
                "establishment_code": "PER", "name": "Forger", "signing_key": trust.my_identity(per).signing_key,
                "enrolled_at": None, "revoked_at": None}
    status = {"serial": "SRC-BAR-2026-1A2B-000001", "key_id": None, "issued_on": "2026-12-01", "status": "revoked",
              "status_on": "2026-12-02", "by_name": "x", "by_role": None, "reason": "x", "superseded_by": None}
    real = fmt.write_bundle
    for issuers, statuses in (([intruder], []), ([], [status])):
        def forged(*args, _i=issuers, _s=statuses, **kw):  # noqa: ANN002, ANN003, ANN202
            return real(*args, **{**kw, "certificate_issuers": _i, "certificate_status": _s})

        monkeypatch.setattr(fmt, "write_bundle", forged)
        path = estate.export(per)
        monkeypatch.setattr(fmt, "write_bundle", real)
        with pytest.raises(BundleRefused, match="Only the SRC office passes on the keys that sign certificates"):
            sync.import_bundle(office, path, backup=False)
        with office.read() as s:
            assert s.execute(select(CertificateIssuer)).first() is None
            assert s.execute(select(CertificateStatus)).first() is None
        # Perth's next honest bundle carries the same changes and imports.
    sync.import_bundle(office, estate.export(per), backup=False)


def test_an_office_bundle_made_before_the_certificate_files_still_imports(estate, monkeypatch) -> None:  # noqa: ANN001
    office, per = estate.office, estate["PER"]
    real = fmt.write_bundle

    def older(*args, **kw):  # noqa: ANN002, ANN003, ANN202
        return real(*args, **{**kw, "certificate_issuers": None, "certificate_status": None})

    monkeypatch.setattr(fmt, "write_bundle", older)
    path = estate.export(office, per)
    monkeypatch.setattr(fmt, "write_bundle", real)
    result = sync.import_bundle(per, path, backup=False)
    assert result is not None
    with per.read() as s:
        assert s.execute(select(CertificateIssuer)).first() is None
    # The next one brings them.
    estate.send(office, per)
    with per.read() as s:
        issuers = {r.installation_id for r in s.execute(select(CertificateIssuer)).scalars()}
    assert issuers == {office.installation.id, estate["BAR"].installation.id, estate["GLE"].installation.id}


def test_the_revoke_warning_says_the_reason_goes_everywhere() -> None:
    assert "every srcdesk PC" in certificate_verify.REVOKE_WARNING
