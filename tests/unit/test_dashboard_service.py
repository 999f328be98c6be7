"""The dashboard's service: the indicators behind ``report.read``, scoped to what this installation
may see (the office: everything; an establishment's PC: its own establishment)."""

from __future__ import annotations

import datetime as dt

import pytest

from srcdesk.errors import PermissionDenied, ValidationError
from srcdesk.reports.periods import plan_quarter, plan_year
from srcdesk.services import attendance, dashboard, people, plans, sessions
from srcdesk.services.attendance import RegisterEntry
from srcdesk.services.base import Context

Q1 = plan_quarter(2025, 1)
YEAR = plan_year(2025)


def _attended(ctx: Context, est: str, day: str, person_id: str) -> str:
    made = sessions.create_session(ctx, date=day, start_time="10:00", end_time="11:00", establishment_id=est,
                                   module_id="mod-rcdt-01")
    attendance.save_register(ctx, made.id, [RegisterEntry(person_id, "present")])
    return made.id


def test_the_office_sees_every_establishment_and_the_nation(office: Context) -> None:
    ann = people.create_person(office, given_name="Ann", family_name="Lee", establishment_id="est-per").id
    bob = people.create_person(office, given_name="Bob", family_name="Roy", establishment_id="est-bar").id
    _attended(office, "est-per", "2025-04-02", ann)
    _attended(office, "est-bar", "2025-05-02", bob)
    assert dashboard.figures(office, Q1).values["people"] == 2
    assert dashboard.figures(office, Q1, "est-bar").values["people"] == 1
    by = dashboard.by_establishment(office, Q1)
    assert by["est-per"]["attendances"] == by["est-bar"]["attendances"] == 1 and len(by) >= 15
    assert dashboard.trend(office, "attendances", YEAR.quarters()) == [2, 0, 0, 0]
    assert dashboard.behind(office, Q1, "people", "est-per").ids == [ann]
    codes = [code for _id, code, _name in dashboard.establishments(office)]
    assert "PER" in codes and "BAR" in codes
    assert {f.establishment_id for f in dashboard.freshness(office)} >= {"est-per", "est-bar"}
    with pytest.raises(ValidationError):
        dashboard.trend(office, "no_such_indicator", [Q1])
    with pytest.raises(ValidationError):
        dashboard.figures(office, Q1, "est-nowhere")


def test_an_establishment_sees_only_its_own(ctx: Context, recorder: Context) -> None:
    kim = people.create_person(recorder, given_name="Kim", family_name="Lee").id
    _attended(recorder, "est-per", "2025-04-02", kim)
    assert dashboard.figures(recorder, Q1, "est-per").values["attendances"] == 1
    assert dashboard.behind(recorder, Q1, "attendances", "est-per").total == 1
    assert list(dashboard.by_establishment(recorder, Q1)) == ["est-per"]
    assert [e[0] for e in dashboard.establishments(recorder)] == ["est-per"]
    assert [f.establishment_id for f in dashboard.freshness(recorder)] == ["est-per"]
    for call in (lambda: dashboard.figures(recorder, Q1),
                 lambda: dashboard.figures(recorder, Q1, "est-bar"),
                 lambda: dashboard.trend(recorder, "sessions", [Q1]),
                 lambda: dashboard.behind(recorder, Q1, "people", "est-bar"),
                 lambda: dashboard.targets(recorder, Q1)):
        with pytest.raises(PermissionDenied, match="own establishment"):
            call()


def test_nobody_signed_in_sees_nothing(ctx: Context) -> None:
    with pytest.raises(PermissionDenied):
        dashboard.figures(ctx.signed_in(None), Q1, "est-per")


def test_targets_and_focus_of_the_plan_year_containing_the_period(office: Context) -> None:
    plans.set_focus(office, "py-2025", ["est-per", "est-bar", "est-edi"])
    plans.add_target(office, "py-2025", code="sessions", description="Sessions at Perth", target_value=120,
                     establishment_id="est-per")
    plans.add_target(office, "py-2025", code="attendances", description="Attendances nationally",
                     target_value=5000)
    plans.add_target(office, "py-2024", code="sessions", description="Last year's", target_value=1)
    mine = dashboard.targets(office, Q1, "est-per")
    assert ("sessions", "est-per", 120, "Sessions at Perth") in mine
    assert ("attendances", None, 5000, "Attendances nationally") in mine
    assert all(t[3] != "Last year's" for t in mine)
    assert not any(t[1] == "est-per" for t in dashboard.targets(office, Q1, "est-bar"))
    assert len(dashboard.targets(office, YEAR)) >= 2
    assert dashboard.focus(office, Q1) == sorted(["est-per", "est-bar", "est-edi"])
    assert dashboard.focus(office, plan_year(2040)) == [] and dashboard.targets(office, plan_year(2040)) == []


def test_freshness_today_is_the_real_day(office: Context) -> None:
    rows = dashboard.freshness(office, dt.date(2030, 1, 1))
    assert rows and all(f.days is None for f in rows)  # nothing received yet
