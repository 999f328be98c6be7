"""Certificate serials: minted with the PC's tag, never reused here, old serials left as they are;
a serial on two valid certificates is found for `srcdesk check`."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, select

from srcdesk.models import Certificate, LocalState
from srcdesk.services import certificates, people
from srcdesk.services.base import Context

TODAY = dt.date.today()


@pytest.fixture
def kim(recorder: Context):  # noqa: ANN201
    return people.create_person(recorder, given_name="Kim", family_name="Lee")


def issue(ctx: Context, person_id: str, **kw):  # noqa: ANN003, ANN201
    return certificates.issue(ctx, person_id=person_id, kind="programme", programme_id="prog-rcdt", **kw)


def test_the_tag_is_the_random_end_of_the_installation_id() -> None:
    assert certificates.installation_tag("01a21e98-7315-7396-bb60-7baf2346ca15") == "CA15"
    assert certificates.installation_tag("01a21e98-7315-7396-bb60-7baf2346ca15", 8) == "2346CA15"


def test_serials_carry_the_establishment_year_and_pc(coordinator: Context, kim) -> None:  # noqa: ANN001
    tag = certificates.installation_tag(coordinator.installation.id)
    year = TODAY.year
    first, second = issue(coordinator, kim.id), issue(coordinator, kim.id)
    assert (first.serial, second.serial) == (f"SRC-PER-{year}-{tag}-000001", f"SRC-PER-{year}-{tag}-000002")
    reissued = certificates.reissue(coordinator, first.id, "Name misspelt", recipient_name="Kimberley Lee")
    assert reissued.serial == f"SRC-PER-{year}-{tag}-000003"
    # Each year of issue counts from 1.
    last_year = issue(coordinator, kim.id, issued_on=dt.date(year - 1, 6, 1))
    assert last_year.serial == f"SRC-PER-{year - 1}-{tag}-000001"


def test_the_office_mints_under_off(office: Context) -> None:
    jo = people.create_person(office, given_name="Jo", family_name="Bloggs")
    cert = issue(office, jo.id)
    assert cert.serial == f"SRC-OFF-{TODAY.year}-{certificates.installation_tag(office.installation.id)}-000001"


def test_a_lost_counter_still_never_reuses_a_serial(coordinator: Context, kim) -> None:  # noqa: ANN001
    """The counter moves past the highest serial of its stem in the database (e.g. ones that arrived
    from elsewhere), not only its own count."""
    issue(coordinator, kim.id)
    issue(coordinator, kim.id)
    with coordinator.db.session(coordinator.actor) as s:
        s.execute(delete(LocalState).where(LocalState.key.like("serial:%")))
    assert issue(coordinator, kim.id).serial.endswith("-000003")


def test_old_serials_stay_and_the_tagged_form_counts_on_its_own(coordinator: Context, kim, monkeypatch) -> None:  # noqa: ANN001
    """A PC upgraded from a srcdesk that minted SRC-PER-2026-000123 keeps those certificates as they
    are; its new serials start at 1 under its tag, and the old counter is left alone."""
    year = TODAY.year
    with monkeypatch.context() as m:
        m.setattr(certificates, "new_serial", lambda s, ctx, y: f"SRC-PER-{y}-000007")
        old = issue(coordinator, kim.id)
    with coordinator.db.session(coordinator.actor) as s:
        s.add(LocalState(key=f"serial:PER:{year}", value="7"))
    new = issue(coordinator, kim.id)
    assert new.serial == f"SRC-PER-{year}-{certificates.installation_tag(coordinator.installation.id)}-000001"
    with coordinator.db.read() as s:
        assert s.get(Certificate, old.id).serial == f"SRC-PER-{year}-000007"
        assert s.get(LocalState, f"serial:PER:{year}").value == "7"


def test_a_serial_on_two_valid_certificates_is_a_clash_until_one_is_reissued(coordinator: Context, kim,  # noqa: ANN001
                                                                              monkeypatch) -> None:
    al = people.create_person(coordinator, given_name="Al", family_name="Stewart")
    serial = f"SRC-PER-{TODAY.year}-000001"
    with monkeypatch.context() as m:  # two PCs' old counters, met in one database
        m.setattr(certificates, "new_serial", lambda s, ctx, y: serial)
        a = issue(coordinator, kim.id, issued_on=TODAY - dt.timedelta(days=1))
        b = issue(coordinator, al.id)
    issue(coordinator, al.id)  # a serial of its own: no clash
    with coordinator.db.read() as s:
        [clash] = certificates.serial_clashes(s)
    assert clash.serial == serial
    assert [c.id for c in clash.certificates] == [a.id, b.id]  # in order of issue
    assert [c.recipient_name for c in clash.certificates] == ["Kim Lee", "Al Stewart"]
    assert serial in clash.note and "Kim Lee" in clash.note and "reissue" in clash.note
    with coordinator.db.engine.connect() as conn:  # what `srcdesk check` passes
        assert certificates.serial_clashes(conn) == [clash]

    certificates.reissue(coordinator, b.id, "Its serial was on another certificate too")
    with coordinator.db.read() as s:
        assert certificates.serial_clashes(s) == []
        assert s.execute(select(Certificate.status).where(Certificate.id == b.id)).scalar_one() == "superseded"
