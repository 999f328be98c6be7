"""Export: bundles for the office (from an establishment) or for establishments (from the office)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from ...db import head_revision
from ...errors import DatabaseError, NotFound, ValidationError
from ...ids import new_id
from ...models import BundleRecord, Installation
from ...sync import bundle as fmt
from ...sync.changelog import CONTENT, canonical_json, row_fields
from ...sync.scope import build_scope, drop_scope, mark_fresh, remember, remembered, scope_memory
from .. import certificate_verify, trust
from ..base import Context
from ..clock import refuse_export_if_ahead
from .common import Progress
from .common import now as _now


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
    ctx.require("sync.bundles", "export bundles")
    refuse_export_if_ahead(ctx)
    target_dir = Path(target_dir)
    if not target_dir.is_dir():
        raise ValidationError(f"{target_dir} is not a folder; choose a folder or a USB drive.", "target")
    targets = export_targets(ctx)
    if ctx.installation.is_office:
        if all_:
            chosen = [t for t in targets if t.role == "establishment"]
            if not chosen:
                raise NotFound("No establishment is enrolled yet: enrol their PCs first (Sync → Trust, or 'srcdesk keys enrol').")
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
            raise NotFound("The SRC office is not enrolled on this PC yet: enrol its card first (Sync → Trust, or 'srcdesk keys enrol').")
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
        # Numbered per recipient, so each recipient sees 1, 2, 3… and any gap is a bundle it lacks.
        seq = (s.execute(select(func.max(BundleRecord.seq)).where(
            BundleRecord.origin_id == inst.id, BundleRecord.recipient_id == recipient.installation_id,
            BundleRecord.direction == "sent")).scalar_one() or 0) + 1
        revocations = trust.revocations_for_bundle(s) if inst.is_office else []
        # Only the office speaks for the estate: the keys that sign certificates, and which were revoked.
        issuers = certificate_verify.issuers_for_bundle(s) if inst.is_office else None
        statuses = certificate_verify.statuses_for_bundle(s) if inst.is_office else None
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
            watermark = 0 if full else raw.execute(
                "SELECT sent_watermark FROM installation WHERE id = ?", (recipient.installation_id,)).fetchone()[0]
            memory = _prepare_scope(raw, recipient, watermark, top, full) if inst.is_office else None
            lines = _change_lines(raw, inst, recipient, watermark, top, full)
            written = fmt.write_bundle(
                target_dir, name=fmt.file_name(origin_code=inst.establishment_code, recipient_code=recipient.establishment_code,
                                   origin_id=inst.id, recipient_id=recipient.installation_id,
                                   to_office=not inst.is_office, seq=seq),
                key=me.signing_key,
                origin={"installation_id": inst.id, "role": inst.role, "establishment": inst.establishment_code,
                        "name": inst.name},
                seq=seq, bundle_id=bundle_id, created=created, schema=head_revision(), full=full,
                recipients=recipients, change_lines=lines, revocations=revocations,
                certificate_issuers=issuers, certificate_status=statuses,
            )
        finally:
            raw.execute("DROP TABLE IF EXISTS temp.sync_send")
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
            if memory is not None:  # with the bundle's record, or not at all (a seq clash rolls both back)
                remember(s.connection().connection.driver_connection, recipient.installation_id, *memory)
    except BaseException:
        written.path.unlink(missing_ok=True)  # not recorded: the file must not travel
        raise
    return ExportResult(written.path, recipient.installation_id, recipient.name, seq, written.changes,
                        written.counts, written.size, full)


def _prepare_scope(raw: Any, recipient: trust.TrustedInstallation, watermark: int, top: int,
                   full: bool) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """At the office, in the export's snapshot: the recipient's scope (``temp.sync_scope``), the
    rows new to it marked fresh, and its memory of what it was sent (before, after this bundle).

    The office remembers the people each recipient's scope held and what was waiting here
    (:mod:`srcdesk.sync.scope`): anything that entered the scope since the last bundle, by
    whatever path, goes in this one with its whole history. ``--full`` (or a first bundle) sends
    everything in scope anyway, and sets the memory afresh."""
    est = _establishment_of(raw, recipient)
    build_scope(raw, est)
    before = remembered(raw, recipient.installation_id)
    if watermark and not full:
        mark_fresh(raw, est, recipient.installation_id, watermark=watermark, top=top)
    return before, scope_memory(raw)


def _change_lines(raw: Any, inst: Any, recipient: trust.TrustedInstallation, watermark: int, top: int,
                  full: bool) -> Iterator[tuple[str, bytes]]:
    """The bundle's changes in (table, row, hlc, origin) order. An insert logged without its values
    (they are the row's own: sync.changelog) takes them from its row."""
    params = {"top": top, "wm": watermark, "me": inst.id, "r": recipient.installation_id}
    picked = False
    if not inst.is_office:
        # To the office: what this PC made since the last bundle (the office has the rest), or
        # with --full all it ever made (e.g. for an office restored from an old backup). An
        # establishment speaks only for itself: the office refuses changes it says others made.
        source = "change_log c"
        where = ("" if full else "c.seq > :wm AND ") + "c.seq <= :top AND c.origin_id = :me"
    elif full or not watermark:
        # Everything in scope (but, unless --full, what the recipient made itself): read table by
        # table along the log's index.
        source = "change_log c JOIN temp.sync_scope s ON s.table_name = c.table_name AND s.row_id = c.row_id"
        where = "c.seq <= :top" + ("" if full else " AND c.origin_id != :r")
    else:
        # Changes logged since the last bundle to rows in scope, and every change of the rows new
        # to the recipient (fresh), but none it made itself: picked once, by the log's order and
        # the fresh rows' index, instead of reading a decade of log per table.
        raw.execute("CREATE TEMP TABLE sync_send (table_name TEXT, seq INTEGER, PRIMARY KEY (table_name, seq)) "
                    "WITHOUT ROWID")
        raw.execute(
            "INSERT INTO temp.sync_send SELECT c.table_name, c.seq FROM change_log c CROSS JOIN temp.sync_scope s "
            "ON s.table_name = c.table_name AND s.row_id = c.row_id "
            "WHERE c.seq > :wm AND c.seq <= :top AND c.origin_id != :r AND s.fresh = 0", params)
        raw.execute(
            "INSERT INTO temp.sync_send SELECT c.table_name, c.seq FROM temp.sync_scope s CROSS JOIN change_log c "
            "ON c.table_name = s.table_name AND c.row_id = s.row_id "
            "WHERE s.fresh = 1 AND c.seq <= :top AND c.origin_id != :r", params)
        picked = True
    line = fmt.change_line
    for table in sorted(CONTENT):
        columns = ", ".join(f"r.{c}" for c in CONTENT[table])
        # an insert logged without its values takes them, and its user, from its row
        select_ = (f"SELECT c.row_id, c.hlc, c.origin_id, CASE WHEN c.fields IS NULL THEN r.created_by ELSE c.user_id END, "
                   f"c.op, c.fields, c.base, r.id, {columns} FROM ")
        rows = f"LEFT JOIN {table} r ON c.fields IS NULL AND r.id = c.row_id "
        if picked:
            sql = (f"{select_}temp.sync_send k CROSS JOIN change_log c ON c.seq = k.seq {rows}"
                   "WHERE k.table_name = :t ORDER BY c.row_id, c.hlc, c.origin_id")
        else:
            sql = f"{select_}{source} {rows}WHERE c.table_name = :t AND {where} ORDER BY c.row_id, c.hlc, c.origin_id"
        cur = raw.execute(sql, {**params, "t": table})
        try:
            for r, h, o, u, op, f, b, here, *values in cur:
                if f is None:
                    if here is None:
                        raise DatabaseError(
                            f"The change log names a {table} record that is not in its table ({r}); run "
                            "'srcdesk check' and restore the last good backup.")
                    f = canonical_json(row_fields(table, values))
                yield table, line(table, r, h, o, u, op, f, b)
        finally:
            cur.close()


def _establishment_of(raw: Any, recipient: trust.TrustedInstallation) -> str:
    row = raw.execute("SELECT establishment_id FROM installation WHERE id = ?", (recipient.installation_id,)).fetchone()
    if row is None or row[0] is None:
        raise NotFound(f"{recipient.name} is not linked to an establishment.")
    return row[0]
