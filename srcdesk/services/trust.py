"""Trust between installations: this PC's identity, enrolment cards, enrolling and revoking.

An installation trusts another only after an administrator enrols its card *and* types the
fingerprint the other side read out by phone or on paper. An establishment enrols the office;
the office enrols establishments. Revoking is for good: bundles the revoked installation signs
after its last bundle received here are refused (by the importer, using ``revoked_after_seq``
and ``revoked_at``), and its id can never be enrolled again. The office passes its revocations
on in its bundles (:func:`revocations_for_bundle` / :func:`apply_revocations`).

``installation`` is a local table, never synced: each PC keeps its own list.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session as OrmSession

from ..errors import NotFound, ValidationError
from ..models import BundleRecord, Establishment, Installation
from ..sync.errors import BundleRefused
from ..sync.identity import (
    ROLES,
    KeysError,
    LocalIdentity,
    PublicIdentity,
    check_installation_id,
    describe_mismatch,
    is_fingerprint,
    normalise_fingerprint,
    read_card,
    write_card,
)
from .base import Context, text

__all__ = [
    "MAX_REVOCATIONS",
    "TrustedInstallation",
    "apply_revocations",
    "enrol",
    "export_card",
    "installation_identity",
    "local_identity",
    "my_identity",
    "revocations_for_bundle",
    "revoke",
    "trusted_installations",
]

#: Most revocation records a bundle may carry (there are 18 establishments; this is generous).
MAX_REVOCATIONS = 10_000
MAX_REASON_CHARS = 1000
_REVOCATION_KEYS = frozenset({
    "installation_id", "role", "name", "fingerprint", "revoked_at", "revoked_after_seq", "reason", "revoked_by",
})
_MAX_SEQ = 2**53
_ISO_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?")


@dataclass(frozen=True)
class TrustedInstallation:
    """Another installation this one knows: its public identity and where trust stands."""

    installation_id: str
    role: str
    establishment_code: str | None
    name: str
    signing_key: str | None  # None only for an installation known just from a revocation
    age_recipient: str | None
    recovery_recipient: str | None
    fingerprint: str | None
    enrolled_at: dt.datetime | None
    enrolled_by: str | None
    revoked_at: dt.datetime | None
    revoked_after_seq: int | None
    revoked_reason: str | None
    revoked_by: str | None
    last_received_seq: int  # 0 when no bundle from it was imported yet

    @property
    def status(self) -> str:
        """``revoked`` or ``enrolled``."""
        return "revoked" if self.revoked_at is not None else "enrolled"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def public(self) -> PublicIdentity:
        """The public identity (only for an installation whose keys are known)."""
        if self.signing_key is None or self.age_recipient is None:
            raise NotFound(f"The keys of installation {self.installation_id} are not known here.")
        return PublicIdentity(self.installation_id, self.role, self.establishment_code, self.name,
                              self.signing_key, self.age_recipient, self.recovery_recipient)


# --------------------------------------------------------------------------- helpers


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _self_row(s: OrmSession) -> Installation:
    return s.execute(select(Installation).where(Installation.is_self.is_(True))).scalar_one()


def _code_of(s: OrmSession, establishment_id: str | None) -> str | None:
    if establishment_id is None:
        return None
    est = s.get(Establishment, establishment_id)
    return est.code if est else None


def _last_received(s: OrmSession, origin_id: str) -> int:
    value = s.execute(
        select(func.max(BundleRecord.seq)).where(BundleRecord.origin_id == origin_id,
                                                 BundleRecord.direction == "received")
    ).scalar_one()
    return int(value or 0)


def _trusted(s: OrmSession, row: Installation) -> TrustedInstallation:
    return TrustedInstallation(
        installation_id=row.id, role=row.role, establishment_code=_code_of(s, row.establishment_id),
        name=row.name, signing_key=row.signing_key, age_recipient=row.age_recipient,
        recovery_recipient=row.recovery_recipient, enrolled_at=row.enrolled_at,
        # From its keys, so one enrolled before fingerprints were 8 groups shows what its PC shows now.
        fingerprint=_public_of(s, row).fingerprint if row.signing_key and row.age_recipient else row.fingerprint,
        enrolled_by=row.enrolled_by, revoked_at=row.revoked_at, revoked_after_seq=row.revoked_after_seq,
        revoked_reason=row.revoked_reason, revoked_by=row.revoked_by,
        last_received_seq=_last_received(s, row.id),
    )


def _public_of(s: OrmSession, row: Installation) -> PublicIdentity:
    if not row.signing_key or not row.age_recipient:
        raise KeysError("This installation has no keys yet; an administrator must create them first.")
    return PublicIdentity(row.id, row.role, _code_of(s, row.establishment_id), row.name,
                          row.signing_key, row.age_recipient, row.recovery_recipient)


def _when(moment: dt.datetime | None) -> str:
    return moment.strftime("%d %b %Y %H:%M UTC") if moment else "an unknown date"


# --------------------------------------------------------------------------- this installation


def my_identity(ctx: Context) -> PublicIdentity:
    """This installation's public identity (what its enrolment card states)."""
    ctx.require("trust.read", "see this installation's keys")
    with ctx.read() as s:
        return _public_of(s, _self_row(s))


def local_identity(ctx: Context) -> LocalIdentity:
    """This installation's private keys with its public identity, checked to belong together.

    For signing and decrypting bundles; no permission check (the caller's operation has one).
    """
    with ctx.read() as s:
        public = _public_of(s, _self_row(s))
    return LocalIdentity.load(ctx.db.data_dir, public)


def export_card(ctx: Context, path: Path) -> Path:
    """Write this installation's enrolment card to a new file ``path``."""
    ctx.require("trust.edit", "export this installation's enrolment card")
    return write_card(local_identity(ctx), Path(path))


# --------------------------------------------------------------------------- other installations


def installation_identity(s: OrmSession, installation_id: str) -> TrustedInstallation | None:
    """What this installation knows about another one (None if nothing), inside session ``s``.

    For the bundle importer: the origin's key and whether (and after which seq) it was revoked.
    """
    row = s.get(Installation, installation_id)
    if row is None or row.is_self:
        return None
    return _trusted(s, row)


def trusted_installations(ctx: Context) -> list[TrustedInstallation]:
    """Every other installation known here, enrolled or revoked (office first, then by name)."""
    ctx.require("trust.read", "see which installations this PC trusts")
    with ctx.read() as s:
        rows = s.execute(select(Installation).where(Installation.is_self.is_(False))).scalars().all()
        items = [_trusted(s, row) for row in rows]
    return sorted(items, key=lambda t: (t.role != "office", t.establishment_code or "", t.name, t.installation_id))


def enrol(ctx: Context, card_bytes: bytes, fingerprint: str) -> TrustedInstallation:
    """Trust the installation whose enrolment card this is, if ``fingerprint`` (typed) matches it.

    Refused (BundleRefused) for a card that does not verify, a fingerprint that does not match,
    this PC's own card, a revoked installation, one already enrolled with different keys, keys
    that already belong to another installation, or the wrong kind of installation (an
    establishment enrols the office; the office enrols establishments it knows). Enrolling the
    same card again changes nothing.
    """
    ctx.require("trust.edit", "enrol another installation")
    try:
        typed = normalise_fingerprint(fingerprint)
    except ValueError as exc:
        raise ValidationError(str(exc), "fingerprint") from None
    card = read_card(card_bytes)
    differ = card.matches_fingerprint(typed)
    if differ:
        raise BundleRefused(
            f"The fingerprint you typed does not match this card ({describe_mismatch(differ, len(typed) // 4)}); "
            "do not enrol it until it matches."
        )
    with ctx.write("trust.edit", "enrol another installation") as s:
        me = _self_row(s)
        if card.installation_id == me.id or card.signing_key == me.signing_key or card.age_recipient == me.age_recipient:
            raise BundleRefused("This is this PC's own enrolment card; enrol the card of the other installation.")
        existing = s.get(Installation, card.installation_id)
        if existing is not None and existing.revoked_at is not None:
            raise BundleRefused(
                f"Installation {card.installation_id} ({existing.name}) was revoked on {_when(existing.revoked_at)}; "
                "it can never be enrolled again. That PC must be set up afresh with 'srcdesk init'."
            )
        if existing is not None and existing.signing_key is not None:
            if _public_of(s, existing).same_keys(card):
                return _trusted(s, existing)  # the same card again: nothing to do
            raise BundleRefused(
                f"Installation {card.installation_id} ({existing.name}) is already enrolled with different keys; "
                "revoke it first if that PC really has new keys."
            )
        clash = s.execute(
            select(Installation).where(
                Installation.id != card.installation_id,
                (Installation.signing_key == card.signing_key) | (Installation.age_recipient == card.age_recipient),
            )
        ).scalars().first()
        if clash is not None:
            raise BundleRefused(
                f"These keys already belong to installation {clash.id} ({clash.name}); a card can't reuse them."
            )
        establishment_id = _check_role(s, me, card)
        row = existing or Installation(id=card.installation_id, is_self=False, created_at=_now())
        row.role = card.role
        row.establishment_id = establishment_id
        row.name = card.name
        row.signing_key = card.signing_key
        row.age_recipient = card.age_recipient
        row.recovery_recipient = card.recovery_recipient
        row.fingerprint = card.fingerprint
        row.enrolled_at = _now()
        row.enrolled_by = ctx.user.id if ctx.user else None
        if existing is None:
            s.add(row)
        s.flush()
        return _trusted(s, row)


def _check_role(s: OrmSession, me: Installation, card: PublicIdentity) -> str | None:
    """The establishment id the card's installation belongs to; BundleRefused if it may not be enrolled here."""
    if me.role == "establishment":
        if card.role != "office":
            raise BundleRefused(
                "An establishment PC only enrols the SRC office; this card is from an establishment "
                f"({card.establishment_code})."
            )
        other = s.execute(
            select(Installation).where(Installation.is_self.is_(False), Installation.role == "office",
                                       Installation.revoked_at.is_(None), Installation.signing_key.is_not(None))
        ).scalars().first()
        if other is not None:
            raise BundleRefused(
                f"This PC already trusts the SRC office installation {other.id}; if the office has a new PC, "
                "revoke the old one first."
            )
        return None
    if card.role != "establishment":
        raise BundleRefused("The office only enrols establishments; this card is from another office installation.")
    est = s.execute(select(Establishment).where(Establishment.code == card.establishment_code,
                                                Establishment.merged_into.is_(None))).scalar_one_or_none()
    if est is None or est.deleted_hlc is not None:
        raise BundleRefused(f"The card names establishment {card.establishment_code!r}, which this PC does not know.")
    return est.id


def revoke(ctx: Context, installation_id: str, reason: str) -> TrustedInstallation:
    """Stop trusting an installation for good.

    Bundles it signs after the last one received here are refused; its id can never be enrolled
    again. The office passes the revocation on to the establishments in its bundles.
    """
    with ctx.write("trust.edit", "revoke another installation") as s:
        reason_text = text(reason, "The reason", "reason", max_len=MAX_REASON_CHARS)
        installation_id = (installation_id or "").strip()
        row = s.get(Installation, installation_id) if installation_id else None
        if row is None:
            raise NotFound(f"This PC does not know an installation {installation_id!r}; see 'srcdesk keys list'.")
        if row.is_self:
            raise ValidationError("You can't revoke this PC's own keys; revoke them on the other installations.",
                                  "installation_id")
        if row.revoked_at is not None:
            raise ValidationError(f"{row.name} was already revoked on {_when(row.revoked_at)}.", "installation_id")
        row.revoked_at = _now()
        row.revoked_after_seq = _last_received(s, row.id)
        row.revoked_reason = reason_text
        row.revoked_by = _self_row(s).id
        s.flush()
        return _trusted(s, row)


# --------------------------------------------------------------------------- revocations in bundles


def revocations_for_bundle(s: OrmSession) -> list[dict[str, Any]]:
    """Every revoked installation known here, as plain records for a bundle (oldest first)."""
    rows = s.execute(
        select(Installation).where(Installation.revoked_at.is_not(None)).order_by(Installation.revoked_at,
                                                                                 Installation.id)
    ).scalars().all()
    return [
        {
            "installation_id": row.id,
            "role": row.role,
            "name": row.name,
            "fingerprint": row.fingerprint,
            "revoked_at": row.revoked_at.isoformat(),
            "revoked_after_seq": int(row.revoked_after_seq or 0),
            "reason": row.revoked_reason or "",
            "revoked_by": row.revoked_by,
        }
        for row in rows
    ]


def _bad(index: int, reason: str) -> BundleRefused:
    return BundleRefused(f"Revocation {index + 1} in the bundle is refused: {reason}.")


def _check_revocation(index: int, record: Any) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise _bad(index, "it is not an object")
    if set(record) != _REVOCATION_KEYS:
        raise _bad(index, "its fields are wrong")
    installation_id = record["installation_id"]
    try:
        check_installation_id(installation_id)
        check_installation_id(record["revoked_by"], "revoked_by")
    except BundleRefused as exc:
        raise _bad(index, str(exc)) from None
    if record["role"] not in ROLES:
        raise _bad(index, "its role is not establishment or office")
    name, reason = record["name"], record["reason"]
    if not isinstance(name, str) or not 0 < len(name) <= 120 or not name.isprintable():
        raise _bad(index, "its name is not a short line of text")
    if not isinstance(reason, str) or len(reason) > MAX_REASON_CHARS:
        raise _bad(index, f"its reason is not text of at most {MAX_REASON_CHARS} characters")
    fingerprint = record["fingerprint"]
    if fingerprint is not None:
        try:
            if not is_fingerprint(fingerprint):
                raise ValueError
        except ValueError:
            raise _bad(index, "its fingerprint is not a fingerprint") from None
    seq = record["revoked_after_seq"]
    if type(seq) is not int or not 0 <= seq <= _MAX_SEQ:
        raise _bad(index, "its sequence number is not a whole number of at least 0")
    at = record["revoked_at"]
    if not isinstance(at, str) or not _ISO_RE.fullmatch(at):
        raise _bad(index, "its time is not a time like 2025-01-31T09:30:00")
    try:
        revoked_at = dt.datetime.fromisoformat(at)
    except ValueError:
        raise _bad(index, "its time is not a real date and time") from None
    return {**record, "revoked_at": revoked_at}


def apply_revocations(s: OrmSession, records: Any, *, from_installation: str) -> int:
    """Record the revocations a bundle from ``from_installation`` carries; return how many were new.

    Every record is checked first (BundleRefused if any is malformed; nothing is changed). A
    known installation not yet revoked is marked revoked; an unknown one gets a revoked row so it
    can never be enrolled later; one already revoked here keeps its own record. A revocation of
    this installation itself, or of the installation the bundle comes from, is ignored (neither
    is something a bundle can decide). Runs in the caller's transaction.
    """
    if not isinstance(records, list):
        raise BundleRefused("The revocations in the bundle are not a list.")
    if len(records) > MAX_REVOCATIONS:
        raise BundleRefused(f"The bundle carries more than {MAX_REVOCATIONS} revocations.")
    checked = [_check_revocation(i, record) for i, record in enumerate(records)]
    ids = [r["installation_id"] for r in checked]
    if len(set(ids)) != len(ids):
        raise BundleRefused("The bundle revokes the same installation twice.")
    me = _self_row(s)
    new = 0
    for record in checked:
        target = record["installation_id"]
        if target in (me.id, from_installation):
            continue
        row = s.get(Installation, target)
        if row is not None and row.revoked_at is not None:
            continue
        if row is None:
            row = Installation(id=target, role=record["role"], establishment_id=None, name=record["name"],
                               is_self=False, created_at=_now(), fingerprint=record["fingerprint"])
            s.add(row)
        row.revoked_at = record["revoked_at"]
        row.revoked_after_seq = record["revoked_after_seq"]
        row.revoked_reason = record["reason"] or f"revoked by installation {record['revoked_by']}"
        row.revoked_by = record["revoked_by"]
        new += 1
    s.flush()
    return new
