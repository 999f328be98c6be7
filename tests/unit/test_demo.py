"""Demo data: permissions, refusal on a used installation, determinism, consistency."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from srcdesk.errors import PermissionDenied, ValidationError
from srcdesk.services.base import Context
from srcdesk.services.check import run_check
from srcdesk.services.demo import DEMO_END, DemoSummary, generate_demo
from srcdesk.services.setup import init_installation
from srcdesk.services.users import add_user

PASSWORD = "password123"


def _init(folder: Path, *, office: bool = False) -> Context:
    return init_installation(
        folder, establishment=None if office else "PER", office=office,
        admin_username="ann", admin_name="Ann", admin_password=PASSWORD,
    )


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[Context]:
    c = _init(tmp_path / "data")
    try:
        yield c
    finally:
        c.db.close()


@pytest.fixture
def demo(ctx: Context) -> tuple[Context, DemoSummary]:
    return ctx, generate_demo(ctx, scale="small", seed=1, end=DEMO_END)


def _scalar(ctx: Context, sql: str, **params: object) -> object:
    with ctx.db.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def _rows(ctx: Context, sql: str, **params: object) -> list[tuple]:
    with ctx.db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def test_small_is_fast_and_passes_check(ctx: Context) -> None:
    calls: list[tuple[int, int, str]] = []
    started = time.perf_counter()
    summary = generate_demo(ctx, scale="small", seed=1, end=DEMO_END, progress=lambda d, t, w: calls.append((d, t, w)))
    assert time.perf_counter() - started < 10
    report = run_check(ctx.db)
    assert report.ok, report.problems  # every row has its change-log entry, references hold
    assert calls[0][0] == 0 and calls[-1][0] == calls[-1][1]
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)
    assert summary.counts["person"] > 20 and summary.counts["session"] > 20
    # a small demo still shows every kind of record an establishment makes; community
    # organisations are kept at the SRC office and come in its bundles (sync.authority)
    office_kept = {"community_organisation", "organisation_link"}
    assert all(n for t, n in summary.counts.items() if t not in office_kept), summary.counts
    assert not any(summary.counts.get(t) for t in office_kept), summary.counts
    assert 200 <= summary.counts["attendance"] <= 2000
    for table, n in summary.counts.items():
        assert _scalar(ctx, f"SELECT count(*) FROM {table}") == n
    text_ = summary.describe()
    assert "small" in text_ and "sessions" in text_ and len(text_.splitlines()) <= 2


def test_same_seed_same_data(tmp_path: Path) -> None:
    def run(folder: str, seed: int) -> tuple[dict[str, int], list[tuple]]:
        c = _init(tmp_path / folder)
        try:
            summary = generate_demo(c, scale="small", seed=seed, end=DEMO_END)
            names = sorted(_rows(c, "SELECT given_name, family_name, kind FROM person"))
            return summary.counts, names
        finally:
            c.db.close()

    counts1, names1 = run("a", 1)
    counts2, names2 = run("b", 1)
    counts3, names3 = run("c", 2)
    assert counts1 == counts2
    assert names1 == names2
    assert names3 != names1


def test_refuses_an_installation_that_is_in_use(demo: tuple[Context, DemoSummary]) -> None:
    ctx, summary = demo
    with pytest.raises(ValidationError, match="new, separate data folder"):
        generate_demo(ctx, scale="small", seed=2, end=DEMO_END)
    assert _scalar(ctx, "SELECT count(*) FROM person") == summary.counts["person"]


def test_refuses_a_recorder(ctx: Context) -> None:
    rita = add_user(ctx, "rita", "Rita", "recorder", PASSWORD)
    as_rita = Context(ctx.db, ctx.installation, rita)
    with pytest.raises(PermissionDenied):
        generate_demo(as_rita, scale="small", end=DEMO_END)
    assert _scalar(ctx, "SELECT count(*) FROM session") == 0


def test_unknown_scale_is_refused(ctx: Context) -> None:
    with pytest.raises(ValidationError, match="scale"):
        generate_demo(ctx, scale="galactic", end=DEMO_END)


def test_attendance_unique_and_sessions_well_formed(demo: tuple[Context, DemoSummary]) -> None:
    ctx, _ = demo
    assert _rows(ctx, "SELECT session_id, person_id FROM attendance GROUP BY 1, 2 HAVING count(*) > 1") == []
    assert _scalar(ctx, "SELECT count(*) FROM session WHERE (module_id IS NULL) = (activity_type_id IS NULL)") == 0
    assert _scalar(ctx, "SELECT count(*) FROM session WHERE end_time <= start_time") == 0
    assert _scalar(ctx, "SELECT count(*) FROM session WHERE start_time NOT GLOB '[0-2][0-9]:[0-5][0-9]'") == 0
    # Only this establishment's sessions on an establishment installation.
    assert _rows(ctx, "SELECT DISTINCT establishment_id FROM session") == [(ctx.installation.establishment_id,)]
    statuses = {r[0] for r in _rows(ctx, "SELECT DISTINCT status_id FROM attendance")}
    assert {"status-present", "status-late"} <= statuses and len(statuses) >= 3
    kinds = {r[0] for r in _rows(ctx, "SELECT DISTINCT activity_type_id FROM session WHERE activity_type_id IS NOT NULL")}
    assert {"act-cafe", "act-community", "act-mutual-aid"} <= kinds
    # Modules of the development training are delivered in sequence within each group.
    for (series,) in _rows(ctx, "SELECT DISTINCT series_id FROM session WHERE module_id LIKE 'mod-rcdt-%'"):
        modules = [r[0] for r in _rows(
            ctx, "SELECT module_id FROM session WHERE series_id = :s ORDER BY date, start_time", s=series)]
        assert modules == sorted(modules)
    assert _scalar(ctx, "SELECT count(*) FROM session_facilitator") >= _scalar(ctx, "SELECT count(*) FROM session")


def test_recruit_training_and_ladder(demo: tuple[Context, DemoSummary]) -> None:
    ctx, _ = demo
    # Recovery Awareness Training sessions belong to a recruit cohort of SPS staff.
    assert _scalar(ctx, "SELECT count(*) FROM session WHERE module_id = 'mod-rat-01' AND recruit_cohort_id IS NULL") == 0
    assert _scalar(ctx, "SELECT count(*) FROM recruit_cohort") >= 1
    assert _scalar(ctx, """
        SELECT count(*) FROM attendance a JOIN session s ON s.id = a.session_id JOIN person p ON p.id = a.person_id
        WHERE s.recruit_cohort_id IS NOT NULL AND a.role_id = 'role-participant' AND p.kind <> 'sps_staff'""") == 0
    # Achievements are signed off by the admin, active, and evidenced by sessions the person attended.
    admin = ctx.user.id  # type: ignore[union-attr]
    assert _scalar(ctx, "SELECT count(*) FROM milestone_achievement") > 0
    assert _scalar(ctx, "SELECT count(*) FROM milestone_achievement WHERE signed_off_by <> :a OR status <> 'active'",
                   a=admin) == 0
    assert _scalar(ctx, """
        SELECT count(*) FROM milestone_evidence e JOIN milestone_achievement m ON m.id = e.achievement_id
        WHERE NOT EXISTS (SELECT 1 FROM attendance a JOIN attendance_status st ON st.id = a.status_id
                          WHERE a.session_id = e.session_id AND a.person_id = m.person_id AND st.counts_as_attended)
        """) == 0
    assert _scalar(ctx, """
        SELECT count(*) FROM milestone_achievement m
        WHERE m.definition_id = 'ms-regular'
          AND (SELECT count(*) FROM milestone_evidence e WHERE e.achievement_id = m.id) <> 6""") == 0
    # Certificates: unique, well-formed serials for completed programmes.
    serials = [r[0] for r in _rows(ctx, "SELECT serial FROM certificate")]
    assert len(serials) == len(set(serials))
    assert all(re.fullmatch(r"SRC-PER-20\d\d-[0-9A-F]{4}-\d{6}", s) for s in serials)


def test_office_small_uses_one_establishment(tmp_path: Path) -> None:
    c = _init(tmp_path / "office", office=True)
    try:
        summary = generate_demo(c, scale="small", seed=3, end=DEMO_END)
        assert summary.establishments == 1
        assert len(_rows(c, "SELECT DISTINCT establishment_id FROM session")) == 1
        assert run_check(c.db).ok
    finally:
        c.db.close()


def test_transfers_match_current_establishment(demo: tuple[Context, DemoSummary]) -> None:
    ctx, summary = demo
    assert summary.counts["person_transfer"] > 0
    assert _scalar(ctx, """
        SELECT count(*) FROM person p JOIN person_transfer t ON t.person_id = p.id
        WHERE t.transferred_on = (SELECT max(transferred_on) FROM person_transfer WHERE person_id = p.id)
          AND t.to_establishment_id IS NOT p.establishment_id""") == 0
    # Nobody attends anything here after being transferred away.
    assert _scalar(ctx, """
        SELECT count(*) FROM attendance a JOIN session s ON s.id = a.session_id
        JOIN person_transfer t ON t.person_id = a.person_id AND t.from_establishment_id = s.establishment_id
        WHERE s.date > t.transferred_on""") == 0


def test_demo_data_ends_today_unless_told(ctx: Context, tmp_path: Path) -> None:
    import datetime as dt

    summary = generate_demo(ctx, scale="small", seed=1)
    today = dt.date.today()
    assert summary.end == today and summary.start == today - (DEMO_END - dt.date(2026, 9, 1))
    last = _scalar(ctx, "SELECT max(date) FROM session")
    assert today - dt.timedelta(days=7) <= dt.date.fromisoformat(last) <= today  # "Today" has this week's sessions
    other = _init(tmp_path / "future")
    try:
        with pytest.raises(ValidationError, match="can't end in the future"):
            generate_demo(other, scale="small", end=today + dt.timedelta(days=1))
    finally:
        other.db.close()



def test_the_office_demo_has_a_workplan_with_focus_and_targets(tmp_path: Path) -> None:
    """The office's demo sets each plan year it spans: 3-5 focus establishments and sessions
    targets (national and for each focus establishment) near what its sessions come to."""
    from srcdesk.services import plans
    from srcdesk.services.base import Context
    from srcdesk.services.setup import init_installation

    office = init_installation(tmp_path / "office", establishment=None, office=True, admin_username="ann",
                               admin_name="Ann", admin_password="password123")
    try:
        generate_demo(office, scale="small", seed=1, end=DEMO_END)
        ctx = Context(office.db, office.installation, office.user)
        spanned = [y for y in plans.list_plan_years(ctx) if y.starts_on <= DEMO_END]
        year = next(y for y in spanned if y.starts_on <= DEMO_END <= y.ends_on)
        focus = plans.focus(ctx, year.id)
        assert [e.code for e in focus] == ["PER"]  # the small demo has one establishment (national: 3-5)
        sessions = [t for t in plans.targets(ctx, year.id) if t.code == "sessions"]
        assert {t.establishment_id for t in sessions} == {None} | {e.id for e in focus}
        assert all(t.target_value >= 10 for t in sessions)
        assert run_check(office.db).ok
    finally:
        office.db.close()
