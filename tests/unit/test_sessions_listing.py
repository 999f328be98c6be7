"""Sessions: saving in one transaction (cohort, repeats), the list's filters and paging, pickers."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from srcdesk.errors import PermissionDenied, ValidationError
from srcdesk.models import RecruitCohort, Session
from srcdesk.services import people, sessions

DAY = dt.date(2026, 10, 28)  # a Wednesday


def _count(ctx, model) -> int:  # noqa: ANN001
    with ctx.db.read() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def _person(ctx, given: str, family: str):  # noqa: ANN001, ANN202
    return people.create_person(ctx, given_name=given, family_name=family, kind="sps_staff")


def test_save_session_makes_cohort_session_and_repeats_together(recorder) -> None:  # noqa: ANN001
    staff = _person(recorder, "Isla", "Curtis")
    outcome = sessions.save_session(
        recorder, date=DAY, start_time="09:00", end_time="12:00", module_id="mod-rat-01",
        facilitator_ids=[staff.id], new_cohort={"name": "Recruits Nov", "starts_on": DAY, "size": 20},
        repeat_until=DAY + dt.timedelta(weeks=3, days=2),
    )
    assert outcome.cohort.name == "Recruits Nov"
    assert outcome.cohort.establishment_id == recorder.installation.establishment_id
    assert outcome.session.recruit_cohort_id == outcome.cohort.id
    assert [r.date for r in outcome.repeats] == [DAY + dt.timedelta(weeks=w) for w in (1, 2, 3)]
    assert all(r.recruit_cohort_id == outcome.cohort.id for r in outcome.repeats)
    assert all(sessions.facilitators(recorder, r.id) == [staff.id] for r in outcome.repeats)


def test_save_session_saves_nothing_when_any_part_is_refused(recorder) -> None:  # noqa: ANN001
    before = (_count(recorder, Session), _count(recorder, RecruitCohort))
    with pytest.raises(ValidationError) as refused:
        sessions.save_session(recorder, date=DAY, start_time="09:00", end_time="12:00", module_id="mod-rat-01",
                              new_cohort={"name": "Recruits Nov", "starts_on": DAY},
                              repeat_until=DAY - dt.timedelta(days=1))
    assert refused.value.field == "until"
    with pytest.raises(ValidationError) as refused:
        sessions.save_session(recorder, date=DAY, start_time="09:00", end_time="12:00", module_id="mod-rat-01",
                              new_cohort={"name": " ", "starts_on": DAY})
    assert refused.value.field == "cohort_name"
    with pytest.raises(ValidationError) as refused:
        sessions.save_session(recorder, date=DAY, start_time="12:00", end_time="11:00", activity_type_id="act-cafe")
    assert refused.value.field == "end_time"
    assert (_count(recorder, Session), _count(recorder, RecruitCohort)) == before


def test_save_session_edits_only_what_is_given(recorder) -> None:  # noqa: ANN001
    first = sessions.create_session(recorder, date=DAY, start_time="10:00", end_time="11:00",
                                    activity_type_id="act-cafe", location="Library", notes="Bring cups")
    outcome = sessions.save_session(recorder, first.id, location="Chapel")
    assert (outcome.session.location, outcome.session.notes, outcome.repeats) == ("Chapel", "Bring cups", [])
    with pytest.raises(ValidationError, match="Only a new session"):
        sessions.save_session(recorder, first.id, repeat_until=DAY + dt.timedelta(weeks=2))


def test_details_cohorts_and_weeks(recorder) -> None:  # noqa: ANN001
    staff = _person(recorder, "Annette", "Black")
    cohort = sessions.create_recruit_cohort(recorder, name="Recruits Oct", starts_on=DAY,
                                            establishment_id=recorder.installation.establishment_id)
    with pytest.raises(PermissionDenied, match="another establishment"):  # the office would refuse it
        sessions.create_recruit_cohort(recorder, name="Recruits elsewhere", starts_on=DAY, establishment_id="est-cva")
    rec = sessions.create_session(recorder, date=DAY, start_time="09:00", end_time="12:00",
                                  module_id="mod-rat-01", recruit_cohort_id=cohort.id, facilitator_ids=[staff.id])
    details = sessions.get_session_details(recorder, rec.id)
    assert details.programme_code == "RAT" and details.cohort.id == cohort.id and details.on_register == 0
    assert [f.display_name for f in details.facilitators] == ["Annette Black"]
    names = [c.name for c in sessions.list_recruit_cohorts(recorder)]
    assert "Recruits Oct" in names and "Recruits elsewhere" not in names
    assert sessions.week_of(DAY) == (dt.date(2026, 10, 26), dt.date(2026, 11, 1))
    assert sessions.weekly_dates(DAY, DAY + dt.timedelta(days=20)) == [DAY + dt.timedelta(weeks=w) for w in (1, 2)]
    assert sessions.weekly_dates(DAY, DAY) == []
    late = sessions.create_session(recorder, date=DAY - dt.timedelta(days=1), start_time="18:00", end_time="19:00",
                                   activity_type_id="act-cafe")
    week = sessions.sessions_between(recorder, *sessions.week_of(DAY))
    assert [r.id for r in week] == [late.id, rec.id]  # in the order they happen


def test_list_filters_search_and_paging(recorder, monkeypatch) -> None:  # noqa: ANN001
    annette, isla = _person(recorder, "Annette", "Black"), _person(recorder, "Isla", "Curtis")
    made = []
    for week in range(6):
        day = DAY - dt.timedelta(weeks=week)
        made.append(sessions.create_session(recorder, date=day, start_time="14:00", end_time="16:00",
                                            activity_type_id="act-cafe", location="Library",
                                            facilitator_ids=[annette.id]))
        made.append(sessions.create_session(recorder, date=day, start_time="09:00", end_time="12:00",
                                            module_id="mod-rat-01", facilitator_ids=[isla.id],
                                            title="Recruits 100% welcome" if week == 0 else None))
    sessions.cancel_session(recorder, made[0].id, "Lockdown")

    def ids(**filters) -> set[str]:  # noqa: ANN003
        return {r.id for r in sessions.list_sessions(recorder, **filters).items}

    cafes = {m.id for m in made if m.activity_type_id}
    rats = {m.id for m in made if m.module_id}
    assert ids(activity_type_id="act-cafe") == cafes
    assert ids(module_id="mod-rat-01") == rats
    rat_programme = sessions.get_session_details(recorder, made[1].id).programme_code
    assert rat_programme == "RAT"
    assert ids(facilitator_id=annette.id) == cafes and ids(facilitator_id=isla.id) == rats
    assert ids(include_cancelled=False) == (cafes | rats) - {made[0].id}
    assert ids(search="café") == cafes  # the activity's name
    assert ids(search="awareness") == rats - {made[1].id}  # the module's name, unless a title replaces it
    assert ids(search="100%") == {made[1].id}  # the title; % is a character, not a wildcard
    assert ids(search="library café") == cafes
    assert ids(date_from=DAY - dt.timedelta(weeks=1)) == {m.id for m in made[:4]}
    # A common value is found by walking the sessions by date instead of its index: same answer.
    monkeypatch.setattr(sessions, "DENSE_FILTER", 0)
    assert ids(activity_type_id="act-cafe") == cafes and ids(module_id="mod-rat-01") == rats

    row = sessions.list_sessions(recorder, search="café").items[0]
    assert row.cancelled and row.cancelled_reason == "Lockdown" and row.facilitators == "Annette Black"

    seen, after = [], None
    while True:
        page = sessions.list_sessions(recorder, limit=5, after=after)
        seen += page.items
        if not page.has_more:
            break
        after = page.after
    assert len(seen) == 12 and len({r.id for r in seen}) == 12
    assert [(r.date, r.start_time) for r in seen] == sorted(((r.date, r.start_time) for r in seen), reverse=True)


def test_list_facilitators(recorder) -> None:  # noqa: ANN001
    annette, isla, nobody = (_person(recorder, "Annette", "Black"), _person(recorder, "Isla", "Curtis"),
                             _person(recorder, "Never", "Facilitates"))
    first = sessions.create_session(recorder, date=DAY, start_time="10:00", end_time="11:00",
                                    activity_type_id="act-cafe", facilitator_ids=[annette.id, isla.id])
    assert [p.display_name for p in sessions.list_facilitators(recorder)] == ["Annette Black", "Isla Curtis"]
    assert [p.id for p in sessions.list_facilitators(recorder, search="cur")] == [isla.id]
    est = recorder.installation.establishment_id
    assert {p.id for p in sessions.list_facilitators(recorder, establishment_id=est)} == {annette.id, isla.id}
    assert sessions.list_facilitators(recorder, establishment_id="est-cva") == []
    sessions.update_session(recorder, first.id, facilitator_ids=[annette.id])  # Isla taken off
    assert [p.id for p in sessions.list_facilitators(recorder)] == [annette.id]
    assert nobody.id not in {p.id for p in sessions.list_facilitators(recorder)}
