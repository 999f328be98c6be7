"""Apply a verified bundle in one transaction: who may change what, the merge, the record."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ...models import BundleRecord, Installation
from ...sync import bundle as fmt
from ...sync.capture import CAPTURE_FLAG, save_clock
from ...sync.errors import BundleRefused
from ...sync.hlc import pack
from ...sync.merge import Author, Merger, RowEffect
from ...sync.scope import build_scope, drop_scope
from .. import trust
from ..base import Context
from .common import Progress
from .common import now as _now
from .verify import Opened, Verified


class _EstablishmentPolicy:
    """What a bundle from an establishment PC may change: only what it made itself (no change it
    says another installation made), user accounts only its own, and at the office only records
    in its scope (its people and sessions, people transferred in, shared reference data)."""

    def __init__(self, v: Verified, dbapi: Any, *, scope_of: str | None) -> None:
        self.v, self.dbapi, self.scope_of = v, dbapi, scope_of
        self._scope_cache: dict[tuple[str, str], bool] = {}

    def check(self, effect: RowEffect) -> None:
        v, table = self.v, effect.table
        for c in effect.changes:
            if c.origin != v.origin_id:
                raise BundleRefused(
                    f"The bundle from {v.origin_name} carries changes it says another installation made; "
                    "it was refused."
                )
        existing_origin = effect.origin if effect.before is not None else None
        if table == "app_user" and existing_origin is not None and existing_origin != v.origin_id:
            raise BundleRefused(
                f"The bundle from {v.origin_name} changes another installation's user accounts; it was refused."
            )
        if (self.scope_of and existing_origin is not None and existing_origin != v.origin_id and effect.changes
                and not self._in_scope(table, effect.row_id)):
            raise BundleRefused(
                f"The bundle from {v.origin_name} changes a {table.replace('_', ' ')} record that belongs to "
                "another establishment; it was refused."
            )

    def finish(self) -> None:
        if self._scope_cache:
            drop_scope(self.dbapi)

    def _in_scope(self, table: str, row_id: str) -> bool:
        if not self._scope_cache:  # built when first needed: a usual week changes only its own records
            build_scope(self.dbapi, self.scope_of)
            self._scope_cache[("", "")] = True
        key = (table, row_id)
        if key not in self._scope_cache:
            self._scope_cache[key] = self.dbapi.execute(
                "SELECT 1 FROM temp.sync_scope WHERE table_name = ? AND row_id = ?", key).fetchone() is not None
        return self._scope_cache[key]


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
    now = _now()
    max_hlc = pack(int((now + fmt.FUTURE_SLACK).replace(tzinfo=dt.UTC).timestamp() * 1000), 0xFFFF)
    with ctx.db.session(ctx.actor) as s:
        conn = s.connection()
        conn.info[CAPTURE_FLAG] = True
        dbapi = conn.connection.driver_connection
        # Checked again inside the transaction: another import may have landed meanwhile.
        if s.execute(select(BundleRecord).where(BundleRecord.bundle_id == v.bundle_id)).first() is not None:
            raise BundleRefused("This bundle was imported a moment ago by someone else; nothing changed.")
        policy = None
        if v.origin_role != "office":
            est = s.get(Installation, v.origin_id).establishment_id if ctx.installation.is_office else None
            policy = _EstablishmentPolicy(v, dbapi, scope_of=est)
        author = Author(ctx.installation.id, ctx.user.id if ctx.user else None, ctx.db.clock)
        merger = Merger(dbapi, now=now, authority=policy, author=author, bundle_id=v.bundle_id)
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
