"""The peer-volunteer ladder: who is eligible for which level, sign-off, withdrawal.

Rules are JSON on each MilestoneDefinition. Vocabulary (all present conditions must hold):

- ``attended_sessions``: N sessions attended (a status that counts as attended);
- ``within_days``: ... all within a window of this many days;
- ``role_sessions``: ``{"roles": [role codes], "count": N}`` sessions attended in one of these roles;
- ``programme_completed``: a programme code: every current module attended, or a valid
  certificate for the programme.

Besides its rules, a level needs the level below it to be held (an active achievement).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from ..errors import ValidationError
from ..models import (
    Attendance,
    AttendanceRole,
    AttendanceStatus,
    Certificate,
    MilestoneAchievement,
    MilestoneDefinition,
    MilestoneEvidence,
    Module,
    Person,
    Programme,
    Session,
)
from .base import Context, change_status, get_live, parse_date, saved, text, to_record


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


def _evaluate(s, person_id: str, definition: MilestoneDefinition, ladder: Sequence[MilestoneDefinition],  # noqa: ANN001
              attended: list, held: dict) -> Eligibility:
    rules: dict[str, Any] = json.loads(definition.rules or "{}")
    unmet: list[str] = []
    evidence: list[str] = []
    below = [d for d in ladder if d.level < definition.level]
    if below:
        prev = max(below, key=lambda d: d.level)
        if prev.id not in held:
            unmet.append(f"Needs the level below first: {prev.name}.")
    if "attended_sessions" in rules:
        need = rules["attended_sessions"]
        window = rules.get("within_days")
        if window:
            best: list = []
            start = 0
            for end in range(len(attended)):
                while attended[end][1] - attended[start][1] > dt.timedelta(days=window - 1):
                    start += 1
                if end - start + 1 > len(best):
                    best = attended[start:end + 1]
            got = best
        else:
            got = attended
        if len(got) >= need:
            evidence += [a[0] for a in got[-need:]]
        else:
            within = f" within {window} days" if window else ""
            unmet.append(f"Has attended {len(got)} of {need} sessions{within}.")
    if "role_sessions" in rules:
        roles, need = set(rules["role_sessions"]["roles"]), rules["role_sessions"]["count"]
        got = [a for a in attended if a[2] in roles]
        if len(got) >= need:
            evidence += [a[0] for a in got[-need:]]
        else:
            unmet.append(f"Has {len(got)} of {need} sessions in the role of {' / '.join(sorted(roles))}.")
    if "programme_completed" in rules:
        code = rules["programme_completed"]
        programme = s.execute(select(Programme).where(Programme.code == code)).scalar_one_or_none()
        if programme is None:
            unmet.append(f"The ladder refers to an unknown programme '{code}'.")
        else:
            certified = s.execute(select(Certificate.id).where(
                Certificate.person_id == person_id, Certificate.programme_id == programme.id,
                Certificate.status == "valid", Certificate.deleted_hlc.is_(None),
            ).limit(1)).first()
            if not certified:
                modules = set(s.execute(select(Module.id).where(
                    Module.programme_id == programme.id, Module.retired.is_(False), Module.deleted_hlc.is_(None)
                )).scalars())
                done = {a[3] for a in attended if a[3] in modules}
                if not modules or done != modules:
                    unmet.append(f"Has completed {len(done)} of {len(modules)} modules of {programme.name}.")
    seen: set[str] = set()
    evidence = [e for e in evidence if not (e in seen or seen.add(e))]
    return Eligibility(definition.id, definition.level, definition.name, not unmet, unmet, evidence)


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
        return [_evaluate(s, person_id, d, ladder, attended, held) for d in ladder]


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
    with ctx.write("coordinator", "sign off milestones") as s:
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
    with ctx.write("coordinator", "withdraw milestones") as s:
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
    with ctx.write("coordinator", "correct milestones") as s:
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
