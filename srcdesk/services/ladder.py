"""The peer-volunteer ladder: who is eligible for which level, sign-off, withdrawal.

Rules are JSON on each MilestoneDefinition, evaluated by the one evaluator of completion rules
(:mod:`srcdesk.services.completion`, which documents the vocabulary): ``attended_sessions``,
``within_days``, ``role_sessions``, ``programme_completed``. All present conditions must hold.

Besides its rules, a level needs the level below it to be held (an active achievement).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy import text as sql_text

from ..dates import day_month_year
from ..errors import ValidationError
from ..models import (
    ActivityType,
    Attendance,
    AttendanceRole,
    AttendanceStatus,
    Certificate,
    Establishment,
    MilestoneAchievement,
    MilestoneDefinition,
    MilestoneEvidence,
    Module,
    Person,
    Session,
)
from .base import Context, Page, change_status, get_live, keyset_page, parse_date, saved, text, to_record
from .completion import Attended, Catalogue, PersonFacts, describe_level_rules, level_verdict, load_catalogue
from .people import sort_key


@dataclass(frozen=True)
class Eligibility:
    definition_id: str
    level: int
    name: str
    eligible: bool
    unmet: list[str] = field(default_factory=list)  # sentences: what is still missing
    evidence_session_ids: list[str] = field(default_factory=list)


def _attended(s, person_id: str) -> list[tuple[str, dt.date, str, str | None]]:  # noqa: ANN001
    """(session id, date, role code, module id) of sessions the person attended, oldest first."""
    return [tuple(r) for r in s.execute(
        select(Session.id, Session.date, AttendanceRole.code, Session.module_id)
        .join(Attendance, Attendance.session_id == Session.id)
        .join(AttendanceStatus, AttendanceStatus.id == Attendance.status_id)
        .join(AttendanceRole, AttendanceRole.id == Attendance.role_id)
        .where(Attendance.person_id == person_id, Attendance.deleted_hlc.is_(None),
               AttendanceStatus.counts_as_attended.is_(True), Session.deleted_hlc.is_(None),
               Session.cancelled.is_(False))
        .order_by(Session.date, Session.id)
    ).all()]


def _held_levels(s, person_id: str) -> dict[str, MilestoneAchievement]:  # noqa: ANN001
    return {
        a.definition_id: a for a in s.execute(
            select(MilestoneAchievement).where(
                MilestoneAchievement.person_id == person_id, MilestoneAchievement.status == "active",
                MilestoneAchievement.deleted_hlc.is_(None),
            )
        ).scalars()
    }


def _person_facts(s, person_id: str, attended: list, held: dict) -> PersonFacts:  # noqa: ANN001
    """One person's facts for the evaluator (:mod:`srcdesk.services.completion`)."""
    certified = set(s.execute(
        select(func.coalesce(Certificate.programme_id, Certificate.module_id, MilestoneAchievement.definition_id))
        .outerjoin(MilestoneAchievement, MilestoneAchievement.id == Certificate.achievement_id)
        .where(Certificate.person_id == person_id, Certificate.status == "valid", Certificate.deleted_hlc.is_(None))
    ).scalars()) - {None}
    return PersonFacts([Attended(sid, day.toordinal(), role, module_id) for sid, day, role, module_id in attended],
                       held, certified)


def _evaluate(s, person_id: str, definition: MilestoneDefinition, ladder: Sequence[MilestoneDefinition],  # noqa: ANN001
              attended: list, held: dict, cat: Catalogue | None = None, facts: PersonFacts | None = None) -> Eligibility:
    """One level for one person, in words (what is missing) and with the evidence."""
    cat = cat or load_catalogue(s)
    facts = facts or _person_facts(s, person_id, attended, held)
    unmet: list[str] = []
    below = [d for d in ladder if d.level < definition.level]
    if below:
        prev = max(below, key=lambda d: d.level)
        if prev.id not in held:
            unmet.append(f"Needs the level below first: {prev.name}.")
    verdict = level_verdict(cat, facts, json.loads(definition.rules or "{}"), explain=True)
    unmet += verdict.unmet
    return Eligibility(definition.id, definition.level, definition.name, not unmet, unmet, verdict.evidence)


def _evaluate_all(s, person_id: str, ladder: Sequence[MilestoneDefinition], attended: list,  # noqa: ANN001
                  held: dict) -> list[Eligibility]:
    cat, facts = load_catalogue(s), _person_facts(s, person_id, attended, held)
    return [_evaluate(s, person_id, d, ladder, attended, held, cat, facts) for d in ladder]


def _ladder(s) -> list[MilestoneDefinition]:  # noqa: ANN001
    return list(s.execute(
        select(MilestoneDefinition).where(MilestoneDefinition.retired.is_(False),
                                          MilestoneDefinition.deleted_hlc.is_(None))
        .order_by(MilestoneDefinition.level)
    ).scalars())


def progress(ctx: Context, person_id: str) -> list[Eligibility]:
    """Every level of the ladder for one person, with what is met and what is missing."""
    with ctx.read() as s:
        get_live(s, Person, person_id, "person")
        ladder, attended, held = _ladder(s), _attended(s, person_id), _held_levels(s, person_id)
        return _evaluate_all(s, person_id, ladder, attended, held)


def next_level(ctx: Context, person_id: str) -> Eligibility | None:
    """The lowest level the person does not hold yet (None at the top of the ladder)."""
    with ctx.read() as s:
        get_live(s, Person, person_id, "person")
        ladder, held = _ladder(s), _held_levels(s, person_id)
        for definition in ladder:
            if definition.id not in held:
                return _evaluate(s, person_id, definition, ladder, _attended(s, person_id), held)
    return None


def sign_off(ctx: Context, person_id: str, definition_id: str, *, achieved_on: dt.date | str,
             evidence_session_ids: Sequence[str] | None = None, notes: str | None = None) -> Any:
    """A coordinator records that a person has reached a level."""
    day = parse_date(achieved_on, "Date achieved", "achieved_on")
    if day > dt.date.today():
        raise ValidationError("A milestone can't be signed off for a future date.", "achieved_on")
    with ctx.write("milestone.signoff", "sign off milestones") as s:
        get_live(s, Person, person_id, "person")
        definition = get_live(s, MilestoneDefinition, definition_id, "ladder level")
        if definition.retired:
            raise ValidationError(f"The level '{definition.name}' is retired.", "definition_id")
        held = _held_levels(s, person_id)
        if definition_id in held:
            raise ValidationError(f"This person already holds '{definition.name}'.", "definition_id")
        attended = _attended(s, person_id)
        result = _evaluate(s, person_id, definition, _ladder(s), attended, held)
        if not result.eligible:
            raise ValidationError(f"Not yet eligible for '{definition.name}': {' '.join(result.unmet)}")
        evidence = list(evidence_session_ids) if evidence_session_ids is not None else result.evidence_session_ids
        attended_on = {a[0]: a[1] for a in attended}
        for sid in evidence:
            if sid not in attended_on:
                raise ValidationError("Evidence must be sessions this person attended.", "evidence_session_ids")
        if evidence and day < max(attended_on[sid] for sid in evidence):
            raise ValidationError("The date achieved can't be before the evidence sessions.", "achieved_on")
        achievement = MilestoneAchievement(
            person_id=person_id, definition_id=definition_id, achieved_on=day, signed_off_by=ctx.user.id,
            status="active", notes=text(notes, "Notes", "notes", required=False, max_len=2000),
        )
        s.add(achievement)
        s.flush()
        for sid in dict.fromkeys(evidence):
            s.add(MilestoneEvidence(achievement_id=achievement.id, session_id=sid))
        s.flush()
        return to_record(achievement)


def withdraw(ctx: Context, achievement_id: str, reason: str) -> Any:
    """Withdraw an achievement (kept, with the reason; never deleted)."""
    reason = text(reason, "Reason", "reason", max_len=1000)
    with ctx.write("milestone.correct", "withdraw milestones") as s:
        a = get_live(s, MilestoneAchievement, achievement_id, "achievement")
        change_status(a, "achievement", "active", "withdrawn", reason)
        return saved(s, a)


def supersede(ctx: Context, achievement_id: str, reason: str, *, achieved_on: dt.date | str,
              notes: str | None = None) -> Any:
    """Replace an achievement with a corrected one (e.g. a wrong date); the old one is kept."""
    reason = text(reason, "Reason", "reason", max_len=1000)
    day = parse_date(achieved_on, "Date achieved", "achieved_on")
    if day > dt.date.today():
        raise ValidationError("A milestone can't be signed off for a future date.", "achieved_on")
    with ctx.write("milestone.correct", "correct milestones") as s:
        old = get_live(s, MilestoneAchievement, achievement_id, "achievement")
        change_status(old, "achievement", "active", "superseded", reason)
        new = MilestoneAchievement(person_id=old.person_id, definition_id=old.definition_id, achieved_on=day,
                                   signed_off_by=ctx.user.id, status="active",
                                   notes=text(notes, "Notes", "notes", required=False, max_len=2000))
        s.add(new)
        s.flush()
        for sid in s.execute(select(MilestoneEvidence.session_id).where(
                MilestoneEvidence.achievement_id == old.id, MilestoneEvidence.deleted_hlc.is_(None))).scalars():
            s.add(MilestoneEvidence(achievement_id=new.id, session_id=sid))
        old.superseded_by_id = new.id
        s.flush()
        return to_record(new)


def achievements(ctx: Context, person_id: str) -> list[Any]:
    with ctx.read() as s:
        return [to_record(a) for a in s.execute(
            select(MilestoneAchievement).where(MilestoneAchievement.person_id == person_id,
                                               MilestoneAchievement.deleted_hlc.is_(None))
            .order_by(MilestoneAchievement.achieved_on, MilestoneAchievement.id)
        ).scalars()]


# -- the ladder for many people at once ------------------------------------------------------------
#
# Evaluating the rules person by person (``next_level``) costs a few queries per person: far
# too slow for an establishment's thousands of people. Instead, the attendance of everyone
# concerned is aggregated in a handful of queries (per person and role; the best window of
# days per person; programme modules per person) and the rules are applied in Python over
# those aggregates. ``tests/unit/test_ladder_board.py`` checks that both ways agree exactly.


@dataclass(frozen=True)
class EligibleRow:
    """Someone who meets every rule of their next level and is waiting to be signed off."""

    person_id: str
    display_name: str
    external_ref: str | None
    next_level: str  # the level's name
    level: int
    definition_id: str


@dataclass(frozen=True)
class LevelCount:
    """One rung of the ladder on the board: who is at it now, who is ready for it."""

    level: int
    definition_id: str
    name: str
    holders: int  # people whose current (highest held) level this is
    eligible: int  # people whose next level this is and who meet its rules
    description: str | None = None
    rule: str = ""


@dataclass(frozen=True)
class LevelHolder:
    """A person whose current level is the one asked for, with that achievement."""

    person_id: str
    display_name: str
    external_ref: str | None
    achievement_id: str
    achieved_on: dt.date
    signed_off_by: str  # the user's name


@dataclass(frozen=True)
class EvidenceRow:
    """One session on a person's record, as evidence for the ladder."""

    session_id: str
    date: dt.date
    what: str
    establishment_code: str | None
    status: str
    role: str
    counts: bool  # attended (a status that counts, session not cancelled)
    evidence_for: str  # names of the levels this session evidences ("" if none)


@dataclass(frozen=True)
class AchievementRow:
    """An achievement in any state (active, superseded, withdrawn), for the person's history."""

    id: str
    definition_id: str
    level: int
    level_name: str
    achieved_on: dt.date
    signed_off_by: str  # the user's name
    status: str
    status_reason: str | None
    notes: str | None
    evidence_count: int


@dataclass(frozen=True)
class LevelProgress:
    """One level of the ladder for one person."""

    definition_id: str
    level: int
    name: str
    rule: str  # the rule in words
    state: str  # "held" | "eligible" | "not yet"
    achievement_id: str | None  # the active achievement, when held
    achieved_on: dt.date | None
    signed_off_by: str | None
    progress: str  # what is met or missing, in words
    evidence_session_ids: tuple[str, ...]


@dataclass(frozen=True)
class PersonLadder:
    """Everything the ladder knows about one person."""

    person_id: str
    display_name: str
    external_ref: str | None
    establishment_code: str | None
    current_level: str | None  # name of the highest level held
    levels: list[LevelProgress]
    achievements: list[AchievementRow]
    evidence: list[EvidenceRow]


@dataclass(frozen=True)
class SignOffPreview:
    """What the sign-off dialog shows before a coordinator signs a level off."""

    person_id: str
    display_name: str
    definition_id: str
    level: int
    level_name: str
    rule: str
    eligible: bool
    unmet: list[str]
    held: bool
    evidence: list[EvidenceRow]  # the sessions that will be recorded as evidence
    earliest_date: dt.date | None  # the date achieved can't be before the latest evidence session


def describe_rules(s, rules_json: str | None) -> str:  # noqa: ANN001
    """A level's rules in words: "6 sessions attended within 84 days; 4 sessions as helper or trainer"."""
    cat = load_catalogue(s)
    names = {p.code: p.name for p in cat.programmes.values()}
    return describe_level_rules(rules_json, cat.roles, names)


def _scope(ctx: Context, establishment_id: str | None) -> str | None:
    """The establishment whose people are meant: the one asked for, else this installation's
    (None on the office installation: everyone)."""
    return establishment_id if establishment_id is not None else ctx.installation.establishment_id


@dataclass
class _Facts:
    """What the ladder needs to know about one person, gathered once and kept up to date."""

    name: tuple[str, str]  # given, family
    external_ref: str | None
    search_name: str  # the order it is listed in (srcdesk.services.people.sort_key)
    establishment_id: str | None
    days: list[int] = field(default_factory=list)  # ordinals of the dates of sessions attended, sorted
    roles: dict[str, int] = field(default_factory=dict)  # role code -> sessions attended in it
    module_days: dict[str, list[int]] = field(default_factory=dict)  # module -> ordinals attended, sorted
    held: dict[str, tuple[str, dt.date, str]] = field(default_factory=dict)  # level -> (achievement, date, by)
    certified: set[str] = field(default_factory=set)  # programmes, modules and levels with a valid certificate


@dataclass
class _Scope:
    seq: int
    people: dict[str, _Facts]
    ladder_key: tuple = ()  # the ladder the eligibility below was worked out for
    eligible: dict[str, str] = field(default_factory=dict)  # person -> next level's id, when eligible
    dirty: set[str] | None = None  # people to evaluate again (None: everyone)
    # Certificates due (srcdesk.services.eligibility), kept like ``eligible``: person -> what
    # they are due, worked out for the rules ``due_key``; ``due_dirty``: people to work out again.
    due_key: tuple = ()
    due: dict[str, list[tuple]] = field(default_factory=dict)
    due_dirty: set[str] | None = None
    due_sorted: dict[Any, list[tuple]] = field(default_factory=dict)  # kind -> sorted rows
    holders: dict[tuple, list[tuple[str, str]]] = field(default_factory=dict)  # (level id, level) -> keys


# The facts of the people in a scope, per open database, refreshed from the change log: only the
# people touched by changes since the last call are read again. Reference data changing (roles,
# statuses, modules, programmes) or a large import starts the scope afresh.
_cache: weakref.WeakKeyDictionary[Any, dict[str | None, _Scope]] = weakref.WeakKeyDictionary()
_cache_lock = threading.RLock()
_RESET_TABLES = {"attendance_status", "attendance_role", "module", "programme"}
_MAX_DELTA = 5000


def _people_filter(est: str | None, ids: Sequence[str] | None) -> tuple[str, dict[str, Any]]:
    if ids is not None:
        return "p.id IN (SELECT value FROM json_each(:ids))", {"ids": json.dumps(list(ids))}
    if est:
        return "p.establishment_id = :est", {"est": est}
    return "1 = 1", {}


def _load_facts(s, est: str | None, ids: Sequence[str] | None = None) -> dict[str, _Facts]:  # noqa: ANN001
    """Facts of the live people in scope (of those of ``ids`` still in scope, if given)."""
    where, params = _people_filter(est, ids)
    if ids is not None and est:
        where += " AND p.establishment_id = :est"
        params["est"] = est
    people: dict[str, _Facts] = {
        pid: _Facts((given, family), ref_, sort_key(given, family), pest)
        for pid, given, family, ref_, _search, pest in s.execute(sql_text(
            "SELECT p.id, p.given_name, p.family_name, p.external_ref, p.search_name, p.establishment_id "
            f"FROM person p WHERE p.deleted_hlc IS NULL AND {where}"), params)}
    role_codes = dict(s.execute(select(AttendanceRole.id, AttendanceRole.code)).all())
    # Two queries rather than one join: each session is read once, not once per person on it.
    # They can return a hundred thousand rows: read through the driver, without ORM rows.
    raw = s.connection().connection.driver_connection
    sessions = {sid: (dt.date.fromisoformat(day).toordinal(), module_id) for sid, day, module_id in raw.execute(
        "SELECT se.id, se.date, se.module_id FROM (SELECT DISTINCT a.session_id AS sid FROM person p "
        f"JOIN attendance a ON a.person_id = p.id WHERE p.deleted_hlc IS NULL AND {where}) x "
        "JOIN session se ON se.id = x.sid WHERE se.deleted_hlc IS NULL AND se.cancelled = 0", params)}
    for pid, session_id, role_id in raw.execute(
            "SELECT a.person_id, a.session_id, a.role_id FROM person p JOIN attendance a ON a.person_id = p.id "
            f"WHERE p.deleted_hlc IS NULL AND {where} AND a.deleted_hlc IS NULL "
            "AND a.status_id IN (SELECT id FROM attendance_status WHERE counts_as_attended = 1)", params):
        f = people.get(pid)
        session = sessions.get(session_id)
        if f is None or session is None:
            continue
        f.days.append(session[0])
        code = role_codes.get(role_id, role_id)
        f.roles[code] = f.roles.get(code, 0) + 1
        if session[1]:
            f.module_days.setdefault(session[1], []).append(session[0])
    for f in people.values():
        f.days.sort()
        for days in f.module_days.values():
            days.sort()
    for pid, did, aid, day, by in s.execute(sql_text(
            "SELECT a.person_id, a.definition_id, a.id, a.achieved_on, a.signed_off_by "
            "FROM person p JOIN milestone_achievement a ON a.person_id = p.id "
            f"WHERE p.deleted_hlc IS NULL AND {where} AND a.status = 'active' AND a.deleted_hlc IS NULL "
            "ORDER BY a.achieved_on, a.id"), params):
        if pid in people:
            people[pid].held[did] = (aid, dt.date.fromisoformat(day), by)
    for pid, what in s.execute(sql_text(
            "SELECT c.person_id, coalesce(c.programme_id, c.module_id, ma.definition_id) "
            "FROM person p JOIN certificate c ON c.person_id = p.id "
            "LEFT JOIN milestone_achievement ma ON ma.id = c.achievement_id "
            f"WHERE p.deleted_hlc IS NULL AND {where} AND c.status = 'valid' AND c.deleted_hlc IS NULL"), params):
        if pid in people and what is not None:
            people[pid].certified.add(what)
    return people


def _touched_people(s, changes: Sequence[tuple[str, str]]) -> set[str] | None:  # noqa: ANN001
    """The people whose facts the changes may alter; None: start afresh."""
    by_table: dict[str, list[str]] = {}
    for table, row_id in changes:
        by_table.setdefault(table, []).append(row_id)
    if _RESET_TABLES & set(by_table):
        return None
    people = set(by_table.get("person", ()))
    for table, column in (("attendance", "id"), ("session", "session_id"), ("milestone_achievement", "id"),
                          ("certificate", "id")):
        if table in by_table:
            source = "attendance" if table == "session" else table
            people.update(s.execute(sql_text(
                f"SELECT person_id FROM {source} WHERE {column} IN (SELECT value FROM json_each(:ids))"),
                {"ids": json.dumps(by_table[table])}).scalars())
    return people


def _scope_facts(ctx: Context, s, est: str | None) -> dict[str, _Facts]:  # noqa: ANN001
    """The facts of everyone in scope, from the cache brought up to date (or loaded afresh)."""
    with _cache_lock:  # one loader at a time: a second caller waits, then reuses the work
        seq = s.execute(sql_text("SELECT coalesce(max(seq), 0) FROM change_log")).scalar_one()
        scopes = _cache.setdefault(ctx.db, {})
        scope = scopes.get(est)
        if scope is not None and scope.seq != seq:
            changes = s.execute(sql_text(
                "SELECT table_name, row_id FROM change_log WHERE seq > :seq ORDER BY seq LIMIT :n"),
                {"seq": scope.seq, "n": _MAX_DELTA + 1}).all()
            touched = None if len(changes) > _MAX_DELTA else _touched_people(s, [tuple(c) for c in changes])
            if touched is None:
                scope = None
            else:
                fresh = _load_facts(s, est, sorted(touched)) if touched else {}
                for pid in touched:
                    scope.people.pop(pid, None)
                scope.people.update(fresh)
                scope.seq = seq
                scope.holders.clear()
                if scope.dirty is not None:
                    scope.dirty |= touched
                if scope.due_dirty is not None:
                    scope.due_dirty |= touched
                if touched:
                    scope.due_sorted.clear()
        if scope is None:
            scope = _Scope(seq, _load_facts(s, est))
            scopes[est] = scope
        return scope


def _scope_eligible(ctx: Context, s, est: str | None,  # noqa: ANN001
                    ladder: Sequence[MilestoneDefinition]) -> tuple[dict[str, _Facts], dict[str, MilestoneDefinition]]:
    """The people in scope and, of them, who is eligible for which next level (kept with the
    facts, and worked out again only for the people changed since, or all if the ladder changed)."""
    scope = _scope_facts(ctx, s, est)
    with _cache_lock:
        key = tuple((d.id, d.level, d.rules) for d in ladder)
        if scope.ladder_key != key or scope.dirty is None:
            scope.eligible = {pid: d.id for pid, d in _eligible_map(s, scope.people, ladder).items()}
            scope.ladder_key = key
        elif scope.dirty:
            for pid in scope.dirty:
                scope.eligible.pop(pid, None)
            some = {pid: scope.people[pid] for pid in scope.dirty if pid in scope.people}
            scope.eligible.update({pid: d.id for pid, d in _eligible_map(s, some, ladder).items()})
        scope.dirty = set()
        by_id = {d.id: d for d in ladder}
        return scope.people, {pid: by_id[did] for pid, did in scope.eligible.items()}


def _next_level_of(f: _Facts, ladder: Sequence[MilestoneDefinition]) -> MilestoneDefinition | None:
    return next((d for d in ladder if d.id not in f.held), None)


def _eligible_map(s, people: dict[str, _Facts],  # noqa: ANN001
                  ladder: Sequence[MilestoneDefinition]) -> dict[str, MilestoneDefinition]:
    """person id -> next level, for the people who meet every rule of their next level.

    The level below is always held (the next level is the lowest one not held), so only the
    level's own rules are checked, over the facts gathered for everyone at once.
    """
    cat = load_catalogue(s)
    rules = {d.id: json.loads(d.rules or "{}") for d in ladder}
    out: dict[str, MilestoneDefinition] = {}
    for pid, f in people.items():
        d = _next_level_of(f, ladder)
        if d is not None and level_verdict(cat, f, rules[d.id]).met:
            out[pid] = d
    return out


def _eligible_rows(people: dict[str, _Facts], eligible: dict[str, MilestoneDefinition],
                   limit: int | None = None) -> list[EligibleRow]:
    """Ordered by level, then name."""
    levels = {d.id: d.level for d in eligible.values()}
    order = sorted(eligible, key=lambda pid: (levels[eligible[pid].id], people[pid].search_name, pid))[:limit]
    return [EligibleRow(pid, " ".join(people[pid].name), people[pid].external_ref, eligible[pid].name,
                        eligible[pid].level, eligible[pid].id) for pid in order]


def eligible_people(ctx: Context, *, establishment_id: str | None = None, definition_id: str | None = None,
                    limit: int = 50) -> list[EligibleRow]:
    """People who meet every rule of their next level (ordered by level, then name).

    ``establishment_id`` None means this installation's establishment (everyone, on the
    office installation). ``definition_id`` keeps only the people ready for that level.
    """
    est = _scope(ctx, establishment_id)
    with ctx.read() as s:
        people, eligible = _scope_eligible(ctx, s, est, _ladder(s))
    if definition_id is not None:
        eligible = {pid: d for pid, d in eligible.items() if d.id == definition_id}
    return _eligible_rows(people, eligible, max(0, limit))


def eligible_for_level(ctx: Context, definition_id: str, *, establishment_id: str | None = None,
                       after: tuple | None = None, limit: int = 100) -> Page[EligibleRow]:
    """People ready to be signed off at one level, by name, keyset-paged by (search name, id)."""
    limit = max(1, min(limit, 1000))
    est = _scope(ctx, establishment_id)
    with ctx.read() as s:
        people, eligible = _scope_eligible(ctx, s, est, _ladder(s))
        eligible = {pid: d for pid, d in eligible.items() if d.id == definition_id}
    keys = sorted((people[pid].search_name, pid) for pid in eligible)
    if after:
        keys = [k for k in keys if k > tuple(after)]
    keys, cursor = keyset_page(keys[:limit + 1], limit, lambda k: k)
    return Page([_eligible_rows(people, {pid: eligible[pid]})[0] for _, pid in keys], cursor)


def _current_level(f: _Facts, levels: dict[str, int]) -> int | None:
    return max((levels.get(did, 0) for did in f.held), default=None)


def ladder_board(ctx: Context, *, establishment_id: str | None = None) -> list[LevelCount]:
    """Each level of the ladder with how many people are at it and how many are ready for it."""
    est = _scope(ctx, establishment_id)
    with ctx.read() as s:
        ladder = _ladder(s)
        people, eligible = _scope_eligible(ctx, s, est, ladder)
        levels = dict(s.execute(select(MilestoneDefinition.id, MilestoneDefinition.level)).all())
        holders: dict[str, int] = {}
        for f in people.values():
            top = _current_level(f, levels)
            for did in f.held:
                if levels.get(did) == top:
                    holders[did] = holders.get(did, 0) + 1
        ready: dict[str, int] = {}
        for d in eligible.values():
            ready[d.id] = ready.get(d.id, 0) + 1
        return [LevelCount(d.level, d.id, d.name, holders.get(d.id, 0), ready.get(d.id, 0), d.description,
                           describe_rules(s, d.rules)) for d in ladder]


def people_at_level(ctx: Context, definition_id: str, *, establishment_id: str | None = None,
                    after: tuple | None = None, limit: int = 100) -> Page[LevelHolder]:
    """People whose current level (highest active achievement) is this one; by name, keyset-paged
    by (search name, id)."""
    limit = max(1, min(limit, 1000))
    est = _scope(ctx, establishment_id)
    with ctx.read() as s:
        definition = get_live(s, MilestoneDefinition, definition_id, "ladder level")
        scope = _scope_facts(ctx, s, est)
        people = scope.people
        levels = dict(s.execute(select(MilestoneDefinition.id, MilestoneDefinition.level)).all())
        with _cache_lock:
            cache_key = (definition_id, tuple(sorted(levels.items())))
            keys = scope.holders.get(cache_key)
            if keys is None:
                keys = scope.holders[cache_key] = sorted(
                    (f.search_name, pid) for pid, f in people.items()
                    if definition_id in f.held and _current_level(f, levels) == definition.level)
        if after:
            keys = [k for k in keys if k > tuple(after)]
        keys, cursor = keyset_page(keys[:limit + 1], limit, lambda k: k)
        users = _user_names(s)
    items = []
    for _, pid in keys:
        f = people[pid]
        aid, day, by = f.held[definition_id]
        items.append(LevelHolder(pid, " ".join(f.name), f.external_ref, aid, day, users.get(by, "")))
    return Page(items, cursor)


def _register_rows(s, person_id: str) -> list[Any]:  # noqa: ANN001
    return s.execute(
        select(Session.id, Session.date, func.coalesce(Session.title, Module.name, ActivityType.name).label("what"),
               Establishment.code, AttendanceStatus.name.label("status"), AttendanceRole.name.label("role"),
               AttendanceStatus.counts_as_attended, Session.cancelled)
        .join(Attendance, Attendance.session_id == Session.id)
        .join(AttendanceStatus, AttendanceStatus.id == Attendance.status_id)
        .join(AttendanceRole, AttendanceRole.id == Attendance.role_id)
        .outerjoin(Module, Module.id == Session.module_id)
        .outerjoin(ActivityType, ActivityType.id == Session.activity_type_id)
        .outerjoin(Establishment, Establishment.id == Session.establishment_id)
        .where(Attendance.person_id == person_id, Attendance.deleted_hlc.is_(None), Session.deleted_hlc.is_(None))
        .order_by(Session.date.desc(), Session.start_time.desc(), Session.id.desc())
    ).all()


def _evidence_rows(rows: Sequence[Any], evidence_for: dict[str, list[str]]) -> list[EvidenceRow]:
    return [EvidenceRow(r.id, r.date, r.what or "", r.code, r.status, r.role,
                        bool(r.counts_as_attended) and not r.cancelled, ", ".join(evidence_for.get(r.id, [])))
            for r in rows]


def _user_names(s) -> dict[str, str]:  # noqa: ANN001
    from ..models import User

    return dict(s.execute(select(User.id, User.display_name)).all())


def person_ladder(ctx: Context, person_id: str) -> PersonLadder:
    """One person's ladder: each level held, ready or not yet (and why), every achievement
    (also withdrawn and superseded ones), and the sessions behind it all."""
    with ctx.read() as s:
        person = get_live(s, Person, person_id, "person")
        est_code = s.get(Establishment, person.establishment_id).code if person.establishment_id else None
        ladder, attended, held = _ladder(s), _attended(s, person_id), _held_levels(s, person_id)
        users = _user_names(s)
        definitions = {d.id: d for d in s.execute(select(MilestoneDefinition)).scalars()}
        all_achievements = list(s.execute(
            select(MilestoneAchievement).where(MilestoneAchievement.person_id == person_id,
                                               MilestoneAchievement.deleted_hlc.is_(None))
            .order_by(MilestoneAchievement.achieved_on.desc(), MilestoneAchievement.id.desc())).scalars())
        evidence_of: dict[str, list[str]] = {}
        for aid, sid in s.execute(
                select(MilestoneEvidence.achievement_id, MilestoneEvidence.session_id)
                .where(MilestoneEvidence.achievement_id.in_([a.id for a in all_achievements]),
                       MilestoneEvidence.deleted_hlc.is_(None))):
            evidence_of.setdefault(aid, []).append(sid)
        levels: list[LevelProgress] = []
        evidence_for: dict[str, list[str]] = {}
        for d, result in zip(ladder, _evaluate_all(s, person_id, ladder, attended, held), strict=True):
            a = held.get(d.id)
            if a is not None:
                sessions = evidence_of.get(a.id, [])
                levels.append(LevelProgress(
                    d.id, d.level, d.name, describe_rules(s, d.rules), "held", a.id, a.achieved_on,
                    users.get(a.signed_off_by, ""), f"Held since {day_month_year(a.achieved_on)}", tuple(sessions)))
            else:
                sessions = result.evidence_session_ids if result.eligible else []
                levels.append(LevelProgress(
                    d.id, d.level, d.name, describe_rules(s, d.rules), "eligible" if result.eligible else "not yet",
                    None, None, None, "Meets every rule: ready to be signed off." if result.eligible
                    else " ".join(sorted(result.unmet, key=lambda u: u.startswith("Needs the level below"))),
                    tuple(sessions)))
            for sid in sessions:
                evidence_for.setdefault(sid, []).append(d.name)
        achievements_ = [AchievementRow(
            a.id, a.definition_id, definitions[a.definition_id].level if a.definition_id in definitions else 0,
            definitions[a.definition_id].name if a.definition_id in definitions else a.definition_id,
            a.achieved_on, users.get(a.signed_off_by, ""), a.status, a.status_reason, a.notes,
            len(evidence_of.get(a.id, []))) for a in all_achievements]
        current = max((definitions[did] for did in held if did in definitions), key=lambda d: d.level, default=None)
        return PersonLadder(person.id, f"{person.given_name} {person.family_name}", person.external_ref, est_code,
                            current.name if current else None, levels, achievements_,
                            _evidence_rows(_register_rows(s, person_id), evidence_for))


def evidence(ctx: Context, person_id: str) -> list[EvidenceRow]:
    """Every session on the person's record, newest first, with status, role and which levels
    it evidences (held levels: the sessions recorded at sign-off; the next level: the sessions
    that meet its rules now)."""
    return person_ladder(ctx, person_id).evidence


def signoff_preview(ctx: Context, person_id: str, definition_id: str) -> SignOffPreview:
    """What signing a person off at a level would record, and whether they are eligible."""
    with ctx.read() as s:
        person = get_live(s, Person, person_id, "person")
        definition = get_live(s, MilestoneDefinition, definition_id, "ladder level")
        attended, held = _attended(s, person_id), _held_levels(s, person_id)
        result = _evaluate(s, person_id, definition, _ladder(s), attended, held)
        ids = set(result.evidence_session_ids)
        rows = [r for r in _register_rows(s, person_id) if r.id in ids]
        dates = [r.date for r in rows]
        return SignOffPreview(
            person.id, f"{person.given_name} {person.family_name}", definition.id, definition.level, definition.name,
            describe_rules(s, definition.rules), result.eligible and definition_id not in held, list(result.unmet),
            definition_id in held, _evidence_rows(rows, {sid: [definition.name] for sid in ids}),
            max(dates) if dates else None)
