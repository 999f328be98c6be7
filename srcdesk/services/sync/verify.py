"""Verify: every check on a bundle file, before anything is applied."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ...db import _script_revisions
from ...models import BundleRecord
from ...sync import bundle as fmt
from ...sync.errors import BundleRefused
from ...sync.minisign import PublicKey
from ...words import plural
from .. import trust
from ..base import Context
from .common import MAX_SEQ_JUMP
from .common import now as _now


@dataclass
class Verified:
    """A bundle that passed every check: who made it, what it holds, whether it is new here."""

    path: Path
    bundle_id: str
    origin_id: str
    origin_name: str
    origin_role: str
    origin_code: str | None
    seq: int
    created: dt.datetime
    schema: str
    full: bool
    total: int
    counts: dict[str, int]
    revocations: int
    already_imported: bool
    last_seq: int  # highest seq imported from this origin before this one
    missing_before: list[int] = field(default_factory=list)  # seqs from this origin not imported yet
    certificate_issuers: int = 0  # keys that sign certificates (office bundles only)
    certificate_statuses: int = 0  # revoked or superseded certificates (office bundles only)

    def describe(self) -> str:
        where = f"{self.origin_name} ({self.origin_code})" if self.origin_code else self.origin_name
        return (f"Bundle {self.seq} from {where}, made {self.created:%d %b %Y %H:%M} UTC: "
                + plural(self.total, "change") + (", already imported." if self.already_imported else "."))


@dataclass
class Opened:
    verified: Verified
    payload: fmt.Payload
    public: PublicKey


def open_bundle(ctx: Context, path: Path, data: bytes | None = None) -> Opened:
    """Every check, and the decrypted payload for the apply (the caller closes it). The file is read
    once (or ``data`` is its bytes, read already): what is verified is what is decrypted and applied."""
    path = Path(path)
    inst = ctx.installation
    now = _now()
    outer = fmt.open_outer(path, data)
    try:
        header = outer.header
        if header.origin_id == inst.id:
            raise BundleRefused("This bundle was made by this PC; import it on the PC it is for.")
        with ctx.read() as s:
            origin = trust.installation_identity(s, header.origin_id)
            if origin is None or not origin.signing_key:
                raise BundleRefused(
                    f"The bundle comes from a PC (its id ends {fmt.short_id(header.origin_id)}) that is not enrolled on this PC: "
                    "enrol its card (Sync → Trust, or 'srcdesk keys enrol') after checking its fingerprint by phone."
                )
            public = PublicKey.from_line(origin.signing_key)
            if public.key_id != outer.key_id:
                raise BundleRefused(
                    f"The bundle claims to come from {origin.name} but is signed with a different key "
                    f"(key id {_key_id_hex(outer.key_id)}); it was refused."
                )
            _check_revoked(origin, header.seq, None)
            already, same_seq, seqs = _recorded(s, inst.id, header.origin_id, header.bundle_id, header.seq)
        identity = trust.local_identity(ctx).age_identity
        payload_bytes = fmt.verify_and_decrypt(outer, public, identity)
    finally:
        outer.zip.close()
    payload = fmt.open_payload(payload_bytes, public, header, now=now)
    try:
        m = payload.manifest
        if not any(r["installation_id"] == inst.id and r["kind"] == "installation" for r in m["recipients"]):
            raise BundleRefused("This bundle is addressed to another installation.")
        _check_schema(m["schema"], m["app_version"])
        _check_revoked(origin, header.seq, payload.created)
        if not already and same_seq:
            raise _replay(origin.name, header.seq)
        last = max(seqs, default=0)
        if not already and header.seq > last + MAX_SEQ_JUMP:
            raise BundleRefused(
                f"The bundle is numbered {header.seq}, but the last one imported from {origin.name} was {last}: "
                f"a jump of more than {MAX_SEQ_JUMP} is refused."
            )
        fmt.verify_files(payload)
        o = m["origin"]
        top = max(seqs | {header.seq})
        verified = Verified(
            path=path, bundle_id=header.bundle_id, origin_id=header.origin_id, origin_name=origin.name,
            origin_role=origin.role, origin_code=origin.establishment_code or (o.get("establishment") if isinstance(
                o.get("establishment"), str) else None),
            seq=header.seq, created=payload.created, schema=m["schema"], full=m["full"], total=payload.total,
            counts=payload.counts, revocations=m["records"]["revocations"], already_imported=already,
            last_seq=last, missing_before=sorted(set(range(1, top)) - seqs - {header.seq})[:1000],
            certificate_issuers=fmt.optional_count(m, fmt.CERTIFICATE_ISSUERS),
            certificate_statuses=fmt.optional_count(m, fmt.CERTIFICATE_STATUS),
        )
    except BaseException:
        payload.close()
        raise
    return Opened(verified, payload, public)


def recheck(ctx: Context, opened: Opened) -> bool:
    """Just before a bundle opened earlier is applied, the checks whose answer may have changed since
    (another bundle of the same import, or another import, landed meanwhile): the origin is still
    trusted with the same key and not revoked for it, and no other bundle took its number. Returns
    whether it has been imported since (nothing to do)."""
    v = opened.verified
    with ctx.read() as s:
        origin = trust.installation_identity(s, v.origin_id)
        if origin is None or not origin.signing_key or PublicKey.from_line(origin.signing_key).key_id != \
                opened.public.key_id:
            raise BundleRefused(f"{v.origin_name} is no longer enrolled with the key that signed this bundle; "
                                "nothing was imported from it.")
        _check_revoked(origin, v.seq, v.created)
        already, same_seq, _seqs = _recorded(s, ctx.installation.id, v.origin_id, v.bundle_id, v.seq)
    if not already and same_seq:
        raise _replay(v.origin_name, v.seq)
    return already


def _recorded(s: Any, me: str, origin_id: str, bundle_id: str, seq: int) -> tuple[bool, bool, set[int]]:
    """(this bundle was imported, another bundle from its origin to this PC has its number, the
    numbers imported from its origin)."""
    already = s.execute(select(BundleRecord.bundle_id).where(BundleRecord.bundle_id == bundle_id)).first() is not None
    same_seq = s.execute(select(BundleRecord.bundle_id).where(
        BundleRecord.origin_id == origin_id, BundleRecord.recipient_id == me,
        BundleRecord.seq == seq)).first() is not None
    seqs = set(s.execute(select(BundleRecord.seq).where(
        BundleRecord.origin_id == origin_id, BundleRecord.direction == "received")).scalars())
    return already, same_seq, seqs


def _replay(origin_name: str, seq: int) -> BundleRefused:
    return BundleRefused(f"{origin_name} already sent a different bundle numbered {seq}; this one is a replay or "
                         "a forgery and was refused.")


def _key_id_hex(key_id: bytes) -> str:
    from ...sync.minisign import _key_id_hex as as_minisign_prints

    return as_minisign_prints(key_id)


def _check_revoked(origin: trust.TrustedInstallation, seq: int, created: dt.datetime | None) -> None:
    if not origin.is_revoked:
        return
    after = origin.revoked_after_seq or 0
    if seq > after or (created is not None and origin.revoked_at is not None and created >= origin.revoked_at):
        raise BundleRefused(
            f"{origin.name}'s key was revoked on {origin.revoked_at:%d %B %Y}; bundles it signed after that are "
            "refused."
        )


def _check_schema(schema: str, app_version: str) -> None:
    if schema in _script_revisions():
        return
    raise BundleRefused(
        f"This bundle was made by a newer srcdesk (data version {schema[:20]}): update srcdesk to version "
        f"{app_version[:20]} or later, then import it again."
    )


def verify_bundle(ctx: Context, path: Path) -> Verified:
    """Check everything about a bundle without applying it."""
    ctx.require("sync.bundles", "check bundles")
    opened = open_bundle(ctx, path)
    opened.payload.close()
    return opened.verified
