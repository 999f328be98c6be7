"""The liberation record: what it gathers (and never: the prison number, the notes), who may
make it and for whom, consent, the frozen content a reprint prints, and the Today list's bounds."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from srcdesk.errors import NotFound, PermissionDenied, ValidationError
from srcdesk.models import CommunityOrganisation, Person
from srcdesk.reports import liberation as pdf
from srcdesk.reports.liberation_content import file_name, sections
from srcdesk.services import attendance, certificates, ladder, liberation, people, sessions
from srcdesk.services.attendance import RegisterEntry
from srcdesk.services.base import Context

TODAY = dt.date.today()
REF = "A7654321"
NOTES = "Private note: never on the record"


def _attend(ctx: Context, person_id: str, day: dt.date, module_id: str | None) -> None:
    what = {"module_id": module_id} if module_id else {"activity_type_id": "act-cafe"}
    s = sessions.create_session(ctx, date=day, start_time="10:00", end_time="11:00", **what)
    attendance.add_to_register(ctx, s.id, RegisterEntry(person_id, "present", "participant"))


def _organisations(ctx: Context) -> None:
    with ctx.write("person.edit") as s:  # kept at the office: written as a bundle from it would be
        s.add_all([
            CommunityOrganisation(name="Fife Recovery Café", kind="recovery_community", area="Fife",
                                  offers="A café every Thursday", contact="01592 000000"),
            CommunityOrganisation(name="Fife Housing Support", kind="service", area="Fife", offers="Housing"),
            CommunityOrganisation(name="Fife LERO", kind="lero", area="Fife", contact="hello@fife-lero.example"),
            CommunityOrganisation(name="Old Fife Group", kind="lero", area="Fife", retired=True),
            CommunityOrganisation(name="Glasgow LERO", kind="lero", area="Glasgow City"),
        ])


@pytest.fixture
def kim(coordinator: Context):  # noqa: ANN201
    p = people.create_person(coordinator, given_name="Kim", family_name="Lee", external_ref=REF, notes=NOTES,
                             liberation_date=TODAY + dt.timedelta(days=21))
    start = TODAY - dt.timedelta(days=20)
    _attend(coordinator, p.id, start, "mod-rcdt-01")
    _attend(coordinator, p.id, start + dt.timedelta(days=2), "mod-rcdt-02")
    _attend(coordinator, p.id, start + dt.timedelta(days=5), "mod-rat-01")
    _attend(coordinator, p.id, start + dt.timedelta(days=9), None)
    ladder.sign_off(coordinator, p.id, "ms-attender", achieved_on=start + dt.timedelta(days=9))
    _organisations(coordinator)
    return p


def _make(ctx: Context, person_id: str, **kw):  # noqa: ANN003, ANN202
    values = {"area": "Fife", "own_words": "I found my people.\n\nI am going home.", "consent_on": TODAY} | kw
    return liberation.make_record(ctx, person_id, **values)


def test_content_gathers_the_journey(coordinator: Context, kim) -> None:  # noqa: ANN001
    cert = certificates.issue(coordinator, person_id=kim.id, kind="programme", programme_id="prog-rat")
    row = _make(coordinator, kim.id)
    c = liberation.content_of(coordinator, row.id)
    assert c["v"] == 1 and c["name"] == "Kim Lee" and c["area"] == "Fife" and c["made_at"] == "HMP Perth"
    assert c["establishments"] == ["HMP Perth"]
    assert c["own_words"] == "I found my people.\n\nI am going home."
    assert c["sessions"] == {"count": 4, "first": (TODAY - dt.timedelta(days=20)).isoformat(),
                             "last": (TODAY - dt.timedelta(days=11)).isoformat()}
    assert {m["code"] for m in c["modules"]} == {"RCDT01", "RCDT02", "RAT01"}
    assert [p["code"] for p in c["programmes"]] == ["RAT"]  # RCDT needs every module
    assert [(x["level"], x["name"]) for x in c["ladder"]] == [(1, "Attender")]
    assert [(x["serial"], x["code"]) for x in c["certificates"]] == [(cert.serial, cert.code)]
    # The area's live organisations only: LEROs and recovery communities first, then services.
    assert [o["name"] for o in c["organisations"]] == ["Fife LERO", "Fife Recovery Café", "Fife Housing Support"]
    assert c["organisations"][1]["offers"] == "A café every Thursday"
    stored = json.dumps(c)
    assert REF not in stored and "Private note" not in stored and kim.id not in stored
    assert dict(sections(c))["Certificates, with serials"] == 1
    assert row.printed_count == 1 and row.consent_on == TODAY and row.made_by == "Coordinator"


def test_consent_and_area_are_required(coordinator: Context, kim) -> None:  # noqa: ANN001
    with pytest.raises(ValidationError, match="consent"):
        _make(coordinator, kim.id, consent_on=None)
    with pytest.raises(ValidationError, match="future"):
        _make(coordinator, kim.id, consent_on=TODAY + dt.timedelta(days=1))
    with pytest.raises(ValidationError, match="council areas"):
        _make(coordinator, kim.id, area="Narnia")
    with pytest.raises(ValidationError, match="council area"):
        _make(coordinator, kim.id, area="")
    assert liberation.records(coordinator, kim.id) == []  # nothing stored by a refusal
    assert _make(coordinator, kim.id, area="fife").area == "Fife"  # typed in any case


def test_a_recorder_is_refused(recorder: Context, coordinator: Context, kim) -> None:  # noqa: ANN001
    with pytest.raises(PermissionDenied, match="coordinator"):
        _make(recorder, kim.id)
    row = _make(coordinator, kim.id)
    with pytest.raises(PermissionDenied):
        liberation.reprint(recorder, row.id)
    assert [r.id for r in liberation.records(recorder, kim.id)] == [row.id]  # seeing them is fine


def test_an_establishment_cannot_make_one_for_another_establishments_person(coordinator: Context, kim) -> None:  # noqa: ANN001
    with coordinator.write("person.edit") as s:
        s.get(Person, kim.id).establishment_id = "est-bar"
    with pytest.raises(PermissionDenied, match="not at HMP Perth"):
        _make(coordinator, kim.id)
    with pytest.raises(PermissionDenied):
        liberation.preview(coordinator, kim.id, area="Fife")


def test_the_office_may_make_one_for_anyone(office: Context, make_user) -> None:  # noqa: ANN001
    boss = make_user(office, "coordinator", "olga")
    with boss.write("person.edit") as s:
        p = Person(given_name="Ann", family_name="Other", search_name="ann other", establishment_id="est-bar",
                   external_ref="Z999")
        s.add(p)
        s.flush()
        pid = p.id
    c = liberation.content_of(boss, _make(boss, pid).id)
    assert c["made_at"] == "Scottish Recovery Consortium" and c["establishments"] == ["HMP Barlinnie"]


def test_the_content_is_frozen_and_a_reprint_prints_the_original(coordinator: Context, kim) -> None:  # noqa: ANN001
    cert = certificates.issue(coordinator, person_id=kim.id, kind="programme", programme_id="prog-rat")
    row = _make(coordinator, kim.id)
    first = pdf.pdf_bytes(liberation.content_of(coordinator, row.id))
    people.update_person(coordinator, kim.id, given_name="Kimberley")
    certificates.revoke(coordinator, cert.id, "Issued in error")
    with coordinator.write("person.edit") as s:
        for o in s.query(CommunityOrganisation):
            o.retired = True
    again = liberation.reprint(coordinator, row.id)
    assert again["name"] == "Kim Lee" and [c["serial"] for c in again["certificates"]] == [cert.serial]
    assert len(again["organisations"]) == 3
    assert pdf.pdf_bytes(again) == first  # the same file, byte for byte
    assert liberation.records(coordinator, kim.id)[0].printed_count == 2
    # A new record gathers what is true now.
    now = liberation.content_of(coordinator, _make(coordinator, kim.id).id)
    assert now["name"] == "Kimberley Lee" and now["certificates"] == [] and now["organisations"] == []
    assert liberation.last_own_words(coordinator, kim.id) == ("I found my people.\n\nI am going home.", "Fife")


def test_reprint_of_an_unknown_record(coordinator: Context) -> None:
    with pytest.raises(NotFound):
        liberation.reprint(coordinator, "no-such-record")


def test_upcoming_bounds(coordinator: Context) -> None:
    day = dt.date(2026, 12, 3)
    for given, offset in (("Yesterday", -1), ("Today", 0), ("Three", 21), ("Last", 56), ("Late", 57),
                          ("Ten", 70)):
        people.create_person(coordinator, given_name=given, family_name="Person",
                             liberation_date=day + dt.timedelta(days=offset))
    people.create_person(coordinator, given_name="No", family_name="Date")
    rows = liberation.upcoming_liberations(coordinator, day)
    assert [(r.display_name, r.days) for r in rows] == [("Today Person", 0), ("Three Person", 21),
                                                         ("Last Person", 56)]
    assert all(r.record_made is None and r.establishment_code == "PER" for r in rows)
    assert [r.display_name for r in liberation.upcoming_liberations(coordinator, day, weeks=10)][-1] == "Ten Person"


def test_upcoming_says_a_record_was_made(coordinator: Context, kim) -> None:  # noqa: ANN001
    _make(coordinator, kim.id)
    [row] = liberation.upcoming_liberations(coordinator)
    assert row.person_id == kim.id and row.record_made == TODAY and row.days == 21


def test_find_person_by_name_ref_or_id(coordinator: Context, kim) -> None:  # noqa: ANN001
    assert liberation.find_person(coordinator, "kim  LEE").id == kim.id
    assert liberation.find_person(coordinator, REF).id == kim.id
    people.create_person(coordinator, given_name="Kim", family_name="Lee")
    with pytest.raises(ValidationError, match="2 people"):
        liberation.find_person(coordinator, "Kim Lee")


def test_pdf_file_name_and_atomic_write(tmp_path, coordinator: Context, kim) -> None:  # noqa: ANN001
    c = liberation.content_of(coordinator, _make(coordinator, kim.id).id)
    assert file_name(c) == "Liberation record - Kim Lee.pdf"
    assert file_name({"name": "A/B: C"}) == "Liberation record - A B C.pdf"
    out = tmp_path / "out"
    out.mkdir()
    path = pdf.write_pdf(c, out / file_name(c))
    assert path.read_bytes().startswith(b"%PDF") and list(out.iterdir()) == [path]  # no partial file left
    with pytest.raises(pdf.NotSaved):
        pdf.write_pdf(c, out / "missing folder" / "x.pdf")


def test_no_record_is_kept_when_its_pdf_cannot_be_written(tmp_path, coordinator: Context, kim) -> None:  # noqa: ANN001
    with pytest.raises(pdf.NotSaved):
        _make(coordinator, kim.id, write_to=tmp_path / "no such folder" / "x.pdf")
    assert liberation.records(coordinator, kim.id) == []
    row = _make(coordinator, kim.id, write_to=tmp_path / "made.pdf")
    assert (tmp_path / "made.pdf").exists()
    with pytest.raises(pdf.NotSaved):
        liberation.reprint(coordinator, row.id, write_to=tmp_path / "no such folder" / "x.pdf")
    assert liberation.records(coordinator, kim.id)[0].printed_count == 1  # a failed reprint is not counted


def test_the_office_lists_everyone_going_home_with_their_establishment(office: Context, make_user) -> None:  # noqa: ANN001
    boss = make_user(office, "coordinator", "olga")
    day = dt.date(2026, 12, 3)
    with boss.write("person.edit") as s:
        for given, est in (("Bea", "est-bar"), ("Per", "est-per")):
            s.add(Person(given_name=given, family_name="Home", search_name=f"{given.lower()} home", establishment_id=est,
                         liberation_date=day + dt.timedelta(days=7)))
    rows = liberation.upcoming_liberations(boss, day)
    assert [(r.display_name, r.establishment_code) for r in rows] == [("Bea Home", "BAR"), ("Per Home", "PER")]


def test_a_record_and_its_reprints_reach_the_office(world, make_user) -> None:  # noqa: ANN001
    """Made at HMP Perth by a coordinator: the office accepts it (held with the person, signed by
    who made it), with what was printed, and the reprint count after."""
    per = make_user(world["PER"], "coordinator", "colin")
    p = people.create_person(per, given_name="Ali", family_name="Home", external_ref="X1")
    row = liberation.make_record(per, p.id, area="Fife", own_words="Going home.", consent_on=TODAY)
    liberation.reprint(per, row.id)
    result = world.send(per, world.office)
    assert result.held == 0 and result.conflicts == 0 and result.new > 0, result
    boss = make_user(world.office, "coordinator", "olga")
    [there] = liberation.records(boss, p.id)
    assert (there.id, there.place, there.printed_count, there.made_by) == (row.id, "HMP Perth", 2, "Coordinator")
    assert liberation.content_of(boss, row.id) == liberation.content_of(per, row.id)
