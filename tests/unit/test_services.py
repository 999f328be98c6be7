"""Services: validation that speaks to people, permissions by role, one transaction each."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from srcdesk.errors import NotFound, PermissionDenied, ValidationError
from srcdesk.models import Attendance, ChangeLog, Module, Session
from srcdesk.services import (
    attendance,
    catalogue,
    certificates,
    community,
    estate,
    ladder,
    people,
    plans,
    referrals,
    sessions,
)
from srcdesk.services.attendance import RegisterEntry
from srcdesk.services.check import run_check
from tests.conftest import as_role

TODAY = dt.date.today()


def _person(ctx, given="Jo", family="Bloggs", **kw):  # noqa: ANN001, ANN202
    return people.create_person(ctx, given_name=given, family_name=family, **kw)


def _cafe(ctx, day=None, **kw):  # noqa: ANN001, ANN202
    return sessions.create_session(ctx, date=day or TODAY - dt.timedelta(days=1), start_time="10:00",
                                   end_time="11:30", activity_type_id="act-cafe", **kw)


def _count(ctx, model) -> int:  # noqa: ANN001
    with ctx.db.read() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


# -- sessions ------------------------------------------------------------------------------------


def test_session_cant_end_before_it_starts(recorder) -> None:  # noqa: ANN001
    with pytest.raises(ValidationError, match="A session can't end before it starts") as exc:
        sessions.create_session(recorder, date=TODAY, start_time="14:00", end_time="13:00",
                                activity_type_id="act-cafe")
    assert exc.value.field == "end_time"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("date", "31/02/2024", "must be a date like"),
    ("start_time", "25:00", "must be a time like"),
])
def test_session_bad_dates_and_times(recorder, field, value, message) -> None:  # noqa: ANN001
    values = {"date": TODAY, "start_time": "10:00", "end_time": "11:00", "activity_type_id": "act-cafe"}
    values[field] = value
    with pytest.raises(ValidationError, match=message):
        sessions.create_session(recorder, **values)


def test_session_needs_module_or_activity_not_both(recorder) -> None:  # noqa: ANN001
    with pytest.raises(ValidationError, match="either a module or an activity"):
        sessions.create_session(recorder, date=TODAY, start_time="10:00", end_time="11:00")
    with pytest.raises(ValidationError, match="either a module or an activity"):
        sessions.create_session(recorder, date=TODAY, start_time="10:00", end_time="11:00",
                                module_id="mod-rcdt-01", activity_type_id="act-cafe")


def test_session_at_a_closed_establishment_is_refused(office) -> None:  # noqa: ANN001
    with pytest.raises(ValidationError, match="Cornton Vale closed on"):
        sessions.create_session(office, establishment_id="est-cva", date="2024-01-10", start_time="10:00",
                                end_time="11:00", activity_type_id="act-cafe")


def test_office_must_say_where(office) -> None:  # noqa: ANN001
    with pytest.raises(ValidationError, match="Choose the establishment"):
        sessions.create_session(office, date=TODAY, start_time="10:00", end_time="11:00", activity_type_id="act-cafe")


def test_repeat_weekly_cancel_and_list(recorder) -> None:  # noqa: ANN001
    staff = _person(recorder, "Sam", "Staff", kind="sps_staff")
    first = _cafe(recorder, day=TODAY - dt.timedelta(days=70), facilitator_ids=[staff.id], location="Hall 2")
    copies = sessions.repeat_weekly(recorder, first.id, TODAY)
    assert len(copies) == 10 and {c.series_id for c in copies} == {sessions.get_session(recorder, first.id).series_id}
    assert all(sessions.facilitators(recorder, c.id) == [staff.id] for c in copies)
    sessions.cancel_session(recorder, copies[0].id, "Lockdown")
    with pytest.raises(ValidationError, match="already cancelled"):
        sessions.cancel_session(recorder, copies[0].id, "Again")
    page = sessions.list_sessions(recorder, limit=4)
    assert len(page.items) == 4 and page.has_more
    assert [r.date for r in page.items] == sorted((r.date for r in page.items), reverse=True)
    seen = list(page.items)
    while page.has_more:
        page = sessions.list_sessions(recorder, limit=4, after=page.after)
        seen += page.items
    assert len(seen) == 11 and len({r.id for r in seen}) == 11
    assert len(sessions.list_sessions(recorder, facilitator_id=staff.id).items) == 11
    assert len(sessions.list_sessions(recorder, include_cancelled=False).items) == 10
    assert len(sessions.list_sessions(recorder, search="hall").items) == 11
    assert sessions.list_sessions(recorder, search="café").items[0].what == "Recovery café"
    with pytest.raises(ValidationError, match="before the 'from' date"):
        sessions.list_sessions(recorder, date_from=TODAY, date_to=TODAY - dt.timedelta(days=1))


def test_recruit_cohort_only_with_rat(recorder) -> None:  # noqa: ANN001
    cohort = sessions.create_recruit_cohort(recorder, name="Recruits 2024/3", starts_on=TODAY, size=24)
    with pytest.raises(ValidationError, match="Recovery Awareness Training only"):
        _cafe(recorder, recruit_cohort_id=cohort.id)
    rat = sessions.create_session(recorder, date=TODAY, start_time="09:00", end_time="12:00",
                                  module_id="mod-rat-01", recruit_cohort_id=cohort.id)
    assert rat.recruit_cohort_id == cohort.id


# -- register ------------------------------------------------------------------------------------


def test_register_duplicates_refused(recorder) -> None:  # noqa: ANN001
    s, p = _cafe(recorder), _person(recorder)
    attendance.add_to_register(recorder, s.id, RegisterEntry(p.id))
    with pytest.raises(ValidationError, match="already on the register for this session"):
        attendance.add_to_register(recorder, s.id, RegisterEntry(p.id, "late"))
    with pytest.raises(ValidationError, match="already on the register for this session"):
        attendance.save_register(recorder, s.id, [RegisterEntry(p.id), RegisterEntry(p.id)])


def test_save_register_is_one_operation(recorder) -> None:  # noqa: ANN001
    s = _cafe(recorder)
    a, b, c = (_person(recorder, n, "Test") for n in ("Amy", "Ben", "Cal"))
    r = attendance.save_register(recorder, s.id, [RegisterEntry(a.id), RegisterEntry(b.id, "late", "helper")])
    assert (r.added, r.changed, r.removed) == (2, 0, 0)
    r = attendance.save_register(recorder, s.id, [RegisterEntry(b.id, "present", "helper"), RegisterEntry(c.id)])
    assert (r.added, r.changed, r.removed, r.unchanged) == (1, 1, 1, 0)
    lines = attendance.register(recorder, s.id)
    assert [(line.display_name, line.status, line.role) for line in lines] == [
        ("Ben Test", "present", "helper"), ("Cal Test", "present", "participant")]
    rows_before, log_before = _count(recorder, Attendance), _count(recorder, ChangeLog)
    with pytest.raises(ValidationError, match="'maybe' is not an attendance status"):
        attendance.save_register(recorder, s.id, [RegisterEntry(a.id), RegisterEntry(b.id, "maybe")])
    assert (_count(recorder, Attendance), _count(recorder, ChangeLog)) == (rows_before, log_before)
    # Amy back on the register: her old row is revived, never a second row
    attendance.save_register(recorder, s.id, [RegisterEntry(a.id), RegisterEntry(b.id, "present", "helper"),
                                              RegisterEntry(c.id)])
    assert _count(recorder, Attendance) == 3
    assert sessions.list_sessions(recorder).items[0].attended == 3


def test_register_of_cancelled_session_refused(recorder) -> None:  # noqa: ANN001
    s, p = _cafe(recorder), _person(recorder)
    sessions.cancel_session(recorder, s.id, "Staff shortage")
    with pytest.raises(ValidationError, match="cancelled"):
        attendance.save_register(recorder, s.id, [RegisterEntry(p.id)])


def test_delete_session_is_for_coordinators_and_takes_the_register(recorder, coordinator) -> None:  # noqa: ANN001
    s, p = _cafe(recorder), _person(recorder)
    attendance.add_to_register(recorder, s.id, RegisterEntry(p.id))
    with pytest.raises(PermissionDenied, match="Only a coordinator can delete sessions; you are signed in as a recorder"):
        sessions.delete_session(recorder, s.id, "Entered twice")
    sessions.delete_session(coordinator, s.id, "Entered twice")
    with pytest.raises(NotFound):
        sessions.get_session(recorder, s.id)
    with recorder.db.read() as db:
        assert db.get(Session, s.id).deleted_reason == "Entered twice"
        assert db.execute(select(Attendance.deleted_reason)).scalar_one() == "Session deleted: Entered twice"


# -- people --------------------------------------------------------------------------------------


def test_people_search_and_paging(recorder) -> None:  # noqa: ANN001
    for given, family in [("Mary", "Brown"), ("Marek", "Nowak"), ("Tom", "Mare"), ("Anne", "Smith")]:
        _person(recorder, given, family)
    _person(recorder, "Jo", "Ref", external_ref="P123456")
    assert [p.display_name for p in people.search_people(recorder, "mar").items] == [
        "Mary Brown", "Tom Mare", "Marek Nowak"]  # by family name, then given name
    assert [p.display_name for p in people.search_people(recorder, "mar br").items] == ["Mary Brown"]
    assert [p.display_name for p in people.search_people(recorder, "p1234").items] == ["Jo Ref"]
    assert people.search_people(recorder, "%").items == []
    page = people.search_people(recorder, limit=2)
    assert len(page.items) == 2 and page.has_more
    rest = people.search_people(recorder, limit=10, after=page.after)
    assert len(rest.items) == 3 and not rest.has_more


def test_person_validation(recorder) -> None:  # noqa: ANN001
    with pytest.raises(ValidationError, match="Given name is required"):
        _person(recorder, "  ", "X")
    with pytest.raises(ValidationError, match="consent date can't be in the future"):
        _person(recorder, consent_date=TODAY + dt.timedelta(days=1))
    _person(recorder, "A", "B", external_ref="P1")
    with pytest.raises(ValidationError, match="already recorded for A B"):
        _person(recorder, "C", "D", external_ref="P1")
    with pytest.raises(ValidationError, match="can't be changed here"):
        people.update_person(recorder, _person(recorder).id, establishment_id="est-bar")


def test_transfer_keeps_history(recorder) -> None:  # noqa: ANN001
    p = _person(recorder)
    assert p.establishment_id == "est-per"
    people.transfer_person(recorder, p.id, "est-bar", on=TODAY - dt.timedelta(days=5), reason="Moved")
    with pytest.raises(ValidationError, match="can't be earlier"):
        people.transfer_person(recorder, p.id, "est-edi", on=TODAY - dt.timedelta(days=9))
    with pytest.raises(ValidationError, match="already at that establishment"):
        people.transfer_person(recorder, p.id, "est-bar", on=TODAY)
    people.transfer_person(recorder, p.id, None, on=TODAY, reason="Liberated")
    history = people.establishment_history(recorder, p.id)
    assert [(h.from_establishment_id, h.to_establishment_id) for h in history] == [
        ("est-per", "est-bar"), ("est-bar", None)]
    assert people.get_person(recorder, p.id).establishment_id is None


def test_recorder_cant_delete_people(recorder) -> None:  # noqa: ANN001
    with pytest.raises(PermissionDenied):
        people.delete_person(recorder, _person(recorder).id, "dup")


# -- ladder --------------------------------------------------------------------------------------


def _attend(ctx, person, n, role="participant", start=60):  # noqa: ANN001, ANN202
    out = []
    for i in range(n):
        s = _cafe(ctx, day=TODAY - dt.timedelta(days=start - i * 3))
        attendance.add_to_register(ctx, s.id, RegisterEntry(person.id, "present", role))
        out.append(s)
    return out


def test_sign_off_by_coordinator_refused_for_recorder(recorder, coordinator) -> None:  # noqa: ANN001
    p = _person(recorder)
    attended = _attend(recorder, p, 1)
    nxt = ladder.next_level(recorder, p.id)
    assert nxt.definition_id == "ms-attender" and nxt.eligible and nxt.evidence_session_ids == [attended[0].id]
    with pytest.raises(PermissionDenied, match="Only a coordinator can sign off milestones"):
        ladder.sign_off(recorder, p.id, "ms-attender", achieved_on=TODAY)
    a = ladder.sign_off(coordinator, p.id, "ms-attender", achieved_on=TODAY)
    assert a.signed_off_by == coordinator.user.id and a.status == "active"
    with pytest.raises(ValidationError, match="already holds"):
        ladder.sign_off(coordinator, p.id, "ms-attender", achieved_on=TODAY)
    regular = ladder.next_level(recorder, p.id)
    assert regular.definition_id == "ms-regular" and not regular.eligible
    assert regular.unmet == ["Has attended 1 of 6 sessions within 84 days."]
    with pytest.raises(ValidationError, match="Not yet eligible for 'Regular member'"):
        ladder.sign_off(coordinator, p.id, "ms-regular", achieved_on=TODAY)
    _attend(recorder, p, 5, start=30)
    assert ladder.next_level(recorder, p.id).eligible
    ladder.sign_off(coordinator, p.id, "ms-regular", achieved_on=TODAY)
    helper = ladder.next_level(recorder, p.id)
    assert helper.definition_id == "ms-peer-helper" and "role of" in helper.unmet[0]


def test_ladder_requires_the_level_below(recorder, coordinator) -> None:  # noqa: ANN001
    p = _person(recorder)
    _attend(recorder, p, 4, role="helper")
    progress = {e.definition_id: e for e in ladder.progress(recorder, p.id)}
    assert progress["ms-peer-helper"].unmet == ["Needs the level below first: Regular member."]


def test_withdraw_and_supersede_never_delete(recorder, coordinator) -> None:  # noqa: ANN001
    p = _person(recorder)
    _attend(recorder, p, 1)
    a = ladder.sign_off(coordinator, p.id, "ms-attender", achieved_on=TODAY)
    b = ladder.supersede(coordinator, a.id, "Wrong date", achieved_on=TODAY - dt.timedelta(days=1))
    with pytest.raises(ValidationError, match="already superseded"):
        ladder.withdraw(coordinator, a.id, "x")
    ladder.withdraw(coordinator, b.id, "Signed off for the wrong person")
    states = [(x.status, x.status_reason) for x in ladder.achievements(recorder, p.id)]
    assert sorted(states) == [("superseded", "Wrong date"), ("withdrawn", "Signed off for the wrong person")]
    assert ladder.next_level(recorder, p.id).definition_id == "ms-attender"


def test_ladder_rules_are_validated(office, make_user) -> None:  # noqa: ANN001
    coordinator = make_user(office, "coordinator")  # the ladder is kept at the SRC office
    with pytest.raises(ValidationError, match="Unknown rule 'sessions'"):
        catalogue.create(coordinator, catalogue.MilestoneDefinition, code="x", name="X", rules={"sessions": 3})
    level = catalogue.create(coordinator, catalogue.MilestoneDefinition, code="mentor", name="Mentor",
                             rules={"attended_sessions": 50})
    assert level.level == 7


# -- catalogue -----------------------------------------------------------------------------------


def test_catalogue_retire_instead_of_delete(recorder, coordinator) -> None:  # noqa: ANN001
    with pytest.raises(PermissionDenied):
        catalogue.create(recorder, catalogue.ActivityType, code="yoga", name="Yoga")
    yoga = catalogue.create(coordinator, catalogue.ActivityType, code="yoga", name="Yoga")
    with pytest.raises(ValidationError, match="already in use"):
        catalogue.create(coordinator, catalogue.ActivityType, code="YOGA", name="Yoga 2")
    sessions.create_session(recorder, date=TODAY, start_time="10:00", end_time="11:00", activity_type_id=yoga.id)
    with pytest.raises(ValidationError, match="retire it instead"):
        catalogue.delete(coordinator, catalogue.ActivityType, yoga.id, "mistake")
    catalogue.set_retired(coordinator, catalogue.ActivityType, yoga.id)
    with pytest.raises(ValidationError, match="retired"):
        sessions.create_session(recorder, date=TODAY, start_time="10:00", end_time="11:00", activity_type_id=yoga.id)
    unused = catalogue.create(coordinator, catalogue.ActivityType, code="typo", name="Tpyo")
    catalogue.delete(coordinator, catalogue.ActivityType, unused.id, "Typo")
    assert "typo" not in {a.code for a in catalogue.list_all(recorder, catalogue.ActivityType, include_retired=True)}


def test_modules_belong_to_programmes(coordinator) -> None:  # noqa: ANN001
    m = catalogue.create(coordinator, Module, programme_id="prog-rcdt", code="RCDT09", name="New module")
    assert m.sequence == 9 or m.sequence > 8
    with pytest.raises(NotFound):
        catalogue.create(coordinator, Module, programme_id="prog-none", code="Z", name="Z")


# -- certificates, estate, community, plans ----------------------------------------------------


def test_certificates_serials_and_status(recorder, coordinator) -> None:  # noqa: ANN001
    p = _person(recorder, "Kim", "Lee")
    with pytest.raises(PermissionDenied):
        certificates.issue(recorder, person_id=p.id, kind="programme", programme_id="prog-rcdt")
    c1 = certificates.issue(coordinator, person_id=p.id, kind="programme", programme_id="prog-rcdt")
    c2 = certificates.issue(coordinator, person_id=p.id, kind="module", module_id="mod-rcdt-01")
    year = TODAY.year
    tag = certificates.installation_tag(coordinator.installation.id)
    assert (c1.serial, c2.serial) == (f"SRC-PER-{year}-{tag}-000001", f"SRC-PER-{year}-{tag}-000002")
    assert c1.recipient_name == "Kim Lee" and c1.title.startswith("SRC Recovery Community")
    c3 = certificates.reissue(coordinator, c1.id, "Name misspelt", recipient_name="Kimberley Lee")
    assert c3.supersedes_id == c1.id and c3.serial.endswith("000003")
    certificates.revoke(coordinator, c2.id, "Issued in error")
    states = {c.serial[-6:]: c.status for c in certificates.certificates_for(recorder, p.id)}
    assert states == {"000001": "superseded", "000002": "revoked", "000003": "valid"}


def test_estate_changes(office) -> None:  # noqa: ANN001
    ctx = office  # the estate is kept at the SRC office (see the establishment's refusals below)
    with pytest.raises(ValidationError, match="can't close before it opened"):
        estate.update_establishment(ctx, "est-per", closed="1800-01-01")
    new = estate.create_establishment(ctx, code="NEW", name="HMP Highland", opened="2026-01-01")
    assert new.code == "NEW"
    with pytest.raises(ValidationError, match="already used"):
        estate.create_establishment(ctx, code="PER", name="Another Perth")
    names = {e.code for e in estate.establishments(ctx)}
    assert "CVA" not in names and {"PER", "STI", "NEW"} <= names


def test_referral_stages_go_in_order(recorder) -> None:  # noqa: ANN001
    """Only the next stage, dated on or after the one before; back only with a reason (the whole
    protocol: tests/unit/test_referrals.py)."""
    p = _person(recorder)
    r = community.create_referral(recorder, person_id=p.id, referred_on=TODAY - dt.timedelta(days=20))
    with pytest.raises(ValidationError, match="The next stage is 'Consented'"):
        community.record_stage(recorder, r.id, "assessed", TODAY - dt.timedelta(days=15))
    community.record_stage(recorder, r.id, "consented", TODAY - dt.timedelta(days=15))
    with pytest.raises(ValidationError, match="before the previous one"):
        community.record_stage(recorder, r.id, "assessed", TODAY - dt.timedelta(days=16))
    community.record_stage(recorder, r.id, "assessed", TODAY - dt.timedelta(days=5))
    with pytest.raises(ValidationError, match="step back with a reason"):
        community.record_stage(recorder, r.id, "consented", TODAY - dt.timedelta(days=4))
    referrals.step_back(recorder, r.id, "consented", "Assessed the wrong person")
    community.record_stage(recorder, r.id, "assessed", TODAY)
    referrals.withdraw(recorder, r.id, "No longer wishes to go", TODAY)
    with pytest.raises(ValidationError, match="closed"):
        community.record_stage(recorder, r.id, "funding_agreed", TODAY)


def test_initiatives_organisations_and_plans(recorder, coordinator, office, make_user) -> None:  # noqa: ANN001
    i = community.create_initiative(recorder, kind="recovery_cafe", name="Thursday café", started_on="2022-05-01")
    community.update_initiative(recorder, i.id, status="paused", review_notes="Paused over the summer.")
    assert run_check(recorder.db).ok
    coordinator = make_user(office, "coordinator")  # organisations and the workplan are kept at the SRC office
    recorder = make_user(office, "recorder")
    org = community.create_organisation(coordinator, name="Perth Recovery Network", area="Perth and Kinross")
    community.link_organisation(coordinator, org.id, "est-per")
    with pytest.raises(ValidationError, match="already connected"):
        community.link_organisation(coordinator, org.id, "est-per")
    community.unlink_organisation(coordinator, org.id, "est-per", "No longer visiting")
    community.link_organisation(coordinator, org.id, "est-per")
    year = plans.create_plan_year(coordinator, "2031-32")
    assert (year.starts_on, year.ends_on) == (dt.date(2031, 4, 1), dt.date(2032, 3, 31))
    with pytest.raises(ValidationError, match="written like 2024-25"):
        plans.create_plan_year(coordinator, "2031-33")
    plans.set_focus(coordinator, "py-2021", ["est-per", "est-bar", "est-edi"])
    plans.set_focus(coordinator, "py-2021", ["est-per", "est-gle"])
    assert plans.plan_year_for(recorder, "2022-02-01").code == "2021-22"
    assert run_check(recorder.db).ok


@pytest.mark.parametrize(("doing", "says"), [
    ("add a ladder level", "The ladder's levels are kept at the SRC office"),
    ("edit a ladder level", "The ladder's levels are kept at the SRC office"),
    ("retire an attendance status", "The attendance statuses are kept at the SRC office"),
    ("delete a register role", "The roles on a register are kept at the SRC office"),
    ("add a plan year", r"\(the workplan\) are kept at the SRC office"),
    ("choose focus establishments", r"\(the workplan\) are kept at the SRC office"),
    ("set a target", r"\(the workplan\) are kept at the SRC office"),
    ("add an establishment", r"The establishments \(the estate\) are kept at the SRC office"),
    ("close an establishment", r"The establishments \(the estate\) are kept at the SRC office"),
    ("add a community organisation", r"The community organisations \(LEROs and services\) are kept at the SRC office"),
    ("connect an organisation to this establishment",
     "Which community organisations connect to which establishments are kept at the SRC office"),
    ("connect an organisation to another establishment", "Which community organisations connect to"),
    ("record an initiative of another establishment", "belongs to another establishment"),
])
def test_an_establishment_is_told_at_once_what_its_bundle_could_not_carry(ctx, coordinator, office, doing, says) -> None:  # noqa: ANN001
    """What the office would refuse in Perth's bundle (sync.authority's rules) is refused at Perth
    at once, with the reason, and nothing is written."""
    org = community.create_organisation(as_role(office, "coordinator", "cora"), name="Tayside Recovery",
                                        area="Perth and Kinross")  # (not at Perth: only its id is used)
    attempts = {
        "add a ladder level": lambda: catalogue.create(coordinator, catalogue.MilestoneDefinition, code="mentor",
                                                       name="Mentor", rules={"attended_sessions": 50}),
        "edit a ladder level": lambda: catalogue.update(coordinator, catalogue.MilestoneDefinition, "ms-attender",
                                                        name="Comer"),
        "retire an attendance status": lambda: catalogue.set_retired(coordinator, catalogue.AttendanceStatus,
                                                                     "status-excused"),
        "delete a register role": lambda: catalogue.delete(coordinator, catalogue.AttendanceRole, "role-observer",
                                                           "not used"),
        "add a plan year": lambda: plans.create_plan_year(coordinator, "2031-32"),
        "choose focus establishments": lambda: plans.set_focus(coordinator, "py-2021", ["est-per"]),
        "set a target": lambda: plans.add_target(coordinator, "py-2021", code="T", description="More cafés"),
        "add an establishment": lambda: estate.create_establishment(ctx, code="NEW", name="HMP Highland"),
        "close an establishment": lambda: estate.update_establishment(ctx, "est-per", closed=TODAY),
        "add a community organisation": lambda: community.create_organisation(
            coordinator, name="Tayside Recovery", area="Perth and Kinross"),
        "connect an organisation to this establishment": lambda: community.link_organisation(
            coordinator, org.id, "est-per"),
        "connect an organisation to another establishment": lambda: community.link_organisation(
            coordinator, org.id, "est-bar"),
        "record an initiative of another establishment": lambda: community.create_initiative(
            coordinator, kind="recovery_cafe", name="Barlinnie café", establishment_id="est-bar"),
    }
    before = _count(ctx, ChangeLog)
    with pytest.raises(PermissionDenied, match=says):
        attempts[doing]()
    assert _count(ctx, ChangeLog) == before


def test_an_establishment_still_changes_what_is_its_own_or_shared(coordinator) -> None:  # noqa: ANN001
    """Programmes, modules and activity types are shared: coordinators anywhere change them;
    initiatives of its own establishment too (community organisations, though shared, are kept at
    the SRC office: above)."""
    programme = catalogue.create(coordinator, catalogue.Programme, code="PX", name="Perth course")
    catalogue.create(coordinator, Module, programme_id=programme.id, code="PX1", name="First")
    catalogue.update(coordinator, catalogue.ActivityType, "act-cafe", name="Recovery café (Perth)")
    i = community.create_initiative(coordinator, kind="recovery_cafe", name="Perth café")
    community.delete_initiative(coordinator, i.id, "Entered twice")
    assert run_check(coordinator.db).ok


def test_unknown_user_dummy_hash_matches_the_hasher():
    """An unknown username verifies against a constant hash; it must cost what a real one does."""
    from srcdesk.services import users

    assert not users._hasher.check_needs_rehash(users._DUMMY_HASH)
    assert users._hasher.verify(users._DUMMY_HASH, "not a real password")
