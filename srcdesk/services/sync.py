"""Sync by bundles: export for the office (or, at the office, for establishments), verify, import.

An import goes: outer signature → decrypt → inner signature → manifest and hashes → preview
counts → automatic backup → apply in one transaction → summary. Any refusal leaves the
database exactly as it was. See :mod:`srcdesk.sync.bundle` for the file and
:mod:`srcdesk.sync.merge` for the merge.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..db import _script_revisions, head_revision, timestamped_backup
from ..errors import NotFound, ValidationError
from ..ids import new_id
from ..models import BundleRecord, Installation
from ..sync import bundle as fmt
from ..sync.capture import CAPTURE_FLAG, save_clock
from ..sync.errors import BundleRefused
from ..sync.hlc import pack
from ..sync.merge import Merger
from ..sync.minisign import PublicKey
from ..sync.scope import build_scope, drop_scope
from . import trust
from .base import Context

MAX_SEQ_JUMP = 10_000
SYNC_ROLE = "coordinator"

Progress = Callable[[int, int, str], None]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


# -- export -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportResult:
    path: Path
    recipient_id: str
    recipient_name: str
    seq: int
    changes: int
    counts: dict[str, int]
    size: int
    full: bool


def export_targets(ctx: Context) -> list[trust.TrustedInstallation]:
    """Who this installation can write bundles for: the office (from an establishment), or every
    enrolled establishment (from the office). Revoked installations are left out."""
    return [t for t in trust.trusted_installations(ctx)
            if not t.is_revoked and t.signing_key and t.role != ctx.installation.role
            and (ctx.installation.is_office or t.role == "office")]


def export_bundles(ctx: Context, target_dir: Path, *, for_installation: str | None = None, all_: bool = False,
                   full: bool = False, progress: Progress | None = None) -> list[ExportResult]:
    """Write one bundle per recipient into ``target_dir``. An establishment writes for the office;
    the office names an establishment installation or ``all_``."""
    ctx.require(SYNC_ROLE, "export bundles")
    target_dir = Path(target_dir)
    if not target_dir.is_dir():
        raise ValidationError(f"{target_dir} is not a folder; choose a folder or a USB drive.", "target")
    targets = export_targets(ctx)
    if ctx.installation.is_office:
        if all_:
            chosen = [t for t in targets if t.role == "establishment"]
            if not chosen:
                raise NotFound("No establishment is enrolled yet: enrol their PCs first (Sync → Trust).")
        elif for_installation:
            chosen = [t for t in targets if t.installation_id == for_installation]
            if not chosen:
                raise NotFound(f"Installation {for_installation} is not an enrolled establishment PC.")
        else:
            raise ValidationError("Say which establishment the bundle is for, or export for all of them.", "for")
    else:
        if for_installation or all_:
            raise ValidationError("An establishment's bundles always go to the SRC office.", "for")
        chosen = [t for t in targets if t.role == "office"]
        if not chosen:
            raise NotFound("The SRC office is not enrolled on this PC yet: enrol its card first (Sync → Trust).")
    me = trust.local_identity(ctx)
    results = []
    for i, recipient in enumerate(chosen):
        if progress:
            progress(i, len(chosen), f"Writing the bundle for {recipient.name}")
        results.append(_export_one(ctx, me, recipient, target_dir, full))
    if progress:
        progress(len(chosen), len(chosen), "Done")
    return results


def _export_one(ctx: Context, me: Any, recipient: trust.TrustedInstallation, target_dir: Path,
                full: bool) -> ExportResult:
    inst = ctx.installation
    with ctx.read() as s:
        row = s.get(Installation, recipient.installation_id)
        watermark = 0 if full else row.sent_watermark
        # Numbered per recipient, so each recipient sees 1, 2, 3… and any gap is a bundle it lacks.
        seq = (s.execute(select(func.max(BundleRecord.seq)).where(
            BundleRecord.origin_id == inst.id, BundleRecord.recipient_id == recipient.installation_id,
            BundleRecord.direction == "sent")).scalar_one() or 0) + 1
        revocations = trust.revocations_for_bundle(s) if inst.is_office else []
    recipients = [{"installation_id": recipient.installation_id, "age_recipient": recipient.age_recipient,
                   "kind": "installation"}]
    if recipient.recovery_recipient:
        recipients.append({"installation_id": recipient.installation_id,
                           "age_recipient": recipient.recovery_recipient, "kind": "recovery"})
    bundle_id = new_id()
    created = _now()
    with ctx.db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        raw.execute("BEGIN")  # one snapshot for everything the bundle reads
        try:
            top = raw.execute("SELECT coalesce(max(seq), 0) FROM change_log").fetchone()[0]
            lines = _change_lines(raw, inst, recipient, watermark, top, full)
            written = fmt.write_bundle(
                target_dir, name=fmt.file_name(inst.establishment_code or recipient.establishment_code, inst.id, seq),
                key=me.signing_key,
                origin={"installation_id": inst.id, "role": inst.role, "establishment": inst.establishment_code,
                        "name": inst.name},
                seq=seq, bundle_id=bundle_id, created=created, schema=head_revision(), full=full,
                recipients=recipients, change_lines=lines, revocations=revocations,
            )
        finally:
            drop_scope(raw)
            raw.execute("ROLLBACK")
    try:
        with ctx.db.session(ctx.actor) as s:
            s.add(BundleRecord(
                bundle_id=bundle_id, direction="sent", origin_id=inst.id, recipient_id=recipient.installation_id,
                seq=seq, created_at=created, recorded_at=_now(), file_name=written.path.name, full=full,
                schema=head_revision(), changes=written.changes, watermark=top,
                counts=json.dumps(written.counts, sort_keys=True), summary="{}",
                user_id=ctx.user.id if ctx.user else None,
            ))
            row = s.get(Installation, recipient.installation_id)
            row.sent_watermark = max(row.sent_watermark or 0, top)
    except BaseException:
        written.path.unlink(missing_ok=True)  # not recorded: the file must not travel
        raise
    return ExportResult(written.path, recipient.installation_id, recipient.name, seq, written.changes,
                        written.counts, written.size, full)


_COLUMNS = "c.table_name, c.row_id, c.hlc, c.origin_id, c.user_id, c.op, c.fields, c.base"
_ORDER = " ORDER BY c.table_name, c.row_id, c.hlc, c.origin_id"


def _change_lines(raw: Any, inst: Any, recipient: trust.TrustedInstallation, watermark: int, top: int,
                  full: bool) -> Iterator[tuple[str, bytes]]:
    if not inst.is_office:
        # To the office: what this PC made since the last bundle (the office has the rest), or
        # with --full all it ever made (e.g. for an office restored from an old backup). An
        # establishment speaks only for itself: the office refuses changes it says others made.
        since = "" if full else "c.seq > :wm AND "
        sql = f"SELECT {_COLUMNS} FROM change_log c WHERE {since}c.seq <= :top AND c.origin_id = :me" + _ORDER
    else:
        est = _establishment_of(raw, recipient)
        build_scope(raw, est, fresh_since=None if full else watermark, recipient_id=recipient.installation_id,
                    top=top)
        join = (f"SELECT {_COLUMNS} FROM change_log c JOIN temp.sync_scope s "
                "ON s.table_name = c.table_name AND s.row_id = c.row_id WHERE c.seq <= :top")
        sql = join + ("" if full else " AND ((c.seq > :wm AND c.origin_id != :r) OR s.fresh = 1)") + _ORDER
    params = {"top": top, "wm": watermark, "me": inst.id, "r": recipient.installation_id}
    line = fmt.change_line
    for t, r, h, o, u, op, f, b in raw.execute(sql, params):
        yield t, line(t, r, h, o, u, op, f, b)


def _establishment_of(raw: Any, recipient: trust.TrustedInstallation) -> str:
    row = raw.execute("SELECT establishment_id FROM installation WHERE id = ?", (recipient.installation_id,)).fetchone()
    if row is None or row[0] is None:
        raise NotFound(f"{recipient.name} is not linked to an establishment.")
    return row[0]


# -- verify and import ----------------------------------------------------------------------


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

    def describe(self) -> str:
        where = f"{self.origin_name} ({self.origin_code})" if self.origin_code else self.origin_name
        return (f"Bundle {self.seq} from {where}, made {self.created:%d %b %Y %H:%M} UTC: "
                f"{self.total} change(s)" + (", already imported." if self.already_imported else "."))


@dataclass
class _Opened:
    verified: Verified
    payload: fmt.Payload
    public: PublicKey


def _open(ctx: Context, path: Path) -> _Opened:
    path = Path(path)
    inst = ctx.installation
    now = _now()
    outer = fmt.open_outer(path)
    try:
        header = outer.header
        if header.origin_id == inst.id:
            raise BundleRefused("This bundle was made by this PC; import it on the PC it is for.")
        with ctx.read() as s:
            origin = trust.installation_identity(s, header.origin_id)
            if origin is None or not origin.signing_key:
                raise BundleRefused(
                    f"The bundle is signed by installation {header.origin_id}, which is not enrolled on this PC: "
                    "enrol its card (Sync → Trust) after checking its fingerprint by phone."
                )
            public = PublicKey.from_line(origin.signing_key)
            if public.key_id != outer.key_id:
                raise BundleRefused(
                    f"The bundle claims to come from {origin.name} but is signed with a different key "
                    f"(key id {_key_id_hex(outer.key_id)}); it was refused."
                )
            _check_revoked(origin, header.seq, None)
            already = s.execute(select(BundleRecord).where(BundleRecord.bundle_id == header.bundle_id)).scalar_one_or_none()
            same_seq = s.execute(select(BundleRecord).where(
                BundleRecord.origin_id == header.origin_id, BundleRecord.recipient_id == inst.id,
                BundleRecord.seq == header.seq)).scalar_one_or_none()
            seqs = set(s.execute(select(BundleRecord.seq).where(
                BundleRecord.origin_id == header.origin_id, BundleRecord.direction == "received")).scalars())
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
        if already is None and same_seq is not None:
            raise BundleRefused(
                f"{origin.name} already sent a different bundle numbered {header.seq}; this one is a replay or "
                "a forgery and was refused."
            )
        last = max(seqs, default=0)
        if already is None and header.seq > last + MAX_SEQ_JUMP:
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
            counts=payload.counts, revocations=m["records"]["revocations"], already_imported=already is not None,
            last_seq=last, missing_before=sorted(set(range(1, top)) - seqs - {header.seq})[:1000],
        )
    except BaseException:
        payload.close()
        raise
    return _Opened(verified, payload, public)


def _key_id_hex(key_id: bytes) -> str:
    from ..sync.minisign import _key_id_hex as as_minisign_prints

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
    ctx.require(SYNC_ROLE, "check bundles")
    opened = _open(ctx, path)
    opened.payload.close()
    return opened.verified


@dataclass(frozen=True)
class ImportResult:
    verified: Verified
    already_imported: bool
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    conflicts: int = 0
    waiting: int = 0
    revocations: int = 0
    backup: Path | None = None

    def describe(self) -> str:
        v = self.verified
        if self.already_imported:
            return f"{v.path.name}: already imported; nothing changed."
        parts = [f"{self.new} new", f"{self.updated} updated", f"{self.unchanged} unchanged",
                 f"{self.conflicts} conflict(s)"]
        if self.waiting:
            parts.append(f"{self.waiting} waiting for an earlier bundle")
        return f"{v.path.name}: " + ", ".join(parts) + "."


def import_bundle(ctx: Context, path: Path, *, preview: Callable[[Verified], bool] | None = None,
                  progress: Progress | None = None, backup: bool = True) -> ImportResult:
    """Verify, preview (``preview`` returns False to stop), back up, then apply in one transaction."""
    ctx.require(SYNC_ROLE, "import bundles")
    opened = _open(ctx, path)
    v = opened.verified
    try:
        if v.already_imported:
            return ImportResult(v, True)
        if preview is not None and not preview(v):
            raise BundleRefused("Import cancelled; nothing was changed.")
        saved = timestamped_backup(ctx.db.data_dir, "before-import") if backup else None
        summary, revoked = _apply(ctx, opened, progress)
    finally:
        opened.payload.close()
    return ImportResult(v, False, summary.new, summary.updated, summary.unchanged, summary.conflicts,
                        summary.waiting, revoked, saved)


def _establishment_policy(v: Verified, dbapi: Any, *, scope_of: str | None) -> Callable[..., None]:
    """What a bundle from an establishment PC may change: only what it made itself (no change it
    says another installation made), user accounts only its own, and at the office only records
    in its scope (its people and sessions, people transferred in, shared reference data)."""
    origin = v.origin_id

    def check(table: str, row_id: str, changes: Any, existing_origin: str | None) -> None:
        for c in changes:
            if c.origin != origin:
                raise BundleRefused(
                    f"The bundle from {v.origin_name} carries changes it says another installation made; "
                    "it was refused."
                )
        if table == "app_user" and existing_origin is not None and existing_origin != origin:
            raise BundleRefused(
                f"The bundle from {v.origin_name} changes another installation's user accounts; it was refused."
            )
        if scope_of and existing_origin is not None and existing_origin != origin and not _in_scope(table, row_id):
            raise BundleRefused(
                f"The bundle from {v.origin_name} changes a {table.replace('_', ' ')} record that belongs to "
                "another establishment; it was refused."
            )

    _scope_cache: dict[tuple[str, str], bool] = {}

    def _in_scope(table: str, row_id: str) -> bool:
        if not _scope_cache:  # built when first needed: a usual week changes only its own records
            build_scope(dbapi, scope_of)
            _scope_cache[("", "")] = True
        key = (table, row_id)
        if key not in _scope_cache:
            _scope_cache[key] = dbapi.execute(
                "SELECT 1 FROM temp.sync_scope WHERE table_name = ? AND row_id = ?", key).fetchone() is not None
        return _scope_cache[key]

    return check


def _apply(ctx: Context, opened: _Opened, progress: Progress | None) -> tuple[Any, int]:
    try:
        return _apply_in_transaction(ctx, opened, progress)
    except (sqlite3.IntegrityError, IntegrityError) as exc:
        detail = str(getattr(exc, "orig", exc)).split("\n")[0]
        raise BundleRefused(
            f"The bundle's records clash with records on this PC ({detail}); nothing was changed."
        ) from exc


def _apply_in_transaction(ctx: Context, opened: _Opened, progress: Progress | None) -> tuple[Any, int]:
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
            policy = _establishment_policy(v, dbapi, scope_of=est)
        merger = Merger(dbapi, now=now, policy=policy)
        done = 0
        for table, row_id, changes in fmt.iter_groups(opened.payload, max_hlc=max_hlc):
            merger.add(table, row_id, changes)
            done += len(changes)
            if progress and done % 20_000 < len(changes):
                progress(done, v.total, "Applying changes")
        summary = merger.finish()
        if policy is not None:
            drop_scope(dbapi)
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


# -- history --------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    direction: str
    origin_id: str
    origin_name: str
    recipient_name: str
    seq: int
    created_at: dt.datetime
    recorded_at: dt.datetime
    file_name: str
    changes: int
    summary: dict[str, Any]
    full: bool


@dataclass(frozen=True)
class OriginHistory:
    origin_id: str
    origin_name: str
    entries: list[HistoryEntry]
    gaps: list[int]  # seqs not imported between 1 and the highest imported (received only)


def bundle_history(ctx: Context) -> list[OriginHistory]:
    """Bundles sent and received, per origin (this PC first), newest first, with gaps."""
    ctx.require("recorder", "see the bundle history")
    with ctx.read() as s:
        names = {i.id: i.name for i in s.execute(select(Installation)).scalars()}
        records = s.execute(select(BundleRecord).order_by(BundleRecord.origin_id, BundleRecord.seq.desc())).scalars()
        by_origin: dict[str, list[HistoryEntry]] = {}
        for r in records:
            by_origin.setdefault(r.origin_id, []).append(HistoryEntry(
                r.direction, r.origin_id, names.get(r.origin_id, r.origin_id), names.get(r.recipient_id, r.recipient_id),
                r.seq, r.created_at, r.recorded_at, r.file_name, r.changes, json.loads(r.summary or "{}"), r.full))
    out = []
    for origin, entries in by_origin.items():
        seqs = {e.seq for e in entries}
        gaps = [] if origin == ctx.installation.id else sorted(set(range(1, max(seqs))) - seqs)
        out.append(OriginHistory(origin, names.get(origin, origin), entries, gaps))
    out.sort(key=lambda h: (h.origin_id != ctx.installation.id, h.origin_name))
    return out


__all__ = ["ExportResult", "HistoryEntry", "ImportResult", "OriginHistory", "Verified", "bundle_history",
           "export_bundles", "export_targets", "import_bundle", "verify_bundle"]
