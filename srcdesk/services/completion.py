"""Completion rules: the one evaluator of who has completed what.

Certificates (:mod:`srcdesk.services.eligibility`) and the peer-volunteer ladder
(:mod:`srcdesk.services.ladder`) both ask it; it is pure over facts about a person (the
sessions they attended, with date, module and role; the ladder levels they hold; what they
hold a valid certificate for) and the rules of the catalogue, so the same answer comes from
one person's page and from the bulk lists over every person of an establishment.

**Attended** means an attendance (not deleted) whose status counts as attended (present,
late, left early — not excused or absent) of a session that is neither cancelled nor deleted.

**Within D days**: the first and the last of the sessions counted fall on calendar days at
most D - 1 apart (84 days: twelve weeks, a Monday to the Sunday eleven weeks later).

Rules are JSON objects; every condition present must hold.

Programmes and modules (``completion_rule``; None: no rule):

- ``{"attended_sessions": N}``: attended at least N sessions of this module (of a programme:
  of any of its modules, retired ones included);
- ``{"attended_sessions": N, "within_days": D}``: ... of which N within D days;
- ``{"modules_completed": "all"}`` (programmes only): every current (not retired) module of
  the programme completed by its own rule; a module without a rule is completed by attending
  one of its sessions. A programme without current modules is never completed.

Ladder levels (``MilestoneDefinition.rules``):

- ``attended_sessions`` / ``within_days``: as above, over sessions of anything;
- ``role_sessions``: ``{"roles": [role codes], "count": N}`` sessions attended in one of
  these roles;
- ``programme_completed``: a programme code: the programme is completed (its own rule is met;
  a programme without a rule: every current module completed), or the person holds a valid
  certificate for it.

A certificate is due (eligible) for a programme or module whose rule is met (one without a
rule is never listed: a certificate can still be issued by hand) and for a ladder level the
person holds (an active achievement), unless they already hold a valid certificate for it. A
revoked one does not count (they are eligible again); a superseded one is replaced by its
valid reissue, which does.

The default rules of the reference programmes (``resources/reference/reference.json``):

- every module of RCDT, RAT, T4T and RDA: attended 1 session. A module of these programmes is
  one taught session (or one day) delivered by a trainer, so being there is completing it;
- RCDT, T4T and RDA: every module completed. The certificate of the programme says the
  whole programme was done, and a module retired later is not asked of anyone;
- RAT: attended 1 session. Recovery Awareness Training is one session for a cohort of
  recruits; counting any session of it (rather than "every module") keeps it right if it is
  ever split into variants.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import select

from ..errors import ValidationError
from ..models import AttendanceRole, Module, Programme
from ..words import plural

ALL = "all"
COMPLETION_KEYS = {"attended_sessions", "within_days", "modules_completed"}
MAX_COUNT = 10000


class Facts(Protocol):
    """What the evaluator needs to know about one person."""

    days: list[int]  # ordinals of the days of sessions attended, sorted
    roles: dict[str, int]  # role code -> sessions attended in it
    module_days: dict[str, list[int]]  # module id -> ordinals of its sessions attended, sorted
    held: Mapping[str, Any]  # ladder level id -> its active achievement (anything)
    certified: set[str]  # ids of programmes, modules and ladder levels with a valid certificate


@dataclass(frozen=True)
class Attended:
    """One session a person attended (for the evidence of a ladder level)."""

    session_id: str
    day: int  # ordinal
    role: str  # role code
    module_id: str | None


@dataclass
class PersonFacts:
    """The facts of one person, with the sessions themselves (evidence can be named)."""

    sessions: list[Attended]  # oldest first (date, then session id)
    held: Mapping[str, Any] = field(default_factory=dict)
    certified: set[str] = field(default_factory=set)
    days: list[int] = field(init=False)
    roles: dict[str, int] = field(init=False)
    module_days: dict[str, list[int]] = field(init=False)

    def __post_init__(self) -> None:
        self.days = [a.day for a in self.sessions]
        self.roles, self.module_days = {}, {}
        for a in self.sessions:
            self.roles[a.role] = self.roles.get(a.role, 0) + 1
            if a.module_id:
                self.module_days.setdefault(a.module_id, []).append(a.day)


@dataclass(frozen=True)
class ModuleInfo:
    id: str
    programme_id: str
    code: str
    name: str
    rule: dict[str, Any] | None
    retired: bool


@dataclass(frozen=True)
class ProgrammeInfo:
    id: str
    code: str
    name: str
    rule: dict[str, Any] | None
    retired: bool
    kind: str  # programme | award (the kind of its certificate)
    current_modules: tuple[str, ...]  # not retired, not deleted
    all_modules: tuple[str, ...]  # retired ones too


@dataclass(frozen=True)
class Catalogue:
    """The programmes and modules with their rules, and the roles' names, read once per call."""

    programmes: dict[str, ProgrammeInfo]  # by id (live, not merged)
    modules: dict[str, ModuleInfo]  # by id (live, not merged)
    roles: dict[str, tuple[int, str]]  # role code -> (order, name)

    def programme_by_code(self, code: str) -> ProgrammeInfo | None:
        return next((p for p in self.programmes.values() if p.code == code), None)

    def role_words(self, codes: Sequence[str] | set[str]) -> str:
        return role_words(codes, self.roles)


def role_words(codes: Sequence[str] | set[str], roles: Mapping[str, tuple[int, str]]) -> str:
    """"helper, co-facilitator or trainer": role names (``roles``: code -> (order, name)) in the
    register's order; an unknown code as itself."""
    names = [roles.get(c, (99, c))[1].lower() for c in sorted(codes, key=lambda c: (roles.get(c, (99, c))[0], c))]
    if not names:
        return "no role"
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def describe_level_rules(rules: dict[str, Any] | str | None, roles: Mapping[str, tuple[int, str]],
                         programme_names: Mapping[str, str] | None = None) -> str:
    """A ladder level's rules in words: "6 sessions attended within 84 days; 4 sessions as helper
    or trainer; completed Training 4 Trainers" (``programme_names``: code -> name)."""
    if not isinstance(rules, dict):
        try:
            rules = json.loads(rules or "{}")
        except ValueError:
            return "(rules unreadable)"
        if not isinstance(rules, dict):
            return "(rules unreadable)"
    parts: list[str] = []
    if "attended_sessions" in rules:
        part = f"{plural(rules['attended_sessions'], 'session')} attended"
        if rules.get("within_days"):
            part += f" within {plural(rules['within_days'], 'day')}"
        parts.append(part)
    if "role_sessions" in rules:
        rs = rules["role_sessions"]
        parts.append(f"{plural(rs.get('count', 0), 'session')} as {role_words(rs.get('roles', []), roles)}")
    if "programme_completed" in rules:
        code = rules["programme_completed"]
        parts.append(f"completed {(programme_names or {}).get(code) or code}")
    if not parts:
        return "No conditions"
    words = "; ".join(parts)
    return words[0].upper() + words[1:]


def load_catalogue(s) -> Catalogue:  # noqa: ANN001
    modules = {m.id: ModuleInfo(m.id, m.programme_id, m.code, m.name, parse_rule(m.completion_rule), m.retired)
               for m in s.execute(select(Module).where(Module.deleted_hlc.is_(None), Module.merged_into.is_(None))
                                  .order_by(Module.sequence, Module.code)).scalars()}
    programmes = {}
    for p in s.execute(select(Programme).where(Programme.deleted_hlc.is_(None),
                                               Programme.merged_into.is_(None))).scalars():
        mine = [m for m in modules.values() if m.programme_id == p.id]
        programmes[p.id] = ProgrammeInfo(p.id, p.code, p.name, parse_rule(p.completion_rule), p.retired, p.kind,
                                         tuple(m.id for m in mine if not m.retired), tuple(m.id for m in mine))
    roles = {code: (order, name) for code, name, order in s.execute(
        select(AttendanceRole.code, AttendanceRole.name, AttendanceRole.sort_order))}
    return Catalogue(programmes, modules, roles)


# -- rules as data -----------------------------------------------------------------------------

def parse_rule(rule_json: str | None) -> dict[str, Any] | None:
    """A stored completion rule (None: no rule; unreadable JSON counts as no rule)."""
    if not rule_json:
        return None
    try:
        rule = json.loads(rule_json)
    except ValueError:
        return None
    return rule if isinstance(rule, dict) and rule else None


def validate_completion_rule(rule: Any, *, programme: bool) -> str | None:
    """A programme's or module's completion rule as canonical JSON (None: no rule), or a
    ValidationError saying what is wrong."""
    if rule is None or rule == "" or rule == {}:
        return None
    if isinstance(rule, str):
        try:
            rule = json.loads(rule)
        except ValueError:
            raise ValidationError("The completion rule is not valid JSON.", "completion_rule") from None
    if not isinstance(rule, dict):
        raise ValidationError("The completion rule must be a set of named conditions.", "completion_rule")
    allowed = COMPLETION_KEYS if programme else COMPLETION_KEYS - {"modules_completed"}
    unknown = set(rule) - allowed
    if unknown:
        raise ValidationError(f"Unknown condition '{sorted(unknown)[0]}' in the completion rule. "
                              f"Known: {', '.join(sorted(allowed))}.", "completion_rule")
    for key in ("attended_sessions", "within_days"):
        value = rule.get(key)
        if key in rule and (not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_COUNT):
            raise ValidationError(f"The number of {'sessions' if key == 'attended_sessions' else 'days'} must be "
                                  f"a whole number from 1 to {MAX_COUNT:,}.", "completion_rule")
    if "within_days" in rule and "attended_sessions" not in rule:
        raise ValidationError("A number of days needs a number of sessions.", "completion_rule")
    if "modules_completed" in rule:
        if rule["modules_completed"] != ALL:
            raise ValidationError("'modules_completed' can only be \"all\".", "completion_rule")
        if len(rule) > 1:
            raise ValidationError("\"Every module completed\" can't be combined with a number of sessions.",
                                  "completion_rule")
    return json.dumps(rule, sort_keys=True)


def describe_completion(rule: dict[str, Any] | str | None, *, programme: bool) -> str:
    """A completion rule in words: "Attended 6 sessions within 84 days", "Every module completed"."""
    if isinstance(rule, str) or rule is None:
        rule = parse_rule(rule)
    if not rule:
        return "No rule"
    if rule.get("modules_completed") == ALL:
        return "Every module completed"
    n = rule.get("attended_sessions", 1)
    words = f"Attended {plural(n, 'session')}" + (" of any module" if programme else "")
    if rule.get("within_days"):
        words += f" within {plural(rule['within_days'], 'day')}"
    return words


# -- the evaluator -----------------------------------------------------------------------------

def met_on(days: Sequence[int], need: int, window: int | None = None) -> int | None:
    """The day (ordinal) on which ``need`` sessions attended on ``days`` (sorted) were first
    reached, all within ``window`` days if given; None if they never were."""
    if need <= 0:
        return days[0] if days else None
    if not window:
        return days[need - 1] if len(days) >= need else None
    start = 0
    for end in range(len(days)):
        while days[end] - days[start] > window - 1:
            start += 1
        if end - start + 1 >= need:
            return days[end]
    return None


def best_window(days: Sequence[int], window: int) -> int:
    """The most sessions attended within ``window`` days."""
    best = start = 0
    for end in range(len(days)):
        while days[end] - days[start] > window - 1:
            start += 1
        best = max(best, end - start + 1)
    return best


def _attended_on(rule: dict[str, Any], days: Sequence[int]) -> int | None:
    return met_on(days, int(rule["attended_sessions"]), rule.get("within_days"))


def module_completed_on(cat: Catalogue, f: Facts, module_id: str, *, default_once: bool = True) -> int | None:
    """When the person completed the module by its rule (ordinal), or None. Without a rule, a
    module is completed by attending one of its sessions (``default_once``) or never."""
    m = cat.modules.get(module_id)
    rule = m.rule if m is not None else None
    if rule is None:
        if not default_once:
            return None
        rule = {"attended_sessions": 1}
    return _attended_on(rule, f.module_days.get(module_id, ()))


def _programme_days(p: ProgrammeInfo, f: Facts) -> list[int]:
    found = [f.module_days[m] for m in p.all_modules if m in f.module_days]
    return found[0] if len(found) == 1 else list(heapq.merge(*found))


def programme_completed_on(cat: Catalogue, f: Facts, programme_id: str, *, default_all: bool = True) -> int | None:
    """When the person completed the programme by its rule (ordinal), or None. Without a rule,
    a programme is completed when every current module is (``default_all``) or never."""
    p = cat.programmes.get(programme_id)
    if p is None:
        return None
    rule = p.rule
    if rule is None:
        if not default_all:
            return None
        rule = {"modules_completed": ALL}
    if rule.get("modules_completed") == ALL:
        if not p.current_modules:
            return None
        last = 0
        for m in p.current_modules:
            day = module_completed_on(cat, f, m)
            if day is None:
                return None
            last = max(last, day)
        return last
    if "attended_sessions" in rule:
        return _attended_on(rule, _programme_days(p, f))
    return None


@dataclass(frozen=True)
class Verdict:
    met: bool
    unmet: list[str] = field(default_factory=list)  # sentences: what is still missing
    evidence: list[str] = field(default_factory=list)  # session ids (when the facts have sessions)


def _best_window_sessions(sessions: Sequence[Attended], window: int) -> list[Attended]:
    """The first longest run of sessions within ``window`` days."""
    best: list[Attended] = []
    start = 0
    for end in range(len(sessions)):
        while sessions[end].day - sessions[start].day > window - 1:
            start += 1
        if end - start + 1 > len(best):
            best = list(sessions[start:end + 1])
    return best


def level_verdict(cat: Catalogue, f: Facts, rules: dict[str, Any], *, explain: bool = False) -> Verdict:
    """Whether the facts meet a ladder level's own rules. ``explain``: go on past the first unmet
    condition and say in words what is missing; with :class:`PersonFacts`, name the evidence."""
    unmet: list[str] = []
    evidence: list[str] = []
    sessions: list[Attended] | None = getattr(f, "sessions", None) if explain else None
    if "attended_sessions" in rules:
        need, window = int(rules["attended_sessions"]), rules.get("within_days")
        got = best_window(f.days, int(window)) if window else len(f.days)
        if got >= need:
            if sessions is not None:
                run = _best_window_sessions(sessions, int(window)) if window else sessions
                evidence += [a.session_id for a in run[-need:]]
        else:
            if not explain:
                return Verdict(False)
            within = f" within {plural(window, 'day')}" if window else ""
            unmet.append(f"Has attended {got} of {plural(need, 'session')}{within}.")
    if "role_sessions" in rules:
        roles, need = set(rules["role_sessions"]["roles"]), int(rules["role_sessions"]["count"])
        got = sum(f.roles.get(code, 0) for code in roles)
        if got >= need:
            if sessions is not None:
                evidence += [a.session_id for a in [a for a in sessions if a.role in roles][-need:]]
        else:
            if not explain:
                return Verdict(False)
            unmet.append(f"Has {got} of {plural(need, 'session')} in the role of {cat.role_words(roles)}.")
    if "programme_completed" in rules:
        code = rules["programme_completed"]
        p = cat.programme_by_code(code)
        if p is None:
            if not explain:
                return Verdict(False)
            unmet.append(f"The ladder refers to an unknown programme '{code}'.")
        elif p.id not in f.certified and programme_completed_on(cat, f, p.id) is None:
            if not explain:
                return Verdict(False)
            unmet.append(_programme_progress(cat, f, p))
    seen: set[str] = set()
    evidence = [e for e in evidence if not (e in seen or seen.add(e))]
    return Verdict(not unmet, unmet, evidence)


def _programme_progress(cat: Catalogue, f: Facts, p: ProgrammeInfo) -> str:
    rule = p.rule or {"modules_completed": ALL}
    if "attended_sessions" in rule:
        need, window = int(rule["attended_sessions"]), rule.get("within_days")
        days = _programme_days(p, f)
        got = best_window(days, int(window)) if window else len(days)
        within = f" within {plural(window, 'day')}" if window else ""
        return f"Has attended {got} of {plural(need, 'session')} of {p.name}{within}."
    done = sum(1 for m in p.current_modules if module_completed_on(cat, f, m) is not None)
    return f"Has completed {done} of {plural(len(p.current_modules), 'module')} of {p.name}."


__all__ = ["ALL", "Attended", "Catalogue", "Facts", "ModuleInfo", "PersonFacts", "ProgrammeInfo", "Verdict",
           "best_window", "describe_completion", "describe_level_rules", "level_verdict", "load_catalogue", "met_on",
           "module_completed_on", "parse_rule", "programme_completed_on", "role_words", "validate_completion_rule"]
