"""An Early Release to Residential Rehabilitation referral between PCs (issue 13, item 3): Perth
records a referral; its bundle brings it to the office, which lists it and counts it by stage; the
person is transferred to Barlinnie, and the office's bundle to Barlinnie carries the open referral,
which Barlinnie lists and moves on (and Perth no longer lists); a forged Perth bundle changing a
referral of a person Perth never held is refused at the office. Real bundles, real keys."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from srcdesk.errors import PermissionDenied
from srcdesk.models import REFERRAL_STAGES
from srcdesk.reports.periods import Period
from srcdesk.services import dashboard, people, referrals
from srcdesk.services.base import Context
from tests.conftest import World, as_role
from tests.unit.test_bundle_authority import change, forge, refused, row

TODAY = dt.date.today()


def ago(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


class _Forger:
    """What tests/unit/test_bundle_authority.py's forge() needs of a world."""

    def __init__(self, world: World) -> None:
        self.office = world.office
        self._world = world

    def __getitem__(self, name: str) -> Context:
        return self.office if name == "office" else self._world[name]

    def user(self, name: str) -> str:
        return self[name].user.id


def _by_stage(ctx: Context, est: str | None = None) -> dict[str, Any]:
    counts = dashboard.referrals_by_stage(ctx, Period(ago(60), TODAY, "quarter"), est)
    return {r.key: (r.now, r.in_period) for r in counts.rows if r.now or r.in_period}


def test_a_referral_goes_to_the_office_and_with_the_person_on_transfer(world: World, tmp_path: Path) -> None:
    per = as_role(world["PER"], "recorder", "rita")
    jo = people.create_person(per, given_name="Jo", family_name="Bloggs", external_ref="P123")
    ref = referrals.create_referral(per, person_id=jo.id, referred_on=ago(40))
    referrals.advance(per, ref.id, "consented", ago(30))
    world.send(world["PER"], world.office)

    # The office lists it and counts it by stage, at Perth and nationally.
    office = world.office
    [seen] = referrals.list_referrals(office)
    assert (seen.id, seen.establishment_code, seen.stage, seen.days_waiting) == (ref.id, "PER", "consented", 30)
    assert [h.recorded_by for h in referrals.get_referral(office, ref.id).history] == ["Recorder", "Recorder"]
    assert _by_stage(office) == _by_stage(office, "est-per") == {"identified": (0, 1), "consented": (1, 1)}
    assert _by_stage(office, "est-bar") == {}

    # Perth transfers Jo to Barlinnie: the open referral follows them.
    people.transfer_person(world["PER"], jo.id, "est-bar", on=ago(2), reason="Moved for family visits")
    assert referrals.list_referrals(per) == []
    world.send(world["PER"], office)
    assert referrals.list_referrals(office, establishment_id="est-per") == []
    assert [r.id for r in referrals.list_referrals(office, establishment_id="est-bar")] == [ref.id]
    assert _by_stage(office, "est-bar") == {"identified": (0, 1), "consented": (1, 1)}

    # The office's bundle to Barlinnie carries it; Barlinnie lists it and moves it on.
    world.send(office, world["BAR"])
    bar = as_role(world["BAR"], "recorder", "bea")
    [there] = referrals.list_referrals(bar)
    assert (there.id, there.person_name, there.establishment_code, there.stage) == (ref.id, "Jo Bloggs", "BAR",
                                                                                    "consented")
    referrals.advance(bar, ref.id, "assessed", ago(1), note="Assessed at Barlinnie")
    world.send(world["BAR"], office)
    assert referrals.get_referral(office, ref.id).row.stage == "assessed"
    history = referrals.get_referral(office, ref.id).history
    assert [(REFERRAL_STAGES[h.stage], h.reached_on) for h in history] == [
        ("Identified", ago(40)), ("Consented", ago(30)), ("Assessed", ago(1))]

    # Perth no longer lists it, and refuses to change it (it is Barlinnie's person now).
    world.send(office, world["PER"])
    assert referrals.list_referrals(per) == [] and referrals.person_referrals(per, jo.id) == []
    with pytest.raises(PermissionDenied, match="another establishment's"):
        referrals.advance(per, ref.id, "funding_agreed", TODAY)


def test_a_forged_perth_bundle_changing_a_referral_it_does_not_hold_is_refused(world: World, tmp_path: Path) -> None:
    bar = world["BAR"]
    bea = people.create_person(bar, given_name="Bea", family_name="Barr")
    theirs = referrals.create_referral(bar, person_id=bea.id, referred_on=ago(10))
    world.send(bar, world.office)
    w = _Forger(world)
    # A stage for Barlinnie's referral, and the referral itself moved to Perth: both refused.
    stage = change(w, "referral_stage", row("referral_stage", referral_id=theirs.id, stage="consented",
                                            reached_on=ago(1).isoformat(), recorded_by=w.user("PER")), by="PER")
    refused(world.office, forge(w, [stage], tmp_path / "forged-1", by="PER"),
            "referral stage .* for a referral that HMP Perth does not hold")
    moved = change(w, "referral", {"establishment_id": "est-per"}, row_id=theirs.id, op="update", by="PER")
    refused(world.office, forge(w, [moved], tmp_path / "forged-2", by="PER"), "HMP Perth does not hold")
    assert referrals.get_referral(world.office, theirs.id).row.stage == "identified"
