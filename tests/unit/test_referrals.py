"""Early Release to Residential Rehabilitation referrals (issue 13, item 3): stages in order, signed
and dated; step back only with a reason; follow-up intervals; closing with a reason; roles;
scoping (an establishment sees and changes only its own people's referrals); the counts by stage."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from srcdesk.errors import PermissionDenied, ValidationError
from srcdesk.models import Referral, ReferralStage
from srcdesk.reports import indicators
from srcdesk.reports.periods import Period
from srcdesk.services import community, dashboard, people, referrals, users
from srcdesk.services.setup import init_installation
from tests.conftest import PASSWORD

TODAY = dt.date.today()


def ago(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


def _person(ctx, given="Jo", family="Bloggs", **kw):  # noqa: ANN001, ANN202
    return people.create_person(ctx, given_name=given, family_name=family, **kw)


def _walk(ctx, rid, stages, start=200, step=5):  # noqa: ANN001, ANN202
    """Record ``stages`` in order, ``step`` days apart from ``start`` days ago."""
    day = start
    for st in stages:
        day -= step
        referrals.advance(ctx, rid, st, ago(day))
    return day


def test_a_referral_starts_identified_signed_by_who_recorded_it(recorder) -> None:  # noqa: ANN001
    p = _person(recorder)
    r = referrals.create_referral(recorder, person_id=p.id, referred_on=ago(3), notes="Asked at the café.")
    assert r.status == "open" and r.establishment_id == "est-per"
    detail = referrals.get_referral(recorder, r.id)
    assert [(h.stage, h.reached_on, h.recorded_by) for h in detail.history] == [("identified", ago(3), "Recorder")]
    assert detail.row.stage == "identified" and detail.row.days_waiting == 3 and detail.row.next_stage == "consented"
    with pytest.raises(ValidationError, match="in the future"):
        referrals.create_referral(recorder, person_id=_person(recorder, "Al").id, referred_on=TODAY
                                  + dt.timedelta(days=1))
    with pytest.raises(ValidationError, match="already has a referral"):
        referrals.create_referral(recorder, person_id=p.id, referred_on=TODAY)


def test_stages_go_in_order_none_skipped(recorder) -> None:  # noqa: ANN001
    p = _person(recorder)
    r = referrals.create_referral(recorder, person_id=p.id, referred_on=ago(30))
    with pytest.raises(ValidationError, match="The next stage is 'Consented'"):
        referrals.advance(recorder, r.id, "assessed", ago(20))
    referrals.advance(recorder, r.id, "consented", ago(25))
    with pytest.raises(ValidationError, match="already recorded; to go back to it, step back"):
        referrals.advance(recorder, r.id, "identified", ago(20))
    with pytest.raises(ValidationError, match=r"before the previous one \("):
        referrals.advance(recorder, r.id, "assessed", ago(26))
    with pytest.raises(ValidationError, match="future"):
        referrals.advance(recorder, r.id, "assessed", TODAY + dt.timedelta(days=1))
    with pytest.raises(ValidationError, match="not a stage"):
        referrals.advance(recorder, r.id, "nearly", ago(20))
    referrals.advance(recorder, r.id, "assessed", ago(25))  # the same day as the one before: fine
    assert referrals.get_referral(recorder, r.id).row.stage == "assessed"


def test_admission_and_the_follow_up_intervals(recorder) -> None:  # noqa: ANN001
    p = _person(recorder)
    r = referrals.create_referral(recorder, person_id=p.id, referred_on=ago(200))
    _walk(recorder, r.id, ["consented", "assessed", "funding_agreed", "placement_offered", "release_approved"],
          start=200, step=5)  # release approved 170 days ago
    referrals.advance(recorder, r.id, "admitted", ago(100))
    assert referrals.get_referral(recorder, r.id).row.status == "in_placement"
    with pytest.raises(ValidationError, match=r"can be recorded from .* \(28 days after admission\)"):
        referrals.advance(recorder, r.id, "week_4", ago(73))
    referrals.advance(recorder, r.id, "week_4", ago(72))
    with pytest.raises(ValidationError, match=r"\(84 days after admission\)"):
        referrals.advance(recorder, r.id, "week_12", ago(17))
    referrals.advance(recorder, r.id, "week_12", ago(16))
    with pytest.raises(ValidationError, match="before admission"):
        referrals.withdraw(recorder, r.id, "Changed their mind")
    referrals.advance(recorder, r.id, "completed", ago(2))
    done = referrals.get_referral(recorder, r.id).row
    assert (done.status, done.closed_on) == ("completed", ago(2))
    with pytest.raises(ValidationError, match="closed"):
        referrals.advance(recorder, r.id, "completed", TODAY)
    assert referrals.list_referrals(recorder) == []
    assert [x.id for x in referrals.list_referrals(recorder, status="closed")] == [r.id]


def test_step_back_only_with_a_reason_then_forward_again(ctx, recorder, make_user) -> None:  # noqa: ANN001
    p = _person(recorder)
    r = referrals.create_referral(recorder, person_id=p.id, referred_on=ago(60))
    _walk(recorder, r.id, ["consented", "assessed", "funding_agreed"], start=60, step=10)  # funding 30 ago
    with pytest.raises(ValidationError, match="The reason is required"):
        referrals.step_back(recorder, r.id, "assessed", "   ")
    with pytest.raises(ValidationError, match="choose an earlier one"):
        referrals.step_back(recorder, r.id, "funding_agreed", "Why not")
    with pytest.raises(ValidationError, match="not a stage this referral has reached"):
        referrals.step_back(recorder, r.id, "admitted", "Why not")
    assert referrals.step_back(recorder, r.id, "consented", "Funding withdrawn by the ADP") == [
        "assessed", "funding_agreed"]
    detail = referrals.get_referral(recorder, r.id)
    assert detail.row.stage == "consented" and detail.row.since == ago(50)
    back = {h.stage: h for h in detail.history}
    assert back["assessed"].stepped_back and back["assessed"].stepped_back_reason == "Funding withdrawn by the ADP"
    assert back["assessed"].stepped_back_by == "Recorder" and not back["consented"].stepped_back
    # Forward again, by someone else: the row comes back with the earlier history in its note.
    other = make_user(ctx, "coordinator", "cora")
    referrals.advance(other, r.id, "assessed", ago(5), note="Assessed again")
    again = {h.stage: h for h in referrals.get_referral(recorder, r.id).history}
    assert again["assessed"].reached_on == ago(5) and again["assessed"].recorded_by == "Coordinator"
    assert not again["assessed"].stepped_back
    assert again["assessed"].note.startswith("Assessed again\nEarlier: ")
    assert f"Earlier: {ago(40).day} " in again["assessed"].note and "(Recorder)" in again["assessed"].note
    assert "stepped back: Funding withdrawn by the ADP" in again["assessed"].note
    assert again["funding_agreed"].stepped_back  # still stepped back until reached again
    with recorder.db.read() as s:  # one row per stage still (the natural key), none lost
        assert s.execute(select(ReferralStage.stage).where(ReferralStage.referral_id == r.id)).scalars().all() \
            .count("assessed") == 1


def test_stepping_back_before_admission_reopens_the_way(recorder) -> None:  # noqa: ANN001
    p = _person(recorder)
    r = referrals.create_referral(recorder, person_id=p.id, referred_on=ago(100))
    _walk(recorder, r.id, ["consented", "assessed", "funding_agreed", "placement_offered", "release_approved",
                           "admitted"], start=100, step=5)
    assert referrals.get_referral(recorder, r.id).row.status == "in_placement"
    referrals.step_back(recorder, r.id, "release_approved", "Admission recorded on the wrong person")
    row = referrals.get_referral(recorder, r.id).row
    assert (row.status, row.stage) == ("open", "release_approved")


def test_withdraw_decline_and_left_placement_need_a_date_and_reason(recorder) -> None:  # noqa: ANN001
    a, b, c = _person(recorder, "Al"), _person(recorder, "Bo"), _person(recorder, "Cy")
    ra = referrals.create_referral(recorder, person_id=a.id, referred_on=ago(10))
    with pytest.raises(ValidationError, match="The reason is required"):
        referrals.withdraw(recorder, ra.id, "")
    with pytest.raises(ValidationError, match="can't be dated before the stage"):
        referrals.withdraw(recorder, ra.id, "No longer wishes to go", ago(11))
    referrals.withdraw(recorder, ra.id, "No longer wishes to go", ago(2))
    got = referrals.get_referral(recorder, ra.id).row
    assert (got.status, got.closed_on, got.close_reason) == ("withdrawn", ago(2), "No longer wishes to go")
    assert got.days_waiting == 8  # to the day it closed
    with pytest.raises(ValidationError, match="closed"):
        referrals.advance(recorder, ra.id, "consented", TODAY)
    with pytest.raises(ValidationError, match="already closed"):
        referrals.withdraw(recorder, ra.id, "Again")
    rb = referrals.create_referral(recorder, person_id=b.id, referred_on=ago(10))
    referrals.withdraw(recorder, rb.id, "No funding", declined=True)
    assert referrals.get_referral(recorder, rb.id).row.status == "declined"
    rc = referrals.create_referral(recorder, person_id=c.id, referred_on=ago(100))
    with pytest.raises(ValidationError, match="after admission"):
        referrals.close(recorder, rc.id, "left_placement", TODAY, "Left")
    _walk(recorder, rc.id, ["consented", "assessed", "funding_agreed", "placement_offered", "release_approved",
                           "admitted"], start=100, step=5)
    referrals.close(recorder, rc.id, "left_placement", TODAY, "Left after a week")
    assert referrals.get_referral(recorder, rc.id).row.status == "left_placement"
    # A person whose referral is closed may be referred again.
    assert referrals.create_referral(recorder, person_id=a.id, referred_on=TODAY).status == "open"


def test_roles(ctx, recorder) -> None:  # noqa: ANN001
    p = _person(recorder)
    r = referrals.create_referral(recorder, person_id=p.id, referred_on=ago(3))
    nobody = ctx.signed_in(None)
    for attempt in (lambda c: referrals.create_referral(c, person_id=p.id, referred_on=TODAY),
                    lambda c: referrals.advance(c, r.id, "consented", TODAY),
                    lambda c: referrals.step_back(c, r.id, "identified", "x"),
                    lambda c: referrals.withdraw(c, r.id, "x"),
                    lambda c: referrals.list_referrals(c)):
        with pytest.raises(PermissionDenied, match="Sign in"):
            attempt(nobody)
    # A recorder whose account was disabled since signing in is refused at once.
    users.set_active(ctx, recorder.user.username, False)
    with pytest.raises(PermissionDenied, match="disabled"):
        referrals.advance(recorder, r.id, "consented", TODAY)
    assert referrals.get_referral(ctx, r.id).row.stage == "identified"


def test_an_establishment_sees_and_changes_only_its_own_peoples_referrals(ctx, recorder) -> None:  # noqa: ANN001
    here = _person(recorder, "Pat")
    there = _person(recorder, "Bea")
    mine = referrals.create_referral(recorder, person_id=here.id, referred_on=ago(20))
    theirs = referrals.create_referral(recorder, person_id=there.id, referred_on=ago(20))
    people.transfer_person(ctx, there.id, "est-bar", on=ago(1))
    assert [x.id for x in referrals.list_referrals(recorder)] == [mine.id]
    assert referrals.person_referrals(recorder, there.id) == []
    with pytest.raises(PermissionDenied, match="another establishment's"):
        referrals.list_referrals(recorder, establishment_id="est-bar")
    for attempt in (lambda: referrals.advance(recorder, theirs.id, "consented", TODAY),
                    lambda: referrals.withdraw(recorder, theirs.id, "x"),
                    lambda: referrals.create_referral(recorder, person_id=there.id, referred_on=TODAY)):
        with pytest.raises(PermissionDenied, match="another establishment's"):
            attempt()
    # The open referral followed the person on transfer.
    with ctx.db.read() as s:
        assert s.get(Referral, theirs.id).establishment_id == "est-bar"
        assert s.get(Referral, mine.id).establishment_id == "est-per"


def test_released_to_a_placement_stays_on_the_list_where_they_left_from(ctx, recorder) -> None:  # noqa: ANN001
    p = _person(recorder)
    r = referrals.create_referral(recorder, person_id=p.id, referred_on=ago(100))
    _walk(recorder, r.id, ["consented", "assessed", "funding_agreed", "placement_offered", "release_approved",
                           "admitted"], start=100, step=5)
    people.transfer_person(ctx, p.id, None, on=ago(70), reason="Released to residential rehabilitation")
    [row] = referrals.list_referrals(recorder)
    assert row.id == r.id and row.establishment_code == "PER" and row.stage == "admitted"
    referrals.advance(recorder, r.id, "week_4", ago(2))


def test_the_lists_filter_and_say_how_long_each_has_waited(tmp_path) -> None:  # noqa: ANN001
    per = init_installation(tmp_path / "per", establishment="PER", office=False, admin_username="ann",
                            admin_name="Ann Admin", admin_password=PASSWORD)
    try:
        a = _person(per, "Al", "Able")
        ra = referrals.create_referral(per, person_id=a.id, referred_on=ago(40))
        referrals.advance(per, ra.id, "consented", ago(12))
        b = _person(per, "Bo", "Baker")
        rb = referrals.create_referral(per, person_id=b.id, referred_on=ago(3))
        rows = referrals.list_referrals(per)
        assert [(x.person_name, x.stage, x.since, x.days_waiting) for x in rows] == [
            ("Al Able", "consented", ago(12), 12), ("Bo Baker", "identified", ago(3), 3)]
        assert [x.id for x in referrals.list_referrals(per, stage="identified")] == [rb.id]
        with pytest.raises(ValidationError, match="not a stage"):
            referrals.list_referrals(per, stage="soon")
        assert referrals.list_referrals(per, status="withdrawn") == []
        assert [x.id for x in referrals.person_referrals(per, a.id)] == [ra.id]
        assert referrals.find_referral(per, ra.id).id == ra.id == referrals.find_referral(per, referrals.short_id(ra.id)).id
    finally:
        per.db.close()


def test_referrals_by_stage_hand_counted(recorder, ctx) -> None:  # noqa: ANN001
    """Five referrals at Perth, one at Barlinnie (moved there), counted by hand."""
    period = Period(ago(30), TODAY, "quarter")
    ps = [_person(recorder, f"P{i}") for i in range(6)]
    r = [referrals.create_referral(recorder, person_id=p.id, referred_on=ago(200 if i < 3 else 20))
         for i, p in enumerate(ps)]
    path = ["consented", "assessed", "funding_agreed", "placement_offered", "release_approved", "admitted"]
    _walk(recorder, r[0].id, path, start=200, step=10)  # admitted 140 days ago
    referrals.advance(recorder, r[0].id, "week_4", ago(100))
    referrals.advance(recorder, r[0].id, "week_12", ago(40))
    referrals.advance(recorder, r[0].id, "completed", ago(10))  # completed in the period
    _walk(recorder, r[1].id, path, start=40, step=5)  # consented 35 … admitted 10 days ago (in the period)
    referrals.advance(recorder, r[2].id, "consented", ago(150))
    referrals.withdraw(recorder, r[2].id, "Moved on", ago(5))  # withdrawn in the period
    referrals.advance(recorder, r[3].id, "consented", ago(15))
    referrals.advance(recorder, r[3].id, "assessed", ago(10))
    referrals.step_back(recorder, r[3].id, "consented", "Assessment was of someone else")  # assessed not counted
    referrals.withdraw(recorder, r[4].id, "No funding", ago(1), declined=True)
    people.transfer_person(ctx, ps[5].id, "est-bar", on=ago(2))  # its open referral goes with them
    counts = indicators.referrals_by_stage
    with ctx.db.read() as s:
        national = counts(s, period)
        perth = counts(s, period, "est-per")
        bar = counts(s, period, "est-bar")
    got = {x.key: (x.now, x.in_period) for x in national.rows}
    assert got == {
        "identified": (1, 3), "consented": (1, 1), "assessed": (0, 1), "funding_agreed": (0, 1),
        "placement_offered": (0, 1), "release_approved": (0, 1), "admitted": (1, 1), "week_4": (0, 0),
        "week_12": (0, 0), "completed": (None, 1), "withdrawn": (None, 1), "declined": (None, 1),
        "left_placement": (None, 0)}
    assert (national.open_now, national.in_placement_now) == (3, 1)
    per = {x.key: (x.now, x.in_period) for x in perth.rows}
    assert per["identified"] == (0, 2) and per["consented"] == (1, 1) and perth.open_now == 2
    assert {x.key: x.now for x in bar.rows}["identified"] == 1 and bar.open_now == 1
    # Behind report.read, scoped: Perth's PC sees its own, not the national figure.
    assert dashboard.referrals_by_stage(recorder, period, "est-per").open_now == 2
    with pytest.raises(PermissionDenied, match="national picture is at the SRC office"):
        dashboard.referrals_by_stage(recorder, period)
    with pytest.raises(PermissionDenied, match="own establishment's figures only"):
        dashboard.referrals_by_stage(recorder, period, "est-bar")


def test_the_older_names_still_work(recorder) -> None:  # noqa: ANN001
    p = _person(recorder)
    r = community.create_referral(recorder, person_id=p.id, referred_on=ago(2))
    community.record_stage(recorder, r.id, "consented", ago(1))
    assert referrals.get_referral(recorder, r.id).row.stage == "consented"
