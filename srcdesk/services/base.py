"""What every service shares: who is acting, permission checks, plain-value records, paging."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session as OrmSession

from ..dates import date_wanted, parse_typed_date
from ..db import Database
from ..errors import NotFound, PermissionDenied, ValidationError
from ..models import Base, Installation, LocalState, Syncable, User
from ..sync.capture import Actor
from . import permissions
from .permissions import a_role, role_allows

SAMPLE_KEY = "sample_data"  # local_state key marking a sample-data installation

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


@dataclass(frozen=True, eq=False)
class Context:
    """An open installation and the user acting in it. Services take this first.

    Frozen: one sign-in is one Context (:meth:`signed_in` makes the next one), so work queued
    with it runs as the user who queued it or not at all, never as whoever signs in next.
    Permissions come from the one table in :mod:`srcdesk.services.permissions`; services ask
    for an action (``ctx.write("person.delete")``), which re-reads the user's role and whether
    the account is still active from the database (a demoted or disabled user is refused at
    once); the UI asks :meth:`can` (the role at sign-in, no database) to offer or grey out.
    """

    db: Database
    installation: InstallationInfo
    user: UserInfo | None = None

    def signed_in(self, user: UserInfo | None) -> Context:
        """The same open installation with ``user`` acting (None: signed out): a new, plain
        Context (nothing else a subclass carries, e.g. a new installation's recovery key)."""
        return Context(self.db, self.installation, user)

    @property
    def actor(self) -> Actor:
        return Actor(self.installation.id, self.user.id if self.user else None)

    def can(self, action_name: str) -> bool:
        """Whether the signed-in user's role (as at sign-in) allows ``action_name``; for the UI."""
        return role_allows(self.user.role if self.user else None, action_name)

    def refusal(self, action_name: str, doing: str | None = None) -> str:
        """The sentence the services would refuse ``action_name`` with ("" if :meth:`can`); for
        the UI's tooltips and notes, so they say what the services say."""
        try:
            self._refuse_unless(action_name, doing, self.user.role if self.user else None)
        except PermissionDenied as refused:
            return str(refused)
        return ""

    def _refuse_unless(self, action_name: str, doing: str | None, role: str | None) -> None:
        needed = permissions.action(action_name)
        doing = doing or needed.doing
        if self.user is None:
            raise PermissionDenied(f"Sign in to {doing}.")
        if not role_allows(role, action_name):
            raise PermissionDenied(f"Only {a_role(needed.role)} can {doing}; you are signed in as {a_role(role)}.")

    def _current_role(self, s: OrmSession) -> str:
        """The acting user's role now, read in ``s``; refused if the account was disabled."""
        assert self.user is not None
        row = s.get(User, self.user.id)
        if row is None or row.deleted_hlc is not None or not row.active:
            raise PermissionDenied("Your account has been disabled; ask an administrator.")
        return row.role

    def require(self, action_name: str, doing: str | None = None) -> None:
        """Refuse unless the signed-in user may do ``action_name`` (role and active flag re-read:
        a user promoted or demoted since signing in counts as what they are now)."""
        if self.user is None:
            self._refuse_unless(action_name, doing, None)
        with self.db.read() as s:
            self._refuse_unless(action_name, doing, self._current_role(s))

    def require_user(self, doing: str = "see this") -> None:
        """Refuse unless someone is signed in (reads that show personal data)."""
        if self.user is None:
            raise PermissionDenied(f"Sign in to {doing}.")

    @contextmanager
    def write(self, action_name: str, doing: str | None = None) -> Iterator[OrmSession]:
        """One transaction for one action, after the permission check, made inside it on the
        user's current role (so a role changed a moment ago counts, up or down)."""
        if self.user is None:
            self._refuse_unless(action_name, doing, None)
        with self.db.session(self.actor) as s:
            self._refuse_unless(action_name, doing, self._current_role(s))
            yield s

    def read(self) -> OrmSession:
        """A read-only session for a signed-in user (what it shows is personal data)."""
        self.require_user()
        s = self.db.read()
        try:
            self._current_role(s)
        except BaseException:
            s.close()
            raise
        return s


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


# Characters that steer a terminal or reorder text instead of being text: C0 controls, DEL, C1
# controls, and the bidirectional embeddings, overrides and isolates (U+202A-202E, U+2066-2069).
# What is typed here travels in bundles to other PCs and is printed by `srcdesk` in terminals,
# where "\x1b[2J" or a right-to-left override would rewrite what a person sees. A one-line field
# takes tabs and line breaks as spaces (pasted text); a longer, multi-line one keeps them.
_CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def text(value: Any, label: str, field: str, *, required: bool = True, max_len: int = 200) -> str | None:
    """The shared check of typed text: refused if it holds control characters (see
    ``_CONTROL_CHARS``); one-line fields (``max_len`` up to 250) have their white space collapsed."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError(f"{label} must be text.", field)
    if _CONTROL_CHARS.search(value):
        raise ValidationError(f"{label} holds a control character (an invisible one that steers the "
                              "screen or the direction of text); type it again without it.", field)
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
