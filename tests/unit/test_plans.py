"""The workplan's services: targets name an indicator, the reads are scoped (an establishment sees
the national targets and its own), and progress compares each target with the indicators' figures."""

from __future__ import annotations

import datetime as dt

import pytest

from srcdesk.errors import NotFound, PermissionDenied, ValidationError
from srcdesk.reports.indicators import Ratio
from srcdesk.services import plans
from srcdesk.services.base import Context


@pytest.fixture
def boss(office: Context, make_user) -> Context:  # noqa: ANN001
    return make_user(office, "coordinator", "cora")


@pytest.fixture
def year(boss: Context):  # noqa: ANN201
    return plans.create_plan_year(boss, "2040-41")


def test_a_target_names_an_indicator_and_a_percentage_stays_within_100(boss: Context, year) -> None:  # noqa: ANN001
    with pytest.raises(ValidationError, match="one of the indicators: Sessions held") as refused:
        plans.add_target(boss, year.id, code="more_cafes", description="More cafés", target_value=3)
    assert refused.value.field == "code"
    with pytest.raises(ValidationError, match="percentage: a target from 0 to 100"):
        plans.add_target(boss, year.id, code="rat_coverage", description="RAT for every cohort", target_value=101)
    with pytest.raises(ValidationError, match="whole number"):
        plans.add_target(boss, year.id, code="sessions", description="Sessions", target_value=-1)
    t = plans.add_target(boss, year.id, code="rat_coverage", description="RAT for every recruit cohort",
                         target_value=100)
    with pytest.raises(ValidationError, match="percentage"):
        plans.update_target(boss, t.id, target_value=150)
    assert plans.update_target(boss, t.id, target_value=90).target_value == 90
    [shown] = plans.targets(boss, year.id)
    assert (shown.label, shown.unit, shown.establishment, shown.shown_target) == (
        "RAT coverage", "ratio", "All establishments", "90 %")


def test_reads_list_years_focus_and_targets_in_order(boss: Context, year) -> None:  # noqa: ANN001
    codes = [y.code for y in plans.list_plan_years(boss)]
    assert codes == sorted(codes) and "2040-41" in codes and "2025-26" in codes
    assert plans.plan_year_by_code(boss, "2040-41").id == year.id
    with pytest.raises(NotFound, match="no plan year 2099-00"):
        plans.plan_year_by_code(boss, "2099-00")
    assert plans.suggested_new_year(boss) == "2041-42"
    plans.set_focus(boss, year.id, ["est-per", "est-bar"])
    assert {f.code for f in plans.focus(boss, year.id)} == {"PER", "BAR"}
    assert len(plans.establishments(boss, year.id)) >= 15
    assert "3–5 establishments" in plans.focus_warning(2) and plans.focus_warning(4) == ""
    plans.add_target(boss, year.id, code="sessions", description="Sessions at Perth", target_value=200,
                     establishment_id="est-per")
    plans.add_target(boss, year.id, code="attendances", description="Attendances everywhere", target_value=9000)
    plans.add_target(boss, year.id, code="sessions", description="Sessions everywhere", target_value=4000)
    shown = plans.targets(boss, year.id)
    assert [(t.code, t.establishment_id) for t in shown] == [
        ("sessions", None), ("attendances", None), ("sessions", "est-per")]
    assert [t.code for t in plans.targets(boss, year.id, "est-bar")] == ["sessions", "attendances"]


def test_an_establishment_sees_national_targets_its_own_and_its_own_focus_only(ctx: Context, boss: Context,
                                                                               year, make_user) -> None:  # noqa: ANN001
    # The office's rows, as a bundle would bring them to Perth (same ids): written here directly.
    plans.set_focus(boss, year.id, ["est-per", "est-bar", "est-edi"])
    for est in (None, "est-per", "est-bar"):
        plans.add_target(boss, year.id, code="people", description=f"People {est}", target_value=10,
                         establishment_id=est)
    from srcdesk.models import PlanFocus, PlanTarget, PlanYear
    from srcdesk.sync.capture import Actor

    with boss.db.read() as s:
        rows = [(type(r), {c.key: getattr(r, c.key) for c in type(r).__table__.columns})
                for m in (PlanYear, PlanFocus, PlanTarget) for r in s.query(m).all() if not r.id.startswith(("py-", "tgt-"))]
    with ctx.db.session(Actor(ctx.installation.id, None)) as s:
        for model, values in rows:
            s.add(model(**values))
    perth = make_user(ctx, "coordinator", "pat")
    assert [(t.establishment_id) for t in plans.targets(perth, year.id)] == [None, "est-per"]
    assert [e.code for e in plans.focus(perth, year.id)] == ["PER"]
    assert [e.code for e in plans.establishments(perth, year.id)] == ["PER"]
    assert plans.can_edit(perth) == "The workplan is set at the SRC office."
    with pytest.raises(PermissionDenied, match="kept at the SRC office"):
        plans.add_target(perth, year.id, code="people", description="Ours", target_value=5)


def test_who_may_edit_is_said_in_words(boss: Context, office: Context, make_user) -> None:  # noqa: ANN001
    assert plans.can_edit(boss) == ""
    assert plans.can_edit(make_user(office, "recorder", "rob")).startswith("Only a coordinator can set plan years")


def _fixed(values_by_est: dict[str | None, dict]):  # noqa: ANN202
    """A stand-in for the indicators (the last test reads the real ones), and what it was asked."""
    seen = []

    def value_for(ctx, period, code, establishment_id):  # noqa: ANN001, ANN202
        seen.append((period.code, code, establishment_id))
        return values_by_est[establishment_id].get(code)
    return value_for, seen


def test_progress_against_the_share_of_the_year_gone(boss: Context, year, monkeypatch) -> None:  # noqa: ANN001
    sessions = plans.add_target(boss, year.id, code="sessions", description="Sessions", target_value=400)
    perth = plans.add_target(boss, year.id, code="people", description="People at Perth", target_value=100,
                             establishment_id="est-per")
    rat = plans.add_target(boss, year.id, code="rat_coverage", description="RAT for every cohort", target_value=100)
    hours = plans.add_target(boss, year.id, code="facilitator_hours", description="Hours", target_value=None)
    fake, seen = _fixed({None: {"sessions": 150, "rat_coverage": Ratio(3, 4), "facilitator_hours": 12.5},
                         "est-per": {"people": 20}})
    monkeypatch.setattr(plans, "value_for", fake)
    # 1 October 2040: 183 days of 365 gone, so 400 sessions needs 201 by now (150: behind) and
    # Perth's 100 people needs 50 (20: behind); RAT 75 % of 100 % is behind too.
    by_id = {p.target.id: p for p in plans.progress(boss, year.id, today=dt.date(2040, 9, 30))}
    assert sorted(seen, key=str) == sorted([("2040-41", "sessions", None), ("2040-41", "people", "est-per"),
                                            ("2040-41", "rat_coverage", None), ("2040-41", "facilitator_hours", None)],
                                           key=str)  # one read per indicator and establishment
    assert (by_id[sessions.id].status, round(by_id[sessions.id].expected)) == ("behind", 201)
    assert by_id[sessions.id].share == pytest.approx(150 / 400)
    assert by_id[sessions.id].on_track is False
    assert (by_id[rat.id].actual, by_id[rat.id].status, by_id[rat.id].shown_actual) == (75.0, "behind", "75 %")
    assert (by_id[hours.id].status, by_id[hours.id].shown_actual) == ("no target", "12.5")
    assert by_id[perth.id].status == "behind"
    # Early in the year 150 of 400 is ahead of its share; the target met is met.
    monkeypatch.setattr(plans, "value_for", _fixed({None: {"sessions": 150, "rat_coverage": Ratio(4, 4),
                                                              "facilitator_hours": 1.0},
                                                       "est-per": {"people": 100}})[0])
    by_id = {p.target.id: p for p in plans.progress(boss, year.id, today=dt.date(2040, 6, 1))}
    assert by_id[sessions.id].status == "on track" and by_id[sessions.id].on_track is True
    assert by_id[rat.id].status == "met" and by_id[perth.id].status == "met"
    # After the year: short of the target is missed; before it: not started.
    after = {p.target.id: p for p in plans.progress(boss, year.id, today=dt.date(2041, 5, 1))}
    assert after[sessions.id].status == "missed"
    before = plans.progress(boss, year.id, today=dt.date(2040, 1, 1))
    assert {p.status for p in before if p.target.target_value is not None} == {"not started"}
    # Only Perth's targets and the national ones.
    assert {p.target.id for p in plans.progress(boss, year.id, "est-bar", today=dt.date(2040, 6, 1))} == {
        sessions.id, rat.id, hours.id}


def test_an_older_target_that_names_no_indicator_is_shown_not_measured(boss: Context, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(plans, "value_for", _fixed({None: {}})[0])
    got = plans.progress(boss, "py-2023", today=dt.date(2023, 10, 1))
    t4t = next(p for p in got if p.target.code == "t4t_rollout")
    assert (t4t.status, t4t.actual, t4t.target.shown_target, t4t.target.label) == (
        "not measured", None, "15", "T4t rollout")
    assert "does not count" in t4t.note


def test_the_reference_datas_rat_for_every_cohort_is_measured_as_rat_coverage_100(boss: Context,
                                                                                   monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(plans, "value_for", _fixed({None: {"rat_coverage": Ratio(5, 6)}})[0])
    [rat] = [p for p in plans.progress(boss, "py-2025", today=dt.date(2025, 10, 1))
             if p.target.code == "rat_every_cohort"]
    assert (rat.target.label, rat.target.shown_target, rat.shown_actual, rat.status) == (
        "RAT coverage", "100 %", "83 %", "behind")
    with pytest.raises(ValidationError, match="percentage"):
        plans.update_target(boss, rat.target.id, target_value=120)


def test_at_an_establishment_a_national_count_is_left_to_the_office(ctx: Context, make_user, monkeypatch) -> None:  # noqa: ANN001
    from srcdesk.models import PlanTarget
    from srcdesk.sync.capture import Actor

    with ctx.db.session(Actor(ctx.installation.id, None)) as s:  # as if brought by the office's bundle
        s.add(PlanTarget(id="t-sessions", plan_year_id="py-2030", code="sessions", description="Sessions",
                         target_value=4000))
        s.add(PlanTarget(id="t-rat", plan_year_id="py-2030", code="rat_coverage", description="RAT",
                         target_value=100))
    fake, seen = _fixed({"est-per": {"rat_coverage": Ratio(1, 1)}})
    monkeypatch.setattr(plans, "value_for", fake)
    got = {p.target.id: p for p in plans.progress(make_user(ctx, "recorder", "rae"), "py-2030",
                                                  today=dt.date(2030, 6, 1))}
    assert got["t-sessions"].status == "not measured" and "counted at the SRC office" in got["t-sessions"].note
    assert got["t-rat"].status == "met" and "own percentage" in got["t-rat"].note
    assert seen == [("2030-31", "rat_coverage", "est-per")]


def test_progress_reads_the_indicators_themselves(boss: Context, ctx: Context, make_user) -> None:  # noqa: ANN001
    """No stand-in: sessions recorded at the office for Perth and Barlinnie, counted by the real
    indicators (srcdesk.services.dashboard) for each target's establishment and nationally."""
    from srcdesk.services import sessions

    for est, day in (("est-per", "2025-05-06"), ("est-per", "2025-06-03"), ("est-bar", "2025-05-07"),
                     ("est-per", "2026-04-07")):  # the last one is in the next plan year
        sessions.create_session(boss, date=day, start_time="10:00", end_time="11:00", activity_type_id="act-cafe",
                                establishment_id=est)
    per = plans.add_target(boss, "py-2025", code="sessions", description="Perth", target_value=4,
                           establishment_id="est-per")
    every = plans.add_target(boss, "py-2025", code="sessions", description="All", target_value=3)
    got = {p.target.id: p for p in plans.progress(boss, "py-2025", today=dt.date(2025, 7, 1))}
    assert (got[per.id].actual, got[per.id].status) == (2, "on track")  # 4 x 91/365 = 1 needed by now
    assert (got[every.id].actual, got[every.id].status) == (3, "met")


def test_the_dashboard_reads_targets_and_focus_as_the_workplan_does(boss: Context) -> None:
    """One reading of the workplan for the tab, the dashboard's target lines and the report."""
    from srcdesk.reports.periods import plan_quarter
    from srcdesk.services import dashboard

    plans.set_focus(boss, "py-2025", ["est-per", "est-bar", "est-edi"])
    q3 = plan_quarter(2025, 3)
    assert ("rat_coverage", None, 100, plans.targets(boss, "py-2025")[0].description) in dashboard.targets(boss, q3)
    assert dashboard.focus(boss, q3) == sorted(e.id for e in plans.focus(boss, "py-2025"))
