"""The conflict queue: concurrent values that lost the merge, for a person to settle.

A conflict is resolved by writing an ordinary change that names every version it settles;
it travels in bundles like any change, and every installation then drops the conflict.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm.attributes import flag_modified

from ..dates import date_wanted, parse_typed_date
from ..errors import NotFound, ValidationError
from ..models import SYNCABLE_MODELS, Installation, SyncConflict, User
from ..sync.authority import refuse_here
from ..sync.capture import RESOLVES
from ..sync.changelog import history
from ..sync.conflicts import store_conflicts
from ..sync.fold import DELETED_FIELD, fold
from ..sync.hlc import to_datetime
from ..sync.merge import try_release
from .base import Context, revive

MODELS = {m.__tablename__: m for m in SYNCABLE_MODELS}

TABLE_LABELS = {
    "person": "Person", "session": "Session", "attendance": "Register line", "certificate": "Certificate",
    "milestone_achievement": "Milestone", "person_transfer": "Transfer", "app_user": "User account",
    "referral": "Referral", "initiative": "Initiative", "programme": "Programme", "module": "Module",
}


@dataclass(frozen=True)
class Side:
    value: Any
    origin_id: str
    origin_name: str
    user_name: str | None
    when: dt.datetime  # UTC
    mine: bool  # made on this installation

    def show(self) -> str:
        if self.value is None:
            return "(empty)"
        if isinstance(self.value, dict):
            return "; ".join(f"{k.replace('_', ' ')}: {'(empty)' if v is None else v}" for k, v in self.value.items())
        return str(self.value)


@dataclass(frozen=True)
class ConflictItem:
    id: int
    table_name: str
    row_id: str
    record: str  # what the record is, for people
    field: str
    field_label: str
    current: Side  # the value that won and is shown now
    other: Side  # the concurrent value it overwrote
    detected_at: dt.datetime

    @property
    def is_delete(self) -> bool:
        return self.field == DELETED_FIELD


def count_conflicts(ctx: Context) -> int:
    with ctx.read() as s:
        return s.execute(select(func.count()).select_from(SyncConflict)).scalar_one()


def list_conflicts(ctx: Context, *, limit: int = 500) -> list[ConflictItem]:
    """Open conflicts, oldest first."""
    ctx.require("sync.read", "see sync conflicts")
    with ctx.read() as s:
        rows = s.execute(select(SyncConflict).order_by(SyncConflict.detected_at, SyncConflict.id).limit(limit)).scalars().all()
        names = {i.id: i.name for i in s.execute(select(Installation)).scalars()}
        user_ids = {u for r in rows for u in (r.winner_user, r.loser_user) if u}
        users = dict(s.execute(select(User.id, User.display_name).where(User.id.in_(user_ids))).all()) if user_ids else {}
        me = ctx.installation.id

        def side(value: str, origin: str, user: str | None, hlc: int) -> Side:
            return Side(json.loads(value)["v"], origin, names.get(origin, "another installation"),
                        users.get(user), to_datetime(hlc).replace(tzinfo=None), origin == me)

        return [
            ConflictItem(
                r.id, r.table_name, r.row_id, describe_record(s, r.table_name, r.row_id), r.field,
                "Deleted while being edited" if r.field == DELETED_FIELD else r.field.replace("_", " ").capitalize(),
                side(r.winner_value, r.winner_origin, r.winner_user, r.winner_hlc),
                side(r.loser_value, r.loser_origin, r.loser_user, r.loser_hlc), r.detected_at,
            )
            for r in rows
        ]


def describe_record(s: Any, table: str, row_id: str) -> str:
    label = TABLE_LABELS.get(table, table.replace("_", " ").capitalize())
    model = MODELS.get(table)
    obj = s.get(model, row_id) if model else None
    if obj is None:
        return f"{label} {row_id[-8:]}"
    if table == "person":
        return f"{label}: {obj.given_name} {obj.family_name}"
    if table == "session":
        return f"{label}: {obj.date:%d %b %Y} {obj.start_time} {obj.title or ''}".rstrip()
    if table == "attendance":
        person = s.get(MODELS["person"], obj.person_id)
        session = s.get(MODELS["session"], obj.session_id)
        who = f"{person.given_name} {person.family_name}" if person else "someone"
        return f"{label}: {who}, {session.date:%d %b %Y}" if session else f"{label}: {who}"
    for attr in ("name", "title", "serial", "username", "code"):
        value = getattr(obj, attr, None)
        if value:
            return f"{label}: {value}"
    return f"{label} {row_id[-8:]}"


def resolve_conflict(ctx: Context, conflict_id: int, choice: str, value: Any = None) -> None:
    """Settle a conflict: ``keep`` the current value, ``other`` (take the overwritten one), or
    ``edit`` (set ``value``). For an edit that raced a deletion: ``keep`` leaves the record
    deleted, ``other`` restores it with the edit."""
    if choice not in ("keep", "other", "edit"):
        raise ValidationError("Choose keep, other or edit.", "choice")
    with ctx.write("conflict.resolve") as s:
        c = s.get(SyncConflict, conflict_id)
        if c is None:
            raise NotFound(f"No such conflict (#{conflict_id}): it was settled already, or never existed.")
        model = MODELS[c.table_name]
        obj = s.get(model, c.row_id)
        if obj is None:
            raise NotFound("The record in conflict is not here any more.")
        refuse_here(ctx, c.table_name, {col.key: getattr(obj, col.key) for col in model.__table__.columns})
        dbapi = s.connection().connection.driver_connection
        known = fold(history(dbapi, c.table_name, c.row_id))
        if c.field == DELETED_FIELD:
            loser = json.loads(c.loser_value)["v"] or {}
            if choice == "edit":
                raise ValidationError("A deleted record can be kept deleted or restored, not edited here.", "choice")
            if choice == "keep":
                # Delete again, overwriting every head (the raced edit included).
                obj.deleted_reason = obj.deleted_reason or "deleted"
                flag_modified(obj, "deleted_reason")
                obj.deleted_hlc = -1
            else:
                revive(obj)
                for f, v in loser.items():  # the values exactly as they travelled (dates as text)
                    setattr(obj, f, _typed(model.__table__.columns[f], v))
                    # Logged even where the tombstone already shows the value: the restore is a
                    # decision about these fields, and a delete made elsewhere without seeing it
                    # must find it racing (queued), not pass over a change of the tombstone only.
                    flag_modified(obj, f)
                s.info[RESOLVES] = {(c.table_name, c.row_id): {f: known.heads.get(f, []) for f in loser}}
        else:
            column = model.__table__.columns[c.field]
            if choice == "keep":
                new = known.values.get(c.field)
            elif choice == "other":
                new = json.loads(c.loser_value)["v"]
            else:
                new = value
                if new in ("", None) and not column.nullable:
                    raise ValidationError(f"{c.field.replace('_', ' ').capitalize()} can't be empty.", "value")
            setattr(obj, c.field, _python_value(column, new))
            flag_modified(obj, c.field)
            s.info[RESOLVES] = {(c.table_name, c.row_id): {c.field: known.heads.get(c.field, [])}}
        s.flush()
        # The record as its history now folds, as every other PC computes it on import: a
        # settlement that knows every head can change other fields' winners too (a kept deletion
        # ends the race of the edits it overwrote). Where the fold can't be written (a record held
        # by an import), the queue is still brought up to date.
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        if not try_release(dbapi, c.table_name, c.row_id, now):
            store_conflicts(dbapi, c.table_name, c.row_id, fold(history(dbapi, c.table_name, c.row_id)).conflicts, now)
        s.expire_all()


def _typed(column: Any, value: Any) -> Any:
    """A value as it travels (dates as text) as the column holds it."""
    from sqlalchemy import Date

    if isinstance(column.type, Date) and isinstance(value, str):
        return dt.date.fromisoformat(value)
    return value


def _python_value(column: Any, value: Any) -> Any:
    """The typed value for ``column``, checked as a bundle's value would be."""
    from sqlalchemy import Date

    from ..sync.bundle import SCHEMA

    label = column.key.replace("_", " ").capitalize()
    if isinstance(value, str):
        value = value.strip() or None
    if isinstance(column.type, Date) and isinstance(value, str):
        try:  # typed as people write it (31/03/2026), travels as ISO
            value = parse_typed_date(value).isoformat()
        except ValueError:
            raise ValidationError(date_wanted(label), "value") from None
    check = SCHEMA[column.table.name][column.key]
    if not check(value.isoformat() if isinstance(value, dt.date) else value):
        if isinstance(column.type, Date):
            raise ValidationError(date_wanted(label), "value")
        raise ValidationError(f"{label} can't take that value (wrong kind, or too long).", "value")
    if isinstance(column.type, Date) and isinstance(value, str):
        return dt.date.fromisoformat(value)
    return value
