"""Completion rules (services/completion.py, the one evaluator) and who is due a certificate
(services/eligibility.py): statuses that don't count, cancelled and deleted sessions, windows at
the boundary, retired modules, certificates held, revoked and reissued, ladder levels held; the
default rules of the reference programmes; and parity with the ladder's rules as they were."""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from srcdesk.errors import PermissionDenied, ValidationError
from srcdesk.models import ChangeLog, LocalState, Module, Programme
from srcdesk.services import attendance, catalogue, certificates, eligibility, ladder, people, sessions
from srcdesk.services.attendance import RegisterEntry
from srcdesk.services.base import Context
from srcdesk.services.check import run_check
from srcdesk.services.completion import (
    Attended,
    Catalogue,
    ModuleInfo,
    PersonFacts,
    ProgrammeInfo,
    describe_completion,
    level_verdict,
    met_on,
    module_completed_on,
    parse_rule,
    programme_completed_on,
)
from srcdesk.services.reference_data import DEFAULT_RULES_KEY, load_reference
from srcdesk.services.setup import open_installation
from srcdesk.services.users import authenticate
from srcdesk.words import plural

from ..conftest import PASSWORD

TODAY = dt.date.today()


# -- the evaluator, pure -----------------------------------------------------------------------

def test_window_counts_calendar_days_inclusive() -> None:
    assert met_on([0, 6], 2, 7) == 6  # day 0 and day 6: within 7 days
    assert met_on([0, 7], 2, 7) is None  # day 0 and day 7: 8 days
    assert met_on([0, 7, 9], 2, 7) == 9  # the later pair is
    assert met_on([0, 7], 2) == 7 and met_on([0], 2) is None
    assert met_on([], 1) is None


def _reference_catalogue(retired: frozenset[str] = frozenset(), rules: dict | None = None) -> Catalogue:
    data = load_reference()
    rules = rules or {}
    modules = {m["id"]: ModuleInfo(m["id"], m["programme_id"], m["code"], m["name"],
                                   rules.get(m["id"], parse_rule(m.get("completion_rule"))), m["id"] in retired)
               for m in data["module"]}
    programmes = {p["id"]: ProgrammeInfo(
        p["id"], p["code"], p["name"], rules.get(p["id"], parse_rule(p.get("completion_rule"))), False, p["kind"],
        tuple(m for m, info in modules.items() if info.programme_id == p["id"] and m not in retired),
        tuple(m for m, info in modules.items() if info.programme_id == p["id"])) for p in data["programme"]}
    roles = {r["code"]: (r["sort_order"], r["name"]) for r in data["attendance_role"]}
    return Catalogue(programmes, modules, roles)


def _facts(*sessions: tuple[int, str | None], role: str = "participant") -> PersonFacts:
    return PersonFacts([Attended(f"s{i}", day, role, module) for i, (day, module) in enumerate(sorted(
        sessions, key=lambda s: s[0]))])


def test_every_module_completed_leaves_retired_modules_out() -> None:
    f = _facts((10, "mod-t4t-01"), (20, "mod-t4t-02"))
    assert programme_completed_on(_reference_catalogue(), f, "prog-t4t") is None
    cat = _reference_catalogue(retired=frozenset({"mod-t4t-03"}))
    assert programme_completed_on(cat, f, "prog-t4t") == 20  # the day the last module was completed
    # a module's own rule decides when it is completed
    strict = _reference_catalogue(retired=frozenset({"mod-t4t-03"}),
                                  rules={"mod-t4t-02": {"attended_sessions": 2, "within_days": 7}})
    assert programme_completed_on(strict, f, "prog-t4t") is None
    assert programme_completed_on(strict, _facts((10, "mod-t4t-01"), (20, "mod-t4t-02"), (26, "mod-t4t-02")),
                                  "prog-t4t") == 26


def test_sessions_of_any_module_count_retired_ones_too() -> None:
    cat = _reference_catalogue(retired=frozenset({"mod-t4t-03"}), rules={"prog-t4t": {"attended_sessions": 3}})
    f = _facts((1, "mod-t4t-03"), (2, "mod-t4t-03"), (3, "mod-t4t-01"), (4, "mod-rcdt-01"), (5, None))
    assert programme_completed_on(cat, f, "prog-t4t") == 3
    assert programme_completed_on(cat, _facts((1, "mod-t4t-03"), (4, "mod-rcdt-01")), "prog-t4t") is None


def test_no_rule_means_never_for_certificates_and_one_session_within_a_programme() -> None:
    cat = _reference_catalogue(rules={"mod-t4t-01": None, "prog-t4t": None})
    f = _facts((5, "mod-t4t-01"), (6, "mod-t4t-02"), (7, "mod-t4t-03"))
    assert module_completed_on(cat, f, "mod-t4t-01", default_once=False) is None
    assert module_completed_on(cat, f, "mod-t4t-01") == 5
    assert programme_completed_on(cat, f, "prog-t4t", default_all=False) is None
    assert programme_completed_on(cat, f, "prog-t4t") == 7  # the ladder's "programme completed"


def test_rules_in_words() -> None:
    assert describe_completion(None, programme=True) == "No rule"
    assert describe_completion('{"modules_completed": "all"}', programme=True) == "Every module completed"
    assert describe_completion({"attended_sessions": 1}, programme=False) == "Attended 1 session"
    assert describe_completion({"attended_sessions": 6, "within_days": 84}, programme=True) == \
        "Attended 6 sessions of any module within 84 days"


# -- parity with the ladder's rules as they were before the one evaluator ----------------------

def _old_rules(rules: dict, attended: list, certified: set[str], programmes: dict, role_words) -> tuple:  # noqa: ANN001
    """The ladder's ``_evaluate`` (services/ladder.py before issue 11), less the level below."""
    unmet: list[str] = []
    evidence: list[str] = []
    if "attended_sessions" in rules:
        need = rules["attended_sessions"]
        window = rules.get("within_days")
        if window:
            best: list = []
            start = 0
            for end in range(len(attended)):
                while attended[end][1] - attended[start][1] > window - 1:
                    start += 1
                if end - start + 1 > len(best):
                    best = attended[start:end + 1]
            got = best
        else:
            got = attended
        if len(got) >= need:
            evidence += [a[0] for a in got[-need:]]
        else:
            within = f" within {plural(window, 'day')}" if window else ""
            unmet.append(f"Has attended {len(got)} of {plural(need, 'session')}{within}.")
    if "role_sessions" in rules:
        roles, need = set(rules["role_sessions"]["roles"]), rules["role_sessions"]["count"]
        got = [a for a in attended if a[2] in roles]
        if len(got) >= need:
            evidence += [a[0] for a in got[-need:]]
        else:
            unmet.append(f"Has {len(got)} of {plural(need, 'session')} in the role of {role_words(roles)}.")
    if "programme_completed" in rules:
        programme_id, name, modules = programmes[rules["programme_completed"]]
        if programme_id not in certified:
            done = {a[3] for a in attended if a[3] in modules}
            if not modules or done != modules:
                unmet.append(f"Has completed {len(done)} of {plural(len(modules), 'module')} of {name}.")
    seen: set[str] = set()
    evidence = [e for e in evidence if not (e in seen or seen.add(e))]
    return not unmet, unmet, evidence


ROLES = ["participant", "helper", "co_facilitator", "lead_facilitator", "trainer", "observer"]
MODULES = [None, "mod-t4t-01", "mod-t4t-02", "mod-t4t-03", "mod-rcdt-01"]
_session = st.tuples(st.integers(0, 40), st.sampled_from(ROLES), st.sampled_from(MODULES))
_rules = st.fixed_dictionaries({}, optional={
    "attended_sessions": st.integers(1, 8),
    "within_days": st.integers(1, 21),
    "role_sessions": st.fixed_dictionaries({"roles": st.lists(st.sampled_from(ROLES), min_size=1, max_size=3,
                                                              unique=True), "count": st.integers(1, 5)}),
    "programme_completed": st.just("T4T"),
}).map(lambda r: {k: v for k, v in r.items() if k != "within_days" or "attended_sessions" in r})


@settings(max_examples=int(os.environ.get("PARITY_EXAMPLES", "300")), deadline=None,
          derandomize=not os.environ.get("PARITY_RANDOM"))
@given(sessions_=st.lists(_session, max_size=25), rules=_rules, retire_one=st.booleans(), certified=st.booleans())
def test_one_evaluator_gives_the_ladders_old_answers(sessions_, rules, retire_one, certified) -> None:  # noqa: ANN001
    retired = frozenset({"mod-t4t-03"}) if retire_one else frozenset()
    cat = _reference_catalogue(retired)
    attended = sorted(((f"s{i:02d}", day, role, module) for i, (day, role, module) in enumerate(sessions_)),
                      key=lambda a: (a[1], a[0]))
    held_certificates = {"prog-t4t"} if certified else set()
    t4t = cat.programmes["prog-t4t"]
    expected = _old_rules(rules, attended, held_certificates, {"T4T": (t4t.id, t4t.name, set(t4t.current_modules))},
                          cat.role_words)
    # one person's page: words and evidence
    facts = PersonFacts([Attended(*a) for a in attended], {}, set(held_certificates))
    verdict = level_verdict(cat, facts, rules, explain=True)
    assert (verdict.met, verdict.unmet, verdict.evidence) == expected
    # the bulk lists: the same answer over the facts the ladder keeps for everyone
    bulk = ladder._Facts(("A", "B"), None, "b a", None)
    for _sid, day, role, module in attended:
        bulk.days.append(day)
        bulk.roles[role] = bulk.roles.get(role, 0) + 1
        if module:
            bulk.module_days.setdefault(module, []).append(day)
    bulk.certified |= held_certificates
    assert level_verdict(cat, bulk, rules).met == expected[0]


# -- who is due a certificate, over real data --------------------------------------------------

def _attend(ctx: Context, person_id: str, day: dt.date, module_id: str | None = "mod-rat-01",
            status: str = "present", role: str = "participant") -> str:
    what = {"module_id": module_id} if module_id else {"activity_type_id": "act-cafe"}
    s = sessions.create_session(ctx, date=day, start_time="10:00", end_time="11:00", **what)
    attendance.add_to_register(ctx, s.id, RegisterEntry(person_id, status, role))
    return s.id


def _due(ctx: Context, **kw) -> dict[tuple[str, str], dt.date]:  # noqa: ANN003
    return {(r.person_id, r.award_code): r.completed_on for r in eligibility.all_eligible_certificates(ctx, **kw)}


def _fresh(ctx: Context) -> dict[tuple[str, str], dt.date]:
    """The same, worked out from nothing (no facts kept from earlier calls)."""
    with ladder._cache_lock:
        ladder._cache.pop(ctx.db, None)
    return _due(ctx)


def test_statuses_that_do_not_count(ctx: Context) -> None:
    p = people.create_person(ctx, given_name="Ed", family_name="Excused")
    _attend(ctx, p.id, TODAY - dt.timedelta(days=3), status="excused")
    _attend(ctx, p.id, TODAY - dt.timedelta(days=2), status="absent")
    assert (p.id, "RAT01") not in _due(ctx)
    _attend(ctx, p.id, TODAY - dt.timedelta(days=1), status="late")
    due = _due(ctx)
    assert due[(p.id, "RAT01")] == due[(p.id, "RAT")] == TODAY - dt.timedelta(days=1)
    assert due == _fresh(ctx)


def test_cancelled_and_deleted_sessions_do_not_count(ctx: Context) -> None:
    p = people.create_person(ctx, given_name="Cal", family_name="Cancelled")
    first = _attend(ctx, p.id, TODAY - dt.timedelta(days=5))
    assert (p.id, "RAT01") in _due(ctx)
    sessions.cancel_session(ctx, first, "Lockdown")
    assert (p.id, "RAT01") not in _due(ctx)
    second = _attend(ctx, p.id, TODAY - dt.timedelta(days=4))
    assert _due(ctx)[(p.id, "RAT01")] == TODAY - dt.timedelta(days=4)
    sessions.delete_session(ctx, second, "Entered twice")
    assert (p.id, "RAT01") not in _due(ctx)
    assert _due(ctx) == _fresh(ctx)


def test_window_at_the_boundary(ctx: Context) -> None:
    catalogue.update(ctx, Module, "mod-rat-01", completion_rule={"attended_sessions": 2, "within_days": 7})
    inside = people.create_person(ctx, given_name="In", family_name="Side")
    outside = people.create_person(ctx, given_name="Out", family_name="Side")
    start = TODAY - dt.timedelta(days=30)
    _attend(ctx, inside.id, start)
    _attend(ctx, inside.id, start + dt.timedelta(days=6))
    _attend(ctx, outside.id, start)
    _attend(ctx, outside.id, start + dt.timedelta(days=7))
    due = _due(ctx)
    assert due[(inside.id, "RAT01")] == start + dt.timedelta(days=6)
    assert (outside.id, "RAT01") not in due
    assert (outside.id, "RAT") in due  # the programme's own rule: one session of any module


def test_every_module_and_a_retired_one(ctx: Context) -> None:
    p = people.create_person(ctx, given_name="Tia", family_name="Trainee")
    _attend(ctx, p.id, TODAY - dt.timedelta(days=20), "mod-t4t-01")
    _attend(ctx, p.id, TODAY - dt.timedelta(days=10), "mod-t4t-02")
    due = _due(ctx)
    assert (p.id, "T4T01") in due and (p.id, "T4T02") in due and (p.id, "T4T") not in due
    catalogue.set_retired(ctx, Module, "mod-t4t-03")
    due = _due(ctx)
    assert due[(p.id, "T4T")] == TODAY - dt.timedelta(days=10)
    # the programme retired: nobody is listed for it any more
    catalogue.set_retired(ctx, Programme, "prog-t4t")
    assert not {k for k in _due(ctx) if k[0] == p.id}
    assert _due(ctx) == _fresh(ctx)


def test_a_valid_certificate_a_revoked_one_and_a_reissue(ctx: Context) -> None:
    p = people.create_person(ctx, given_name="Val", family_name="Valid")
    _attend(ctx, p.id, TODAY - dt.timedelta(days=2))
    assert {(p.id, "RAT01"), (p.id, "RAT")} <= set(_due(ctx))
    cert = certificates.issue(ctx, person_id=p.id, kind="programme", programme_id="prog-rat")
    due = _due(ctx)
    assert (p.id, "RAT") not in due and (p.id, "RAT01") in due  # the module's own is still due
    certificates.revoke(ctx, cert.id, "Issued to the wrong person")
    assert (p.id, "RAT") in _due(ctx)
    again = certificates.issue(ctx, person_id=p.id, kind="programme", programme_id="prog-rat")
    assert (p.id, "RAT") not in _due(ctx)
    certificates.supersede(ctx, again.id, "Name misspelt", recipient_name="Val Valid-Smith")
    assert (p.id, "RAT") not in _due(ctx)  # superseded, but its reissue is valid
    assert _due(ctx) == _fresh(ctx)


def test_ladder_level_achieved(ctx: Context) -> None:
    p = people.create_person(ctx, given_name="Lou", family_name="Ladder")
    _attend(ctx, p.id, TODAY - dt.timedelta(days=2), module_id=None)
    assert (p.id, "attender") not in _due(ctx)  # eligible for the level is not holding it
    achievement = ladder.sign_off(ctx, p.id, "ms-attender", achieved_on=TODAY - dt.timedelta(days=1))
    row = next(r for r in eligibility.all_eligible_certificates(ctx, kind="milestone") if r.person_id == p.id)
    assert (row.kind, row.award_code, row.title, row.achievement_id, row.completed_on) == (
        "milestone", "attender", "Attender", achievement.id, TODAY - dt.timedelta(days=1))
    certificates.issue(ctx, person_id=p.id, kind="milestone", achievement_id=achievement.id)
    assert (p.id, "attender") not in _due(ctx)
    # withdrawn: no longer held, so not due either
    q = people.create_person(ctx, given_name="Wil", family_name="Withdrawn")
    _attend(ctx, q.id, TODAY - dt.timedelta(days=2), module_id=None)
    a = ladder.sign_off(ctx, q.id, "ms-attender", achieved_on=TODAY)
    assert (q.id, "attender") in _due(ctx)
    ladder.withdraw(ctx, a.id, "Signed off by mistake")
    assert (q.id, "attender") not in _due(ctx)
    assert _due(ctx) == _fresh(ctx)


def test_rows_paging_and_scope(ctx: Context, recorder: Context) -> None:
    names = ["Ada Adams", "Bea Brown", "Cy Cole"]
    made = []
    for i, name in enumerate(names):
        given, family = name.split()
        p = people.create_person(ctx, given_name=given, family_name=family, external_ref=f"A{i}0000")
        _attend(ctx, p.id, TODAY - dt.timedelta(days=5), "mod-t4t-01")
        made.append(p)
    first = eligibility.eligible_certificates(recorder, limit=2)  # any role may read it
    assert [(r.display_name, r.award_code) for r in first.items] == [("Ada Adams", "T4T01"), ("Bea Brown", "T4T01")]
    row = first.items[0]
    assert (row.external_ref, row.establishment_code, row.kind, row.title, row.module_id, row.programme_id) == (
        "A00000", "PER", "module", "Preparing to train", "mod-t4t-01", None)
    rest = eligibility.eligible_certificates(recorder, after=list(first.after), limit=2)  # as JSON gives it back
    assert [r.display_name for r in rest.items] == ["Cy Cole"] and not rest.has_more
    # someone transferred to Edinburgh is listed there, not here
    people.transfer_person(ctx, made[1].id, "est-edi", on=TODAY)
    assert [r.display_name for r in eligibility.all_eligible_certificates(ctx)] == ["Ada Adams", "Cy Cole"]
    edi = eligibility.all_eligible_certificates(ctx, establishment_id="est-edi")
    assert [(r.display_name, r.establishment_code) for r in edi] == [("Bea Brown", "EDI")]
    with pytest.raises(ValidationError):
        eligibility.eligible_certificates(ctx, kind="diploma")
    with pytest.raises(PermissionDenied):
        eligibility.eligible_certificates(Context(ctx.db, ctx.installation, None))


# -- editing the rules -------------------------------------------------------------------------

def test_rules_are_validated_and_stored_canonical(ctx: Context) -> None:
    catalogue.update(ctx, Programme, "prog-rcdt", completion_rule={"within_days": 84, "attended_sessions": 6})
    with ctx.read() as s:
        assert s.get(Programme, "prog-rcdt").completion_rule == '{"attended_sessions": 6, "within_days": 84}'
    catalogue.update(ctx, Programme, "prog-rcdt", completion_rule=None)
    with ctx.read() as s:
        assert s.get(Programme, "prog-rcdt").completion_rule is None
    for model, bad in ((Module, {"modules_completed": "all"}), (Programme, {"modules_completed": "some"}),
                       (Programme, {"attended_sessions": 0}), (Programme, {"within_days": 5}),
                       (Programme, {"modules_completed": "all", "attended_sessions": 2}),
                       (Module, {"attended_sessions": True}), (Module, "not json"), (Module, {"role_sessions": 1})):
        with pytest.raises(ValidationError):
            catalogue.update(ctx, model, "mod-rat-01" if model is Module else "prog-rcdt", completion_rule=bad)


def test_reference_programmes_have_default_rules(ctx: Context) -> None:
    with ctx.read() as s:
        rules = dict(s.execute(select(Programme.code, Programme.completion_rule)).all())
        module_rules = set(s.execute(select(Module.completion_rule)).scalars())
    assert rules == {"RCDT": '{"modules_completed": "all"}', "RAT": '{"attended_sessions": 1}',
                     "T4T": '{"modules_completed": "all"}', "RDA": '{"modules_completed": "all"}'}
    assert module_rules == {'{"attended_sessions": 1}'}


def _forget_rules(ctx: Context) -> None:
    """As data from before completion rules: none on any programme or module, no note of defaults."""
    with ctx.db.session(ctx.actor) as s:
        for model in (Programme, Module):
            for row in s.execute(select(model)).scalars():
                row.completion_rule = None
        s.delete(s.get(LocalState, DEFAULT_RULES_KEY))


def _reopen(world, code: str, username: str) -> Context:  # noqa: ANN001
    old = world[code]
    old.db.close()
    c = open_installation(old.db.data_dir)
    c = c.signed_in(authenticate(c.db, username, PASSWORD))
    if code == "office":
        world.office = c
    else:
        world.sites[code] = c
    return c


def _rule_of(ctx: Context, model: type, row_id: str) -> str | None:
    with ctx.db.session() as s:
        return s.get(model, row_id).completion_rule


def test_existing_data_gets_the_default_rules_once_from_the_office(make_world) -> None:  # noqa: ANN001
    """Data from before completion rules: the office writes the defaults when it is opened, as
    logged changes that reach the establishments in its bundles; an establishment PC writes
    nothing itself (its bundle would name no coordinator); a rule removed later stays removed."""
    world = make_world(("PER",))
    _forget_rules(world.office)
    world.send(world.office, world["PER"])
    _forget_rules(world["PER"])
    per = _reopen(world, "PER", "peradmin")
    assert _rule_of(per, Programme, "prog-t4t") is None  # not written here
    office = _reopen(world, "office", "phr")
    assert _rule_of(office, Programme, "prog-t4t") == '{"modules_completed": "all"}'
    assert _rule_of(office, Module, "mod-t4t-01") == '{"attended_sessions": 1}'
    with office.db.session() as s:
        logged = s.execute(select(ChangeLog.fields, ChangeLog.user_id).where(
            ChangeLog.table_name == "programme", ChangeLog.row_id == "prog-t4t")
            .order_by(ChangeLog.seq.desc()).limit(1)).one()
    assert json.loads(logged[0]) == {"completion_rule": '{"modules_completed": "all"}'} and logged[1] is None
    world.send(office, per)
    assert _rule_of(per, Programme, "prog-t4t") == '{"modules_completed": "all"}'
    assert run_check(office.db).ok and run_check(per.db).ok  # every stamp in the change log
    world.send(per, office)  # accepted: nothing of PER's own about programmes
    # a rule the office removes afterwards stays removed when it is opened again
    catalogue.update(office, Programme, "prog-t4t", completion_rule=None)
    office = _reopen(world, "office", "phr")
    assert _rule_of(office, Programme, "prog-t4t") is None
