"""The indicators against numbers worked out by hand on a small, fixed record made through the
services: two establishments, three people in custody (one transferred mid-quarter), staff, peer
and third-sector facilitators, cancelled and deleted sessions, register statuses that do and
don't count, the ladder, certificates and recruit cohorts, across 31 March / 1 April and
30 June / 1 July."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from srcdesk.reports import indicators as ind
from srcdesk.reports.indicators import INDICATOR_BY_CODE, INDICATORS, Ratio, suppress
from srcdesk.reports.periods import period_containing, plan_quarter, plan_year
from srcdesk.services import attendance, certificates, ladder, people, sessions
from srcdesk.services.attendance import RegisterEntry
from srcdesk.services.base import Context

PER, BAR = "est-per", "est-bar"
Q4_2024 = plan_quarter(2024, 4)  # January–March 2025
Q1 = plan_quarter(2025, 1)  # April–June 2025
Q2 = plan_quarter(2025, 2)  # July–September 2025
YEAR_2024 = plan_year(2024)
YEAR_2025 = plan_year(2025)
NOW_QUARTER = period_containing(dt.date.today())


def _session(ctx: Context, est: str, day: str, start: str, end: str, register: dict[str, str] | None = None,
             *, module: str | None = "mod-rcdt-01", activity: str | None = None,
             facilitators: list[str] | None = None, cohort: str | None = None) -> str:
    made = sessions.create_session(ctx, date=day, start_time=start, end_time=end, establishment_id=est,
                                   module_id=None if activity else module, activity_type_id=activity,
                                   facilitator_ids=facilitators, recruit_cohort_id=cohort)
    if register:
        attendance.save_register(ctx, made.id, [RegisterEntry(pid, status) for pid, status in register.items()])
    return made.id


@pytest.fixture(scope="module")
def rec(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """The fixed record (made once: every test only reads it)."""
    from srcdesk.services.setup import init_installation

    ctx = init_installation(tmp_path_factory.mktemp("ind") / "office", establishment=None, office=True,
                            admin_username="phr", admin_name="PHR Officer", admin_password="password123")

    def person(given: str, est: str | None, kind: str = "prisoner") -> str:
        return people.create_person(ctx, given_name=given, family_name="Test", kind=kind, establishment_id=est).id

    r = SimpleNamespace(ctx=ctx)
    r.ann, r.bob, r.cat = person("Ann", PER), person("Bob", PER), person("Cat", BAR)
    r.dan = person("Dan", PER, "sps_staff")
    r.eve = person("Eve", None, "third_sector_staff")
    r.pat = person("Pat", PER)  # a person in custody who co-facilitates: peer hours

    # Q4 2024-25, last day: Ann attends (her first ever); Bob is absent.
    r.s1 = _session(ctx, PER, "2025-03-31", "10:00", "12:00", {r.ann: "present", r.bob: "absent"},
                    facilitators=[r.dan])
    # Q1 2025-26, first day: Ann present, Bob late (counts), Cat excused (doesn't).
    r.s2 = _session(ctx, PER, "2025-04-01", "10:00", "11:30", {r.ann: "present", r.bob: "late", r.cat: "excused"},
                    facilitators=[r.dan, r.pat])
    r.s3 = _session(ctx, PER, "2025-05-01", "14:00", "15:00", {r.bob: "present", r.ann: "left_early"},
                    activity="act-cafe", facilitators=[r.eve])
    # Cancelled and deleted sessions count for nothing, nor do their registers.
    r.s6 = _session(ctx, PER, "2025-05-20", "10:00", "11:00", {r.ann: "present"}, facilitators=[r.dan])
    sessions.cancel_session(ctx, r.s6, "Lockdown")
    r.s7 = _session(ctx, PER, "2025-05-21", "10:00", "11:00", {r.ann: "present"}, facilitators=[r.dan])
    sessions.delete_session(ctx, r.s7, "Entered twice")
    # Held, but nobody attended: Ann absent; Cat was put on it and taken off again.
    r.s8 = _session(ctx, PER, "2025-06-01", "10:00", "11:00", {r.ann: "absent", r.cat: "present"})
    attendance.save_register(ctx, r.s8, [RegisterEntry(r.ann, "absent")])
    # Bob moves to Barlinnie mid-quarter; he counts where he attended.
    people.transfer_person(ctx, r.bob, BAR, on="2025-06-15")
    r.s4 = _session(ctx, BAR, "2025-06-30", "10:00", "12:00", {r.bob: "present", r.cat: "present"},
                    facilitators=[r.eve])
    # Q2, first day.
    r.s5 = _session(ctx, BAR, "2025-07-01", "10:00", "11:00", {r.cat: "present"})

    # Recruit cohorts and their Recovery Awareness Training.
    r.c1 = sessions.create_recruit_cohort(ctx, name="March intake", starts_on="2025-03-20", establishment_id=PER).id
    r.r1 = _session(ctx, PER, "2025-04-03", "09:00", "12:00", module="mod-rat-01", cohort=r.c1)
    r.c2 = sessions.create_recruit_cohort(ctx, name="April intake", starts_on="2025-04-15", establishment_id=PER).id
    r.r2 = _session(ctx, PER, "2025-04-20", "09:00", "12:00", module="mod-rat-01", cohort=r.c2)
    sessions.cancel_session(ctx, r.r2, "Trainer ill")
    r.c3 = sessions.create_recruit_cohort(ctx, name="June intake", starts_on="2025-06-30", establishment_id=BAR).id
    r.r3 = _session(ctx, BAR, "2025-07-02", "09:00", "12:00", module="mod-rat-01", cohort=r.c3)

    # The ladder: Ann signed off on 31 March, corrected to 2 April (superseded); Bob's withdrawn;
    # Cat's on 1 July.
    first = ladder.sign_off(ctx, r.ann, "ms-attender", achieved_on="2025-03-31", evidence_session_ids=[r.s1])
    r.ann_level = ladder.supersede(ctx, first.id, "Wrong date", achieved_on="2025-04-02").id
    bobs = ladder.sign_off(ctx, r.bob, "ms-attender", achieved_on="2025-06-30", evidence_session_ids=[r.s4])
    ladder.withdraw(ctx, bobs.id, "Signed off in error")
    r.cat_level = ladder.sign_off(ctx, r.cat, "ms-attender", achieved_on="2025-07-01",
                                  evidence_session_ids=[r.s5]).id

    # Certificates, issued at the office: they count where the person was on the day.
    r.ann_cert = certificates.issue(ctx, person_id=r.ann, kind="programme", programme_id="prog-rcdt",
                                    issued_on="2025-04-10").id
    r.bob_cert = certificates.issue(ctx, person_id=r.bob, kind="module", module_id="mod-rcdt-01",
                                    issued_on="2025-06-20").id
    r.bob_reissue = certificates.reissue(ctx, r.bob_cert, "Name misspelt", recipient_name="Robert Test").id
    certificates.revoke(ctx, r.ann_cert, "Issued in error")
    yield r
    ctx.db.close()


@pytest.fixture
def s(rec):  # noqa: ANN001, ANN201
    with rec.ctx.db.read() as session:
        yield session


def test_sessions_attendances_people_and_new_people_by_quarter_and_year(s, rec) -> None:  # noqa: ANN001
    def headline(period, est=None):  # noqa: ANN001, ANN202
        v = ind.figures(s, period, est).values
        return v["sessions"], v["attendances"], v["people"], v["new_people"]

    # Q4 2024-25: S1 only (31 March); Bob's absence doesn't count.
    assert headline(Q4_2024) == (1, 1, 1, 1)
    # Q1: S2, S3, S4, S8 and the RAT session R1 (S6 cancelled, S7 deleted, R2 cancelled);
    # attended: S2 Ann+Bob (Cat excused), S3 Bob+Ann, S4 Bob+Cat = 6; Ann, Bob, Cat;
    # new: Bob (absent in March) and Cat (excused on 1 April), not Ann (31 March).
    assert headline(Q1) == (5, 6, 3, 2)
    assert headline(Q1, PER) == (4, 4, 2, 1)  # Ann, Bob; Bob new
    assert headline(Q1, BAR) == (1, 2, 2, 2)  # Bob (after his transfer) and Cat, both new
    assert headline(Q2) == (2, 1, 1, 0)  # S5 and R3 on 1-2 July; Cat is not new any more
    assert headline(YEAR_2024) == (1, 1, 1, 1)
    assert headline(YEAR_2025) == (7, 7, 3, 2)
    assert headline(YEAR_2025, "est-edi") == (0, 0, 0, 0)


def test_sessions_by_programme_module_and_activity(s, rec) -> None:  # noqa: ANN001
    by = ind.figures(s, Q1).sessions_by
    assert by["module"] == [("Understanding recovery", 3), ("Recovery awareness for new recruits", 1)]
    assert by["programme"] == [("SRC Recovery Community Development Training Programme", 3),
                               ("Recovery Awareness Training", 1)]
    assert by["activity"] == [("Recovery café", 1)]
    assert sum(n for _, n in by["module"]) + sum(n for _, n in by["activity"]) == ind.figures(s, Q1).values["sessions"]


def test_facilitator_hours_by_role(s, rec) -> None:  # noqa: ANN001
    f = ind.figures(s, Q1)
    # S2 1½ h: Dan (staff) and Pat (peer); S3 1 h and S4 2 h: Eve (third sector); S6 cancelled.
    assert f.hours_by_role == {"staff": 1.5, "peer": 1.5, "third_sector": 3.0}
    assert f.values["facilitator_hours"] == 6.0
    assert ind.figures(s, Q1, BAR).hours_by_role == {"staff": 0.0, "peer": 0.0, "third_sector": 2.0}
    assert ind.figures(s, Q4_2024).values["facilitator_hours"] == 2.0


def test_ladder_held_at_the_end_and_sign_offs_in_the_period(s, rec) -> None:  # noqa: ANN001
    def attender(period, est=None):  # noqa: ANN001, ANN202
        f = ind.figures(s, period, est)
        level = f.ladder[0]
        return level[1], level[2], f.values["signoffs"]

    # The 31 March sign-off was superseded by 2 April's; Bob's was withdrawn.
    assert attender(Q4_2024) == (0, 0, 0)
    assert attender(Q1) == (1, 1, 1)
    assert attender(Q1, PER) == (1, 1, 1)
    assert attender(Q1, BAR) == (0, 0, 0)
    assert attender(Q2) == (2, 1, 1)  # Ann still holds it; Cat signed off on 1 July
    assert attender(Q2, BAR) == (1, 1, 1)
    assert len(ind.figures(s, Q1).ladder) == 6  # every level, in order, even those nobody holds


def test_certificates_issued_and_revoked(s, rec) -> None:  # noqa: ANN001
    v = ind.figures(s, Q1).values
    # Ann's (since revoked) and Bob's (since reissued) were issued in Q1; the reissue is not another.
    assert (v["certificates_issued"], v["certificates_revoked"]) == (2, 0)
    assert ind.figures(s, Q1, PER).values["certificates_issued"] == 1
    assert ind.figures(s, Q1, BAR).values["certificates_issued"] == 1  # Bob was at Barlinnie by then
    now = ind.figures(s, NOW_QUARTER).values
    assert (now["certificates_issued"], now["certificates_revoked"]) == (0, 1)
    assert ind.figures(s, NOW_QUARTER, PER).values["certificates_revoked"] == 1


def test_rat_coverage(s, rec) -> None:  # noqa: ANN001
    # The March cohort had its RAT in April: it counts in the quarter it started.
    assert ind.figures(s, Q4_2024).values["rat_coverage"] == Ratio(1, 1)
    # April's RAT was cancelled; June's was held on 2 July.
    assert ind.figures(s, Q1).values["rat_coverage"] == Ratio(1, 2)
    assert ind.figures(s, Q1, PER).values["rat_coverage"] == Ratio(0, 1)
    assert ind.figures(s, Q1, BAR).values["rat_coverage"] == Ratio(1, 1)
    assert ind.figures(s, Q2).values["rat_coverage"] == Ratio(0, 0)
    assert Ratio(0, 0).value is None and Ratio(1, 2).value == 0.5


def test_by_establishment_and_trend_agree_with_figures(s, rec) -> None:  # noqa: ANN001
    by = ind.by_establishment(s, Q1)
    assert "est-edi" in by and by["est-edi"]["sessions"] == 0  # every live establishment, even without data
    for est in (PER, BAR):
        assert by[est] == ind.figures(s, Q1, est).values
    assert sum(v["attendances"] for v in by.values()) == 6
    assert sum(v["people"] for v in by.values()) == 4  # Bob counts at both; nationally once
    quarters = [Q4_2024, Q1, Q2]
    assert ind.trend(s, "attendances", quarters) == [1, 6, 1]
    assert ind.trend(s, "new_people", quarters, BAR) == [0, 2, 0]
    assert ind.trend(s, "rat_coverage", quarters) == [Ratio(1, 1), Ratio(1, 2), Ratio(0, 0)]
    for code in INDICATOR_BY_CODE:
        assert ind.trend(s, code, [Q1], PER) == [ind.figures(s, Q1, PER).values[code]]


def test_behind_each_number(s, rec) -> None:  # noqa: ANN001
    for period in (Q4_2024, Q1, Q2, YEAR_2025, NOW_QUARTER):
        for est in (None, PER, BAR):
            values = ind.figures(s, period, est).values
            for indicator in INDICATORS:
                b = ind.behind(s, period, indicator.code, est)
                assert len(b.ids) == len(b.rows) == b.total, (period, est, indicator.code)
                assert all(len(row) == len(b.columns) for row in b.rows)
                value = values[indicator.code]
                if isinstance(value, Ratio):
                    assert b.total == value.denominator
                    assert sum(row[-1] == "Yes" for row in b.rows) == value.numerator
                elif isinstance(value, float):
                    assert sum(row[-1] for row in b.rows) == pytest.approx(value)
                else:
                    assert b.total == value, (period, est, indicator.code)
    assert set(ind.behind(s, Q1, "people").ids) == {rec.ann, rec.bob, rec.cat}
    assert set(ind.behind(s, Q1, "new_people", PER).ids) == {rec.bob}
    assert ind.behind(s, Q1, "sessions", BAR).ids == [rec.s4]
    assert ind.behind(s, Q1, "signoffs").ids == [rec.ann_level]
    assert ind.behind(s, Q1, "certificates_issued").ids == [rec.bob_cert, rec.ann_cert]  # newest first
    assert ind.behind(s, Q1, "rat_coverage").ids == [rec.c3, rec.c2]
    attended = ind.behind(s, Q1, "attendances", PER)
    assert attended.kind == "session" and attended.ids == [rec.s3, rec.s3, rec.s2, rec.s2]
    assert attended.rows[0][0] == dt.date(2025, 5, 1)
    few = ind.behind(s, Q1, "attendances", limit=2)
    assert (len(few.ids), few.total) == (2, 6)


def test_freshness_never_and_days_since(world) -> None:  # noqa: ANN001
    with world.office.db.read() as s:
        before = {f.establishment_id: f for f in ind.freshness(s, dt.date.today())}
    assert before["est-per"].last_bundle_at is None and before["est-per"].days is None
    world.send(world["PER"], world.office)
    later = dt.date.today() + dt.timedelta(days=41)
    with world.office.db.read() as s:
        rows = ind.freshness(s, later)
    fresh = {f.establishment_id: f for f in rows}
    assert fresh["est-per"].days == 41 and fresh["est-per"].last_bundle_at is not None
    assert fresh["est-bar"].days is None
    assert rows[-1].establishment_id == "est-per"  # oldest first: those never heard from lead
    assert len(rows) == len(fresh)


@pytest.mark.parametrize(("value", "about_people", "shown"), [
    (0, True, "0"), (1, True, "<10"), (9, True, "<10"), (10, True, "10"), (1234, True, "1,234"),
    (5, False, "5"), (2.5, True, "2.5"), (0.0, True, "0.0"),
    (Ratio(3, 4), True, "75% (3 of 4)"), (Ratio(1, 1), True, "100% (1 of 1)"), (Ratio(0, 0), True, "–"),
    (None, True, "–"),
])
def test_suppress(value, about_people, shown) -> None:  # noqa: ANN001
    assert suppress(value, about_people=about_people) == shown


def test_indicators_say_which_are_about_people() -> None:
    about = {i.code for i in INDICATORS if i.about_people}
    assert about == {"attendances", "people", "new_people", "signoffs", "certificates_issued",
                     "certificates_revoked"}
