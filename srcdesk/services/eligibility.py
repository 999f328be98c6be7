"""Who is due a certificate and does not hold it yet.

The rules are the catalogue's (:mod:`srcdesk.services.completion`, the one evaluator); the
facts about people are the ladder's bulk facts (:func:`srcdesk.services.ladder._scope_facts`),
kept per open database and brought up to date from the change log, so listing everyone of a
decade at the office reads only what changed since the last time.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ..errors import ValidationError
from ..models import Establishment, MilestoneDefinition
from .base import Context, Page, keyset_page
from .completion import Catalogue, Facts, load_catalogue, module_completed_on, programme_completed_on
from .ladder import _cache_lock, _scope, _scope_facts

KINDS = ("programme", "award", "module", "milestone")  # the order rows of one person come in


@dataclass(frozen=True)
class EligibleCertificate:
    """A certificate someone is due: they meet its rule and hold no valid certificate for it."""

    person_id: str
    display_name: str
    external_ref: str | None
    establishment_id: str | None  # the person's
    establishment_code: str | None
    kind: str  # programme | award | module | milestone (as srcdesk.services.certificates.issue takes it)
    award_code: str  # the programme's, module's or ladder level's code
    title: str  # its name
    programme_id: str | None
    module_id: str | None
    achievement_id: str | None  # the active achievement, for a ladder level
    completed_on: dt.date  # when the rule was met (a level: the date it was achieved)

    @property
    def key(self) -> tuple:
        """Where it comes in the list (also the paging cursor)."""
        return (self.display_sort, self.person_id, KINDS.index(self.kind), self.award_code)

    display_sort: str = ""  # the person's sort name (srcdesk.services.people.sort_key)


def due_for(cat: Catalogue, f: Facts, levels: dict[str, MilestoneDefinition]) -> list[tuple]:
    """What one person is due: (kind, code, title, programme id, module id, achievement id,
    date completed), by the one evaluator. ``f.held``: level id -> (achievement id, date, …)."""
    out: list[tuple] = []
    for p in cat.programmes.values():
        if p.retired or p.rule is None or p.id in f.certified:
            continue
        day = programme_completed_on(cat, f, p.id, default_all=False)
        if day is not None:
            out.append((p.kind if p.kind in KINDS else "programme", p.code, p.name, p.id, None, None,
                        dt.date.fromordinal(day)))
    for module_id in f.module_days:
        m = cat.modules.get(module_id)
        if m is None or m.retired or m.rule is None or module_id in f.certified:
            continue
        p = cat.programmes.get(m.programme_id)
        if p is None or p.retired:
            continue
        day = module_completed_on(cat, f, module_id, default_once=False)
        if day is not None:
            out.append(("module", m.code, m.name, None, m.id, None, dt.date.fromordinal(day)))
    for definition_id, held in f.held.items():
        d = levels.get(definition_id)
        if d is None or definition_id in f.certified:
            continue
        achievement_id, achieved_on = held[0], held[1]
        out.append(("milestone", d.code, d.name, None, None, achievement_id, achieved_on))
    return out


def eligible_certificates(ctx: Context, *, establishment_id: str | None = None, kind: str | None = None,
                          after: tuple | None = None, limit: int = 100) -> Page[EligibleCertificate]:
    """People who meet a completion rule (a programme's, a module's, or hold a ladder level) and
    hold no valid certificate for it; by person (name), then programme, module, level.

    ``establishment_id`` None means this installation's establishment (everyone, on the office
    installation). ``kind`` keeps one kind (programme, award, module, milestone). Keyset-paged:
    pass the page's ``after`` back for the next one. Any signed-in role may read it.
    """
    if kind is not None and kind not in KINDS:
        raise ValidationError(f"Unknown kind of certificate '{kind}'. Known: {', '.join(KINDS)}.", "kind")
    limit = max(1, min(limit, 10000))
    est = _scope(ctx, establishment_id)
    with ctx.read() as s:
        cat = load_catalogue(s)
        levels = {d.id: d for d in s.execute(select(MilestoneDefinition).where(
            MilestoneDefinition.retired.is_(False), MilestoneDefinition.deleted_hlc.is_(None))).scalars()}
        codes = dict(s.execute(select(Establishment.id, Establishment.code)).all())
        with _cache_lock:  # the facts are brought up to date in place: not while being read
            scope = _scope_facts(ctx, s, est)
            rows = _due_sorted(scope, cat, levels, kind)
            people = {pid: scope.people[pid] for pid in {r[1] for r in _after(rows, after)[:limit + 1]}}
    rows = _after(rows, after)
    rows, cursor = keyset_page(rows[:limit + 1], limit, lambda r: r[0])
    items = []
    for _, pid, (kind_, code, title, programme_id, module_id, achievement_id, day) in rows:
        f = people[pid]
        items.append(EligibleCertificate(pid, " ".join(f.name), f.external_ref, f.establishment_id,
                                         codes.get(f.establishment_id), kind_, code, title, programme_id, module_id,
                                         achievement_id, day, f.search_name))
    return Page(items, cursor)


def _after(rows: list[tuple], after: tuple | None) -> list[tuple]:
    if not after:
        return rows
    return rows[bisect.bisect_right(rows, tuple(after), key=lambda r: r[0]):]


def _due_sorted(scope: Any, cat: Catalogue, levels: dict[str, MilestoneDefinition], kind: str | None) -> list[tuple]:
    """Every certificate due in the scope, sorted: (key, person id, due). Worked out again only
    for the people changed since the last time (everyone if the rules changed)."""
    key = (_signature(cat), tuple(sorted((d.id, d.code, d.name) for d in levels.values())))
    if scope.due_key != key or scope.due_dirty is None:
        scope.due = {pid: due for pid, f in scope.people.items() if (due := _due(cat, f, levels))}
        scope.due_key, scope.due_sorted = key, {}
    elif scope.due_dirty:
        for pid in scope.due_dirty:
            scope.due.pop(pid, None)
            f = scope.people.get(pid)
            if f is not None and (due := _due(cat, f, levels)):
                scope.due[pid] = due
        scope.due_sorted = {}
    scope.due_dirty = set()
    rows = scope.due_sorted.get(kind)
    if rows is None:
        rows = scope.due_sorted[kind] = sorted(
            ((scope.people[pid].search_name, pid, KINDS.index(d[0]), d[1]), pid, d)
            for pid, due in scope.due.items() for d in due if kind is None or d[0] == kind)
    return rows


def _due(cat: Catalogue, f: Facts, levels: dict[str, MilestoneDefinition]) -> list[tuple]:
    return due_for(cat, f, levels) if f.module_days or f.held else []


def _signature(cat: Catalogue) -> tuple:
    """What of the catalogue the certificates due depend on."""
    return (tuple((p.id, p.code, p.name, p.kind, p.retired, json.dumps(p.rule, sort_keys=True), p.current_modules,
                   p.all_modules) for p in cat.programmes.values()),
            tuple((m.id, m.code, m.name, m.retired, m.programme_id, json.dumps(m.rule, sort_keys=True))
                  for m in cat.modules.values()))


def establishment_by_code(ctx: Context, code: str) -> str:
    """The id of the establishment with this code (e.g. ``PER``), for the command line."""
    with ctx.read() as s:
        found = s.execute(select(Establishment.id).where(Establishment.code == code.strip().upper(),
                                                         Establishment.merged_into.is_(None))).scalar_one_or_none()
    if found is None:
        raise ValidationError(f"Unknown establishment code '{code}'.", "establishment")
    return found


def all_eligible_certificates(ctx: Context, *, establishment_id: str | None = None,
                              kind: str | None = None) -> list[EligibleCertificate]:
    """Every page of :func:`eligible_certificates` (for the command line and batch issue)."""
    out: list[EligibleCertificate] = []
    after = None
    while True:
        page = eligible_certificates(ctx, establishment_id=establishment_id, kind=kind, after=after, limit=10000)
        out += page.items
        if not page.has_more:
            return out
        after = page.after


__all__ = ["EligibleCertificate", "all_eligible_certificates", "due_for", "eligible_certificates",
           "establishment_by_code"]
