"""What every service shares: who is acting, permission checks, plain-value records, paging."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session as OrmSession

from ..dates import date_wanted, parse_typed_date
from ..db import Database
from ..errors import NotFound, PermissionDenied, ValidationError
from ..models import Base, Installation, LocalState, Syncable
from ..sync.capture import Actor

SAMPLE_KEY = "sample_data"  # local_state key marking a sample-data installation

ROLE_RANK = {"recorder": 1, "coordinator": 2, "administrator": 3}
ROLE_NAMES = {"recorder": "recorder", "coordinator": "coordinator", "administrator": "administrator"}


@dataclass(frozen=True)
class InstallationInfo:
    id: str
    role: str  # establishment | office
    establishment_id: str | None
    establishment_code: str | None
    name: str
    sample: bool = False  # filled with made-up sample data ("Explore with sample data")

    @property
    def is_office(self) -> bool:
        return self.role == "office"


@dataclass(frozen=True)
class UserInfo:
    id: str
    username: str
    display_name: str
    role: str
    active: bool


@dataclass
class Context:
    """An open installation and the user acting in it. Services take this first."""

    db: Database
    installation: InstallationInfo
    user: UserInfo | None = None

    @property
    def actor(self) -> Actor:
        return Actor(self.installation.id, self.user.id if self.user else None)

    def require(self, role: str, doing: str) -> None:
        """Refuse unless the signed-in user has at least ``role``."""
        if self.user is None:
            raise PermissionDenied(f"Sign in to {doing}.")
        if ROLE_RANK[self.user.role] < ROLE_RANK[role]:
            article = "an" if role[0] in "aeiou" else "a"
            raise PermissionDenied(f"Only {article} {role} can {doing}; you are signed in as a {self.user.role}.")

    @contextmanager
    def write(self, role: str, doing: str) -> Iterator[OrmSession]:
        """One transaction for one operation, after the permission check."""
        self.require(role, doing)
        with self.db.session(self.actor) as s:
            yield s

    def read(self) -> OrmSession:
        return self.db.read()


def load_installation(db: Database) -> InstallationInfo:
    from ..models import Establishment

    with db.read() as s:
        inst = s.execute(select(Installation).where(Installation.is_self.is_(True))).scalar_one_or_none()
        if inst is None:
            raise NotFound("This database has no installation record; it was not made by 'srcdesk init'.")
        code = None
        if inst.establishment_id:
            est = s.get(Establishment, inst.establishment_id)
            code = est.code if est else None
        sample = s.get(LocalState, SAMPLE_KEY) is not None
        return InstallationInfo(inst.id, inst.role, inst.establishment_id, code, inst.name, sample)


# -- records: plain, immutable snapshots of rows --------------------------------------------

_record_types: dict[type, type] = {}


def record_type(model: type[Base]) -> type:
    rtype = _record_types.get(model)
    if rtype is None:
        fields = [(c.key, Any) for c in model.__table__.columns]
        rtype = dataclasses.make_dataclass(f"{model.__name__}Record", fields, frozen=True)
        _record_types[model] = rtype
    return rtype


def to_record(obj: Base) -> Any:
    model = type(obj)
    return record_type(model)(**{c.key: getattr(obj, c.key) for c in model.__table__.columns})


def get_live(s: OrmSession, model: type[Syncable], row_id: str, what: str) -> Any:
    obj = s.get(model, row_id)
    if obj is None or obj.deleted_hlc is not None:
        raise NotFound(f"That {what} no longer exists.")
    return obj


def saved(s: OrmSession, obj: Base, values: dict[str, Any] | None = None) -> Any:
    """Set ``values`` on ``obj`` (added to the session if new), flush, and return its record."""
    for key, value in (values or {}).items():
        setattr(obj, key, value)
    if obj not in s:
        s.add(obj)
    s.flush()
    return to_record(obj)


def revive(obj: Syncable) -> None:
    """Clear a tombstone: the row is back (an explicit change, captured like any other)."""
    obj.deleted_hlc = obj.deleted_by = obj.deleted_reason = None


def change_status(obj: Syncable, what: str, current: str, new: str, reason: str) -> None:
    """Move a record that is never deleted (achievement, certificate) from ``current`` to
    ``new`` with the reason; refused if it has already left ``current``."""
    if obj.status != current:
        raise ValidationError(f"This {what} is already {obj.status}.", "status")
    obj.status, obj.status_reason = new, reason


def tombstone(obj: Syncable, reason: str) -> None:
    """Mark a row deleted; the capture hook stamps the clock and user."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Say why this is being deleted.", "reason")
    obj.deleted_reason = reason
    obj.deleted_hlc = -1  # replaced by the change's clock in the capture hook


# -- validation helpers ----------------------------------------------------------------------


def text(value: Any, label: str, field: str, *, required: bool = True, max_len: int = 200) -> str | None:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError(f"{label} must be text.", field)
    value = " ".join(value.split()) if max_len <= 250 else value.strip()
    if not value:
        if required:
            raise ValidationError(f"{label} is required.", field)
        return None
    if len(value) > max_len:
        raise ValidationError(f"{label} is too long (at most {max_len} characters).", field)
    return value


def parse_date(value: Any, label: str, field: str, *, required: bool = True) -> dt.date | None:
    if value is None or value == "":
        if required:
            raise ValidationError(f"{label} is required.", field)
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return parse_typed_date(str(value))
    except ValueError:
        raise ValidationError(date_wanted(label), field) from None


def parse_time(value: Any, label: str, field: str) -> str:
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    raw = str(value or "").strip()
    try:
        parsed = dt.time.fromisoformat(raw if len(raw) != 4 else "0" + raw)
    except ValueError:
        raise ValidationError(f"{label} must be a time like 14:30.", field) from None
    return parsed.strftime("%H:%M")


def choice(value: Any, allowed: Sequence[str] | dict, label: str, field: str) -> str:
    if value not in allowed:
        options = ", ".join(allowed)
        raise ValidationError(f"{label} must be one of: {options}.", field)
    return value


# -- keyset paging ---------------------------------------------------------------------------

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list; pass ``after`` back to get the next one."""

    items: list[T]
    after: tuple | None  # keyset cursor of the last item, None when this is the last page

    @property
    def has_more(self) -> bool:
        return self.after is not None


def keyset_page(rows: list[Any], limit: int, key: Callable[[Any], tuple]) -> tuple[list[Any], tuple | None]:
    """Rows were fetched with ``limit + 1``; trim and compute the cursor."""
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, key(rows[-1])
    return rows, None
