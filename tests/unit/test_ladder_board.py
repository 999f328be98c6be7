"""The ladder for many people at once: eligible_people, ladder_board, people_at_level, evidence.

The set-based evaluation must agree exactly with ``next_level()`` evaluated person by person.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from srcdesk.errors import PermissionDenied, ValidationError
from srcdesk.models import Person
from srcdesk.services import attendance, certificates, ladder, people, sessions
from srcdesk.services.attendance import RegisterEntry
from srcdesk.services.base import Context
from srcdesk.services.demo import DEMO_END, generate_demo
from srcdesk.services.setup import init_installation
from srcdesk.services.users import add_user

PASSWORD = "password123"
TODAY = dt.date.today()


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ladder-demo") / "perth"
    c = init_installation(folder, establishment="PER", office=False, admin_username="ann",
                          admin_name="Ann Admin", admin_password=PASSWORD)
    generate_demo(c, scale="small", seed=1, end=DEMO_END)
    add_user(c, "colin", "Colin Coordinator", "coordinator", PASSWORD)
    add_user(c, "rita", "Rita Recorder", "recorder", PASSWORD)
    c.db.close()
    return folder


@pytest.fixture
def demo(demo_folder: Path, tmp_path: Path) -> Iterator[Context]:
    """A fresh copy of the small demo, with the coordinator signed in."""
    import shutil

    from srcdesk.services.setup import open_installation
    from srcdesk.services.users import authenticate

    folder = tmp_path / "perth"
    shutil.copytree(demo_folder, folder, ignore=shutil.ignore_patterns("*-wal", "*-shm"))
    c = open_installation(folder)
    c = c.signed_in(authenticate(c.db, "colin", PASSWORD))
    yield c
    c.db.close()


def _everyone(ctx: Context) -> list[str]:
    with ctx.read() as s:
        return list(s.execute(select(Person.id).where(Person.deleted_hlc.is_(None),
                                                      Person.establishment_id == ctx.installation.establishment_id))
                    .scalars())


def _one_by_one(ctx: Context) -> dict[str, str]:
    """person id -> next level id, for the eligible, the slow way."""
    out = {}
    for pid in _everyone(ctx):
        nxt = ladder.next_level(ctx, pid)
        if nxt is not None and nxt.eligible:
            out[pid] = nxt.definition_id
    return out


def _set_based(ctx: Context) -> dict[str, str]:
    return {r.person_id: r.definition_id for r in ladder.eligible_people(ctx, limit=100_000)}


def test_eligible_people_agrees_with_next_level(demo: Context) -> None:
    slow = _one_by_one(demo)
    assert len(slow) >= 5  # the demo has people waiting at several levels
    assert len(set(slow.values())) >= 2
    assert _set_based(demo) == slow


def test_agreement_survives_sign_off_withdraw_and_cancellation(demo: Context) -> None:
    rows = ladder.eligible_people(demo, limit=100_000)
    # sign a few off, withdraw one achievement, cancel a session someone's eligibility rests on
    for row in rows[:3]:
        ladder.sign_off(demo, row.person_id, row.definition_id, achieved_on=TODAY)
    first = ladder.achievements(demo, rows[0].person_id)[-1]
    ladder.withdraw(demo, first.id, "Signed off by mistake")
    victim = rows[3]
    evidence = ladder.next_level(demo, victim.person_id).evidence_session_ids
    sessions.cancel_session(demo, evidence[-1], "Room flooded")
    assert _set_based(demo) == _one_by_one(demo)
    # someone transferred out leaves the list; a newcomer who attends joins it
    people.transfer_person(demo, rows[4].person_id, "est-edi", on=TODAY)
    newcomer = people.create_person(demo, given_name="Nia", family_name="New")
    cafe = sessions.create_session(demo, date=TODAY, start_time="10:00", end_time="11:00", activity_type_id="act-cafe")
    assert newcomer.id not in _set_based(demo)
    attendance.add_to_register(demo, cafe.id, RegisterEntry(newcomer.id, "present", "participant"))
    now = _set_based(demo)
    assert now == _one_by_one(demo)
    assert rows[4].person_id not in now and now[newcomer.id] == "ms-attender"


def test_programme_rule_by_modules_or_certificate(ctx: Context) -> None:
    """Peer trainer needs Training 4 Trainers (every module, or a certificate) and 2 trainer sessions."""
    coordinator = Context(ctx.db, ctx.installation, add_user(ctx, "colin", "Colin", "coordinator", PASSWORD))
    p = people.create_person(ctx, given_name="Tam", family_name="Trainer")
    q = people.create_person(ctx, given_name="Cert", family_name="Holder")

    def attend(person, role, n, start, module_id=None):  # noqa: ANN001, ANN202
        for i in range(n):
            kw = {"module_id": module_id} if module_id else {"activity_type_id": "act-cafe"}
            s = sessions.create_session(ctx, date=TODAY - dt.timedelta(days=start - i), start_time="10:00",
                                        end_time="11:00", **kw)
            attendance.add_to_register(ctx, s.id, RegisterEntry(person.id, "present", role))

    for person in (p, q):
        attend(person, "trainer", 6, 200)
        for level in ("ms-attender", "ms-regular", "ms-peer-helper", "ms-co-facilitator", "ms-session-lead"):
            ladder.sign_off(coordinator, person.id, level, achieved_on=TODAY)
    assert ladder.next_level(ctx, p.id).definition_id == "ms-peer-trainer"
    assert _set_based(ctx) == _one_by_one(ctx) == {}
    certificates.issue(coordinator, person_id=q.id, kind="programme", programme_id="prog-t4t")
    with ctx.read() as s:
        from srcdesk.models import Module
        modules = list(s.execute(select(Module.id).where(Module.programme_id == "prog-t4t",
                                                         Module.retired.is_(False))).scalars())
    for i, module in enumerate(modules):
        attend(p, "participant", 1, 100 + i, module_id=module)
    assert _set_based(ctx) == _one_by_one(ctx) == {p.id: "ms-peer-trainer", q.id: "ms-peer-trainer"}


def test_board_counts_holders_and_eligible(demo: Context) -> None:
    board = ladder.ladder_board(demo)
    assert [b.level for b in board] == [1, 2, 3, 4, 5, 6]
    assert board[2].rule == "4 sessions as helper, co-facilitator, lead facilitator or trainer"
    eligible = ladder.eligible_people(demo, limit=100_000)
    for b in board:
        assert b.eligible == sum(1 for r in eligible if r.definition_id == b.definition_id)
        holders = ladder.people_at_level(demo, b.definition_id, limit=1000)
        assert b.holders == len(holders.items) and holders.after is None
        for h in holders.items:  # their current level is this one
            held = [lp for lp in ladder.person_ladder(demo, h.person_id).levels if lp.state == "held"]
            assert max(lp.level for lp in held) == b.level
    assert sum(b.holders for b in board) > 0


def test_people_at_level_pages_by_name(demo: Context) -> None:
    board = max(ladder.ladder_board(demo), key=lambda b: b.holders)
    assert board.holders >= 3
    seen, after = [], None
    while True:
        page = ladder.people_at_level(demo, board.definition_id, after=after, limit=2)
        seen += page.items
        if not page.has_more:
            break
        after = page.after
    assert len(seen) == board.holders == len({h.person_id for h in seen})
    names = [" ".join(reversed(h.display_name.casefold().rsplit(" ", 1))) for h in seen]  # family name first
    assert names == sorted(names)


def test_eligible_for_level_pages(demo: Context) -> None:
    level = max(ladder.ladder_board(demo), key=lambda b: b.eligible)
    everyone = ladder.eligible_people(demo, definition_id=level.definition_id, limit=100_000)
    seen, after = [], None
    while True:
        page = ladder.eligible_for_level(demo, level.definition_id, after=after, limit=2)
        seen += page.items
        if not page.has_more:
            break
        after = page.after
    assert sorted(r.person_id for r in seen) == sorted(r.person_id for r in everyone)
    assert len(seen) == level.eligible


def test_eligible_people_limit_and_order(demo: Context) -> None:
    rows = ladder.eligible_people(demo, limit=3)
    assert len(rows) == 3
    everyone = ladder.eligible_people(demo, limit=100_000)
    assert rows == everyone[:3]
    assert [r.level for r in everyone] == sorted(r.level for r in everyone)


def test_person_ladder_and_evidence(demo: Context) -> None:
    row = ladder.eligible_people(demo, limit=1)[0]
    mine = ladder.person_ladder(demo, row.person_id)
    states = {lp.definition_id: lp.state for lp in mine.levels}
    assert states[row.definition_id] == "eligible"
    ready = next(lp for lp in mine.levels if lp.definition_id == row.definition_id)
    used = [e for e in mine.evidence if e.session_id in ready.evidence_session_ids]
    assert used and all(row.next_level in e.evidence_for and e.counts for e in used)
    assert ladder.evidence(demo, row.person_id) == mine.evidence
    preview = ladder.signoff_preview(demo, row.person_id, row.definition_id)
    assert preview.eligible and {e.session_id for e in preview.evidence} == set(ready.evidence_session_ids)
    a = ladder.sign_off(demo, row.person_id, row.definition_id, achieved_on=TODAY)
    after = ladder.person_ladder(demo, row.person_id)
    assert after.current_level == row.next_level
    assert after.achievements[0].id == a.id and after.achievements[0].signed_off_by == "Colin Coordinator"
    assert ladder.signoff_preview(demo, row.person_id, row.definition_id).held


def test_recorder_is_refused_sign_off(demo: Context) -> None:
    from srcdesk.services.users import authenticate

    recorder = Context(demo.db, demo.installation, authenticate(demo.db, "rita", PASSWORD))
    row = ladder.eligible_people(recorder, limit=1)[0]
    with pytest.raises(PermissionDenied, match="Only a coordinator can sign off milestones"):
        ladder.sign_off(recorder, row.person_id, row.definition_id, achieved_on=TODAY)
    with pytest.raises(ValidationError, match="Reason is required"):
        ladder.withdraw(demo, "whatever", "  ")
