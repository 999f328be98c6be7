"""People: register, edit, search, transfer between establishments."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, tuple_

from ..errors import ValidationError
from ..models import PERSON_KINDS, Establishment, Person, PersonTransfer
from .base import Context, Page, choice, get_live, keyset_page, parse_date, text, to_record, tombstone

EDITABLE = ("given_name", "family_name", "kind", "external_ref", "consent_date", "consent_scope",
            "liberation_date", "notes")


@dataclass(frozen=True)
class PersonRow:
    """One line of a people list."""

    id: str
    given_name: str
    family_name: str
    kind: str
    establishment_code: str | None
    external_ref: str | None

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


def search_key(given: str, family: str) -> str:
    return f"{given} {family}".casefold()


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        match key:
            case "given_name":
                out[key] = text(value, "Given name", key, max_len=80)
            case "family_name":
                out[key] = text(value, "Family name", key, max_len=80)
            case "kind":
                out[key] = choice(value, PERSON_KINDS, "Kind of person", key)
            case "external_ref":
                out[key] = text(value, "Reference", key, required=False, max_len=40)
            case "consent_scope":
                out[key] = text(value, "Consent scope", key, required=False, max_len=200)
            case "consent_date" | "liberation_date":
                label = "Consent date" if key == "consent_date" else "Liberation date"
                out[key] = parse_date(value, label, key, required=False)
            case "notes":
                out[key] = text(value, "Notes", key, required=False, max_len=4000)
            case _:
                raise ValidationError(f"'{key}' can't be changed here.", key)
    if out.get("consent_date") and out["consent_date"] > dt.date.today():
        raise ValidationError("The consent date can't be in the future.", "consent_date")
    if out.get("consent_scope") and not out.get("consent_date", True):
        raise ValidationError("Give the date consent was recorded.", "consent_date")
    return out


def _live_establishment(s, establishment_id: str | None):  # noqa: ANN001, ANN202
    if establishment_id is None:
        return None
    est = s.get(Establishment, establishment_id)
    if est is None or est.deleted_hlc is not None:
        raise ValidationError("That establishment is not known to srcdesk.", "establishment_id")
    return est


def create_person(ctx: Context, *, given_name: str, family_name: str, kind: str = "prisoner",
                  establishment_id: str | None = None, **details: Any) -> Any:
    """Register a person. Their establishment defaults to this installation's."""
    values = _clean({"given_name": given_name, "family_name": family_name, "kind": kind, **details})
    with ctx.write("recorder", "register people") as s:
        est_id = establishment_id or ctx.installation.establishment_id
        est = _live_establishment(s, est_id)
        if est is not None and est.closed is not None:
            raise ValidationError(f"{est.name} closed on {est.closed:%d %B %Y}.", "establishment_id")
        if values.get("external_ref"):
            _refuse_duplicate_ref(s, values["external_ref"], None)
        person = Person(**values, establishment_id=est_id,
                        search_name=search_key(values["given_name"], values["family_name"]))
        s.add(person)
        s.flush()
        return to_record(person)


def _refuse_duplicate_ref(s, ref: str, person_id: str | None) -> None:  # noqa: ANN001
    q = select(Person.given_name, Person.family_name).where(
        Person.external_ref == ref, Person.deleted_hlc.is_(None)
    )
    if person_id:
        q = q.where(Person.id != person_id)
    other = s.execute(q).first()
    if other:
        raise ValidationError(
            f"The reference {ref} is already recorded for {other.given_name} {other.family_name}.", "external_ref"
        )


def update_person(ctx: Context, person_id: str, **changes: Any) -> Any:
    values = _clean(changes)
    with ctx.write("recorder", "edit people") as s:
        person = get_live(s, Person, person_id, "person")
        if values.get("external_ref"):
            _refuse_duplicate_ref(s, values["external_ref"], person_id)
        for key, value in values.items():
            setattr(person, key, value)
        person.search_name = search_key(person.given_name, person.family_name)
        s.flush()
        return to_record(person)


def transfer_person(ctx: Context, person_id: str, to_establishment_id: str | None, *,
                    on: dt.date | str, reason: str | None = None) -> Any:
    """Move a person to another establishment (None: left custody). History is kept."""
    on_date = parse_date(on, "Transfer date", "on")
    if on_date > dt.date.today():
        raise ValidationError("A transfer can't be recorded for a future date.", "on")
    with ctx.write("recorder", "transfer people") as s:
        person = get_live(s, Person, person_id, "person")
        est = _live_establishment(s, to_establishment_id)
        if to_establishment_id == person.establishment_id:
            raise ValidationError("The person is already at that establishment.", "to_establishment_id")
        if est is not None and est.closed is not None and est.closed <= on_date:
            raise ValidationError(f"{est.name} closed on {est.closed:%d %B %Y}.", "to_establishment_id")
        last = s.execute(
            select(PersonTransfer.transferred_on).where(
                PersonTransfer.person_id == person_id, PersonTransfer.deleted_hlc.is_(None)
            ).order_by(PersonTransfer.transferred_on.desc()).limit(1)
        ).scalar_one_or_none()
        if last and on_date < last:
            raise ValidationError(f"The last transfer was on {last:%d %B %Y}; this one can't be earlier.", "on")
        move = PersonTransfer(person_id=person_id, from_establishment_id=person.establishment_id,
                              to_establishment_id=to_establishment_id, transferred_on=on_date,
                              reason=text(reason, "Reason", "reason", required=False, max_len=1000))
        s.add(move)
        person.establishment_id = to_establishment_id
        s.flush()
        return to_record(move)


def establishment_history(ctx: Context, person_id: str) -> list[Any]:
    with ctx.read() as s:
        get_live(s, Person, person_id, "person")
        rows = s.execute(
            select(PersonTransfer).where(PersonTransfer.person_id == person_id, PersonTransfer.deleted_hlc.is_(None))
            .order_by(PersonTransfer.transferred_on, PersonTransfer.id)
        ).scalars()
        return [to_record(r) for r in rows]


def delete_person(ctx: Context, person_id: str, reason: str) -> None:
    """Record that a person was registered in error (a tombstone; nothing is erased)."""
    with ctx.write("coordinator", "delete people") as s:
        tombstone(get_live(s, Person, person_id, "person"), reason)


def get_person(ctx: Context, person_id: str) -> Any:
    with ctx.read() as s:
        return to_record(get_live(s, Person, person_id, "person"))


def search_people(ctx: Context, query: str = "", *, establishment_id: str | None = None,
                  kind: str | None = None, limit: int = 100, after: tuple | None = None) -> Page[PersonRow]:
    """People whose name words start with the typed words, or whose reference starts with it.

    Ordered by name; keyset-paged: pass ``page.after`` back for the next page.
    """
    limit = max(1, min(limit, 1000))
    q = (
        select(Person.id, Person.given_name, Person.family_name, Person.kind, Establishment.code,
               Person.external_ref, Person.search_name)
        .outerjoin(Establishment, Establishment.id == Person.establishment_id)
        .where(Person.deleted_hlc.is_(None))
    )
    for word in query.casefold().split():
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        q = q.where(or_(
            Person.search_name.like(f"{escaped}%", escape="\\"),
            Person.search_name.like(f"% {escaped}%", escape="\\"),
            Person.external_ref.like(f"{escaped}%", escape="\\"),
        ))
    if establishment_id:
        q = q.where(Person.establishment_id == establishment_id)
    if kind:
        q = q.where(Person.kind == kind)
    if after:
        q = q.where(tuple_(Person.search_name, Person.id) > tuple_(*after))
    q = q.order_by(Person.search_name, Person.id).limit(limit + 1)
    with ctx.read() as s:
        rows = s.execute(q).all()
    rows, cursor = keyset_page(rows, limit, lambda r: (r.search_name, r.id))
    return Page([PersonRow(r.id, r.given_name, r.family_name, r.kind, r.code, r.external_ref) for r in rows], cursor)


__all__ = ["PersonRow", "create_person", "delete_person", "establishment_history", "get_person",
           "search_people", "transfer_person", "update_person"]
