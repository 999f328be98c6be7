"""The register screen's reads: everything in one call, and the previous register."""

from __future__ import annotations

import datetime as dt

import pytest

from srcdesk.errors import NotFound
from srcdesk.models import AttendanceStatus
from srcdesk.services import attendance, catalogue, people, sessions
from srcdesk.services.attendance import RegisterEntry

DAY = dt.date(2026, 10, 6)


def _cafe(ctx, day=DAY, **kw):  # noqa: ANN001, ANN202
    return sessions.create_session(ctx, date=day, start_time="10:00", end_time="11:30",
                                   activity_type_id="act-cafe", **kw)


def _people(ctx, *names: str) -> list:  # noqa: ANN001
    return [people.create_person(ctx, given_name=n, family_name="Test") for n in names]


def test_load_register_gives_the_session_the_lines_and_the_codes(recorder) -> None:  # noqa: ANN001
    staff = people.create_person(recorder, given_name="Sam", family_name="Staff", kind="sps_staff")
    s = _cafe(recorder, location="Library", facilitator_ids=[staff.id])
    amy, ben = _people(recorder, "Amy", "Ben")
    attendance.save_register(recorder, s.id, [RegisterEntry(ben.id, "excused", "helper"), RegisterEntry(amy.id)])
    sheet = attendance.load_register(recorder, s.id)
    summary = sheet.session
    assert (summary.id, summary.date, summary.start_time, summary.end_time) == (s.id, DAY, "10:00", "11:30")
    assert (summary.what, summary.programme, summary.location) == ("Recovery café", None, "Library")
    assert (summary.establishment_code, summary.establishment_name) == ("PER", "HMP Perth")
    assert summary.facilitators == ("Sam Staff",) and not summary.cancelled
    assert [(ln.display_name, ln.status, ln.role, ln.counts_as_attended) for ln in sheet.lines] == [
        ("Amy Test", "present", "participant", True), ("Ben Test", "excused", "helper", False)]
    assert sheet.lines == attendance.register(recorder, s.id)
    assert [(st.code, st.key, st.counts_as_attended) for st in sheet.statuses] == [
        ("present", "P", True), ("late", "L", True), ("left_early", "E", True), ("excused", "X", False),
        ("absent", "A", False)]
    assert [r.code for r in sheet.roles][:2] == ["participant", "helper"]


def test_load_register_of_a_module_session_names_the_programme(recorder) -> None:  # noqa: ANN001
    s = sessions.create_session(recorder, date=DAY, start_time="09:00", end_time="12:00", module_id="mod-rat-01")
    summary = attendance.load_register(recorder, s.id).session
    assert summary.programme is not None and summary.what != summary.programme


def test_load_register_of_a_cancelled_or_missing_session(recorder) -> None:  # noqa: ANN001
    s = _cafe(recorder)
    sessions.cancel_session(recorder, s.id, "Lockdown")
    summary = attendance.load_register(recorder, s.id).session
    assert summary.cancelled and summary.cancelled_reason == "Lockdown"
    with pytest.raises(NotFound, match="That session no longer exists"):
        attendance.load_register(recorder, "nope")


def test_retired_status_still_listed_for_old_lines(office) -> None:  # noqa: ANN001
    """(At the office, which keeps the attendance codes.)"""
    catalogue.set_retired(office, AttendanceStatus, "status-excused")
    statuses = {st.code: st for st in attendance.load_register(office, _cafe(office, establishment_id="est-per").id).statuses}
    assert statuses["excused"].retired and not statuses["present"].retired


def test_previous_register_follows_the_series(recorder) -> None:  # noqa: ANN001
    first = _cafe(recorder)
    second, third, fourth = sessions.repeat_weekly(recorder, first.id, DAY + dt.timedelta(weeks=3))
    amy, ben, cal = _people(recorder, "Amy", "Ben", "Cal")
    other_cafe = _cafe(recorder, day=DAY + dt.timedelta(days=1))  # not in the series
    attendance.save_register(recorder, other_cafe.id, [RegisterEntry(cal.id)])
    attendance.save_register(recorder, first.id, [RegisterEntry(amy.id), RegisterEntry(ben.id, "absent", "helper")])
    sessions.cancel_session(recorder, third.id, "Staff shortage")

    previous = attendance.previous_register(recorder, fourth.id)  # skips the cancelled and the empty one
    assert previous.same_series and previous.session.id == first.id
    assert [(ln.person_id, ln.role) for ln in previous.lines] == [(amy.id, "participant"), (ben.id, "helper")]
    assert attendance.previous_register(recorder, second.id).session.id == first.id
    nothing = attendance.previous_register(recorder, first.id)  # first of its series: nothing before
    assert nothing.session is None and nothing.lines == [] and nothing.same_series


def test_previous_register_without_a_series_looks_at_the_same_activity_here(recorder) -> None:  # noqa: ANN001
    amy, ben = _people(recorder, "Amy", "Ben")
    old = _cafe(recorder, day=DAY - dt.timedelta(days=14))
    last = _cafe(recorder, day=DAY - dt.timedelta(days=7))
    meeting = sessions.create_session(recorder, date=DAY - dt.timedelta(days=1), start_time="10:00",
                                      end_time="11:00", activity_type_id="act-community")
    attendance.save_register(recorder, old.id, [RegisterEntry(amy.id)])
    attendance.save_register(recorder, last.id, [RegisterEntry(ben.id)])
    attendance.save_register(recorder, meeting.id, [RegisterEntry(amy.id)])
    today = _cafe(recorder)
    previous = attendance.previous_register(recorder, today.id)
    assert not previous.same_series and previous.session.id == last.id
    assert [ln.person_id for ln in previous.lines] == [ben.id]
    # same day, earlier start counts as before
    later_today = sessions.create_session(recorder, date=DAY, start_time="14:00", end_time="15:00",
                                          activity_type_id="act-cafe")
    attendance.save_register(recorder, today.id, [RegisterEntry(amy.id)])
    assert attendance.previous_register(recorder, later_today.id).session.id == today.id
