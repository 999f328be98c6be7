"""The referral protocol's policy as a property: whatever a person does, in whatever order (record
any stage on any day, step back with or without a reason, withdraw, decline or leave), the
referral's stages reached are always the protocol's first stages in order, dated in order and never
in the future; its status says what its stages say; and whatever is refused changes nothing.

CI runs the same examples each time (derandomized). To explore:
SRCDESK_REFERRAL_EXAMPLES=500 pytest tests/unit/test_referral_policy.py (a random seed, printed on failure).
"""

from __future__ import annotations

import datetime as dt
import itertools
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from srcdesk.errors import ValidationError
from srcdesk.models import FOLLOW_UP_STAGES, REFERRAL_CLOSED, REFERRAL_STAGES
from srcdesk.services import people, referrals

ORDER = list(REFERRAL_STAGES)
TODAY = dt.date.today()
EXPLORE = int(os.environ.get("SRCDESK_REFERRAL_EXAMPLES", "0"))
_names = itertools.count(1)

stages = st.sampled_from(ORDER)
# "next" (the stage after the current one) more often than any stage, so examples get far along
wanted = st.one_of(st.just("next"), st.just("next"), st.just("next"), stages)
reasons = st.sampled_from(["", "   ", "Funding withdrawn", "Changed their mind"])
forward = st.tuples(st.just("advance"), wanted, st.integers(-5, 90))  # days after the current stage
operations = st.lists(st.one_of(
    forward, forward, forward, forward, forward,
    st.tuples(st.just("back"), stages, reasons),
    st.tuples(st.just("close"), st.sampled_from(["withdrawn", "declined", "left_placement"]), reasons),
), min_size=8, max_size=24)


def _state(ctx, rid):  # noqa: ANN001, ANN202
    d = referrals.get_referral(ctx, rid)
    live = [(e.stage, e.reached_on) for e in d.history if not e.stepped_back]
    return d.row.status, d.row.closed_on, d.row.close_reason, live


def _check(state) -> None:  # noqa: ANN001
    status, closed_on, close_reason, live = state
    names = [s for s, _ in live]
    assert names == ORDER[:len(names)] and names, names  # the first stages, in order, none skipped
    days = [d for _, d in live]
    assert days == sorted(days) and days[-1] <= TODAY, days  # dated in order, none in the future
    admitted = "admitted" in names
    if status == "completed":
        assert names[-1] == "completed" and closed_on is not None
    elif status in REFERRAL_CLOSED:  # withdrawn, declined, left the placement: dated, with a reason
        assert closed_on is not None and (close_reason or "").strip()
        assert (status == "left_placement") == admitted
    else:
        assert closed_on is None
        assert status == ("in_placement" if admitted else "open"), (status, names)
    assert not set(names) & set(FOLLOW_UP_STAGES) or admitted


@settings(max_examples=EXPLORE or 40, deadline=None, derandomize=not EXPLORE,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=operations)
def test_whatever_is_done_the_referral_follows_the_protocol(recorder, ops) -> None:  # noqa: ANN001
    n = next(_names)
    person = people.create_person(recorder, given_name=f"Sam{n}", family_name="Policy")
    start = TODAY - dt.timedelta(days=400)
    rid = referrals.create_referral(recorder, person_id=person.id, referred_on=start).id
    state = _state(recorder, rid)
    _check(state)
    for op in ops:
        status, _closed, _why, live = state
        current, since = live[-1]
        try:
            match op:
                case ("advance", stage, after):
                    if stage == "next":
                        stage = ORDER[min(ORDER.index(current) + 1, len(ORDER) - 1)]
                    referrals.advance(recorder, rid, stage, since + dt.timedelta(days=after))
                    # only the very next stage, on a day not before the last nor in the future
                    assert status not in REFERRAL_CLOSED
                    assert ORDER.index(stage) == ORDER.index(current) + 1 and after >= 0
                case ("back", stage, reason):
                    referrals.step_back(recorder, rid, stage, reason)
                    assert reason.strip() and ORDER.index(stage) < ORDER.index(current)
                case ("close", outcome, reason):
                    referrals.close(recorder, rid, outcome, None, reason)
                    assert reason.strip() and status not in REFERRAL_CLOSED
        except ValidationError:
            assert _state(recorder, rid) == state, op  # refused: nothing changed
            continue
        state = _state(recorder, rid)
        _check(state)
    reached.add(state[3][-1][0])


reached: set[str] = set()


def test_the_examples_went_all_the_way() -> None:
    """(Runs after the property in this file:) its examples reached the follow-up, not only the
    first stages."""
    assert not reached or "admitted" in reached or any(s in reached for s in FOLLOW_UP_STAGES), reached
