"""Apply a verified bundle in one transaction: who may change what (:mod:`srcdesk.sync.authority`), the
merge, the record."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ...models import BundleRecord, Installation
from ...sync import bundle as fmt
from ...sync.authority import EstablishmentAuthority, establishment_may_write
from ...sync.capture import CAPTURE_FLAG, save_clock
from ...sync.errors import BundleRefused
from ...sync.hlc import pack
from ...sync.merge import Author, Merger
from .. import certificate_verify, trust
from ..base import Context
from .common import Progress
from .common import now as _now
from .verify import Opened, Verified


def _authority(ctx: Context, v: Verified) -> EstablishmentAuthority | None:
    """Who may change what, for a bundle from an establishment PC: what its establishment holds
    and who its accounts are, read before the import's transaction (a snapshot of what this
    installation holds, without holding the write lock). A bundle from the office needs none:
    the office may change everything."""
    if v.origin_role == "office":
        return None
    with ctx.read() as s:
        origin = s.get(Installation, v.origin_id)
        establishment_id = origin.establishment_id if origin is not None else None
    if establishment_id is None:
        raise BundleRefused(f"{v.origin_name} is not linked to an establishment on this PC, so what its bundle may "
                            "change can't be told; it was refused.")
    with ctx.db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        raw.execute("BEGIN")  # one snapshot for everything it reads
        try:
            return EstablishmentAuthority.prepare(raw, origin_id=v.origin_id, origin_name=v.origin_name,
                                                  establishment_id=establishment_id)
        finally:
            raw.execute("ROLLBACK")


def apply(ctx: Context, opened: Opened, progress: Progress | None) -> tuple[Any, int]:
    try:
        return _apply_in_transaction(ctx, opened, progress)
    except (sqlite3.IntegrityError, IntegrityError) as exc:
        detail = str(getattr(exc, "orig", exc)).split("\n")[0]
        raise BundleRefused(
            f"The bundle's records clash with records on this PC ({detail}); nothing was changed."
        ) from exc


def _apply_in_transaction(ctx: Context, opened: Opened, progress: Progress | None) -> tuple[Any, int]:
    v = opened.verified
    authority = _authority(ctx, v)
    now = _now()
    max_hlc = pack(int((now + fmt.FUTURE_SLACK).replace(tzinfo=dt.UTC).timestamp() * 1000), 0xFFFF)
    with ctx.db.session(ctx.actor) as s:
        conn = s.connection()
        conn.info[CAPTURE_FLAG] = True
        dbapi = conn.connection.driver_connection
        # Checked again inside the transaction: another import may have landed meanwhile.
        if s.execute(select(BundleRecord).where(BundleRecord.bundle_id == v.bundle_id)).first() is not None:
            raise BundleRefused("This bundle was imported a moment ago by someone else; nothing changed.")
        if authority is not None:
            authority.bind(dbapi)
        inst, user = ctx.installation, ctx.user
        author = Author(inst.id, user.id if user else None, ctx.db.clock)
        if not inst.is_office:  # its merge moves references only in records the office accepts from it
            author = replace(author, may_write=establishment_may_write(inst.establishment_id,
                                                                       user.role if user else None))
        merger = Merger(dbapi, now=now, authority=authority, author=author, bundle_id=v.bundle_id)
        done = 0
        for table, row_id, changes in fmt.iter_groups(opened.payload, max_hlc=max_hlc):
            merger.add(table, row_id, changes)
            done += len(changes)
            if progress and done % 20_000 < len(changes):
                progress(done, v.total, "Applying changes")
        summary = merger.finish()
        revoked = 0
        if v.origin_role == "office":
            revoked = trust.apply_revocations(s, fmt.read_revocations(opened.payload), from_installation=v.origin_id)
        elif v.revocations:
            raise BundleRefused("Only the SRC office passes revocations on; this bundle was refused.")
        if v.origin_role == "office":
            certificate_verify.apply_issuers(s, fmt.read_optional(opened.payload, fmt.CERTIFICATE_ISSUERS),
                                             made_at=v.created)
            certificate_verify.apply_statuses(s, fmt.read_optional(opened.payload, fmt.CERTIFICATE_STATUS),
                                              made_at=v.created)
        elif v.certificate_issuers or v.certificate_statuses:
            raise BundleRefused("Only the SRC office passes on the keys that sign certificates and which "
                                "certificates were revoked; this bundle was refused.")
        if summary.max_hlc:
            ctx.db.clock.observe(summary.max_hlc)
            save_clock(dbapi, ctx.db.clock)
        s.add(BundleRecord(
            bundle_id=v.bundle_id, direction="received", origin_id=v.origin_id, recipient_id=ctx.installation.id,
            seq=v.seq, created_at=v.created, recorded_at=_now(), file_name=v.path.name[:200], full=v.full,
            schema=v.schema, changes=v.total, watermark=None, counts=json.dumps(v.counts, sort_keys=True),
            summary=json.dumps(summary.as_dict(), sort_keys=True), user_id=ctx.user.id if ctx.user else None,
        ))
        s.flush()
        conn.info.pop(CAPTURE_FLAG, None)
    if progress:
        progress(v.total, v.total, "Done")
    return summary, revoked
