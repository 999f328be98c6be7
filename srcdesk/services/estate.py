"""The SPS estate: establishments open, close and are replaced (e.g. Cornton Vale → Stirling).

Kept at the SRC office (administrators): the office would refuse a change of the estate in an
establishment's bundle (:mod:`srcdesk.sync.authority`), so an establishment is told at once.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import func, select

from ..errors import ValidationError
from ..ids import new_id
from ..models import Establishment
from ..sync.authority import refuse_here
from .base import Context, choice, get_live, parse_date, saved, text, to_record

CODE_RE = re.compile(r"^[A-Z]{2,8}$")


def _values(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        match key:
            case "code":
                code = (value or "").strip().upper()
                if not CODE_RE.match(code):
                    raise ValidationError("An establishment code is 2 to 8 capital letters, e.g. PER.", key)
                out[key] = code
            case "name":
                out[key] = text(value, "Name", key, max_len=120)
            case "kind":
                out[key] = choice(value, ("prison", "ccu"), "Kind", key)
            case "opened" | "closed":
                out[key] = parse_date(value, key.capitalize(), key, required=False)
            case "replaced_by_id":
                out[key] = value or None
            case _:
                raise ValidationError(f"'{key}' can't be set on an establishment.", key)
    return out


def _check(s, est: Establishment) -> None:  # noqa: ANN001
    if est.opened and est.closed and est.closed < est.opened:
        raise ValidationError("An establishment can't close before it opened.", "closed")
    if est.closed and est.closed > dt.date.today() + dt.timedelta(days=3650):
        raise ValidationError("The closing date is too far in the future.", "closed")
    if est.replaced_by_id:
        if est.replaced_by_id == est.id:
            raise ValidationError("An establishment can't replace itself.", "replaced_by_id")
        get_live(s, Establishment, est.replaced_by_id, "establishment")
    clash = s.execute(select(func.count()).select_from(Establishment).where(
        Establishment.code == est.code, Establishment.id != est.id, Establishment.merged_into.is_(None))).scalar_one()
    if clash:
        raise ValidationError(f"The code {est.code} is already used.", "code")


def create_establishment(ctx: Context, *, code: str, name: str, kind: str = "prison", **values: Any) -> Any:
    ctx.require("establishment.edit")
    clean = _values({"code": code, "name": name, "kind": kind, **values})
    refuse_here(ctx, "establishment")
    with ctx.write("establishment.edit", "add establishments") as s:
        est = Establishment(id=new_id(), **clean)
        _check(s, est)
        return saved(s, est)


def update_establishment(ctx: Context, establishment_id: str, **values: Any) -> Any:
    """Rename, close (with what replaces it) or reopen an establishment. Never deleted."""
    ctx.require("establishment.edit")
    clean = _values(values)
    refuse_here(ctx, "establishment")
    with ctx.write("establishment.edit", "edit establishments") as s:
        est = get_live(s, Establishment, establishment_id, "establishment")
        for key, value in clean.items():
            setattr(est, key, value)
        _check(s, est)
        return saved(s, est)


def place_name(name: str) -> str:
    """"HMP & YOI Polmont" -> "Polmont": what people call the establishment."""
    for prefix in ("HMP & YOI ", "HMP YOI ", "HMP "):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def establishment_sort_key(name: str, code: str = "") -> tuple[str, str]:
    """The one order of every establishment list: by place name ("Barlinnie" before "Polmont",
    whatever comes before it), then by code."""
    return place_name(name).casefold(), code.casefold()


def establishments(ctx: Context, *, include_closed: bool = False) -> list[Any]:
    """The establishments, in :func:`establishment_sort_key` order."""
    with ctx.read() as s:
        q = select(Establishment).where(Establishment.deleted_hlc.is_(None))
        if not include_closed:
            q = q.where(Establishment.closed.is_(None))
        rows = [to_record(e) for e in s.execute(q).scalars()]
    return sorted(rows, key=lambda e: establishment_sort_key(e.name, e.code))
