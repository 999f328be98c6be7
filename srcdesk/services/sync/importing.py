"""Import: bundle files checked once, previewed, applied after one backup.

:func:`import_bundles` serves the command line and the Sync page alike:

1. each file is verified and decrypted once (:func:`.verify.open_bundle`); a refusal stays with
   its file and the others go on; the opened payload is kept for the apply;
2. the automatic backup starts (in a thread of its own) as soon as something can be imported, so
   it runs while the person reads the preview (12 s at the office on a 2.5 GB database);
3. ``preview`` is asked once, for the whole import (the Sync page asks on the UI thread while
   the import waits on its worker; the command line prints it and goes on);
4. the backup is waited for, then the bundles are applied oldest first per origin, each in its
   own transaction (:func:`.apply.apply`), each file's outcome or refusal kept with it. Before a
   file is applied it is checked to be the file previewed, byte for byte, and the checks that
   depend on what was imported meanwhile run again (:func:`.verify.recheck`).

Every payload is released when its file is applied or refused, or when the person cancels; a
backup made for an import that applied nothing is deleted.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from ...backups import prune_automatic, timestamped_backup
from ...errors import DatabaseError, SrcdeskError
from ...sync import bundle as fmt
from ...sync.errors import BundleRefused
from ...untrusted import open_untrusted
from ..base import Context
from .apply import apply
from .common import Progress
from .history import HeldRecord, held_records, missing_bundles, outcome_text, records_count
from .verify import Opened, Verified, open_bundle, recheck

#: Decrypted bundles kept in memory between the check and the apply, in bytes of bundle file. A
#: bundle checked beyond it (an office importing several establishments' first, full bundles) is
#: released after its check and decrypted again when its turn comes, so memory stays bounded.
KEEP_OPEN_BYTES = 512 << 20


@dataclass(frozen=True)
class ImportResult:
    """What importing one bundle did. ``new``…``held`` count records and add up to
    :attr:`records`; ``conflicts`` counts values put in the conflict queue. ``held`` counts the
    records this bundle brought that can't be applied yet; records an earlier bundle brought that
    are still held when this import tries them again are in :attr:`held_again`, not counted."""

    verified: Verified
    already_imported: bool
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    conflicts: int = 0
    waiting: int = 0  # records whose creation or references come in a bundle not imported yet
    revocations: int = 0
    backup: Path | None = None
    held: int = 0  # records that can't be applied yet (they keep their last good state), with reasons
    merged: int = 0  # records made on two PCs, now one
    held_rows: tuple[tuple[str, str, str], ...] = ()  # (table, row id, reason) of the records held
    held_records: tuple[HeldRecord, ...] = ()  # the same, described for people
    held_again: tuple[HeldRecord, ...] = ()  # records an earlier bundle brought, tried again, still held

    @property
    def records(self) -> int:
        return records_count(self.counts())

    def counts(self) -> dict[str, int]:
        return {"new": self.new, "updated": self.updated, "unchanged": self.unchanged, "merged": self.merged,
                "waiting": self.waiting, "held": self.held, "conflicts": self.conflicts}

    def describe(self) -> str:
        v = self.verified
        if self.already_imported:
            return f"{v.path.name}: already imported; nothing changed."
        return f"{v.path.name}: {outcome_text(self.counts())}."


@dataclass(frozen=True)
class CheckedBundle:
    """One file of an import after its check: what it holds, or why it is refused."""

    path: Path
    verified: Verified | None = None
    error: BaseException | None = None
    same_as: Path | None = None  # an earlier file of this import holds the same bundle
    missing_before: tuple[int, ...] = ()  # numbers from its origin neither imported here nor in this import
    # The records it brings, per kind of record (table): what its import's outcome counts add up
    # to. (Its manifest counts changes: a record changed three times is three changes.) Empty when
    # not worked out: refused, already imported, or the same as another file.
    records: dict[str, int] = field(default_factory=dict)

    @property
    def record_total(self) -> int:
        return sum(self.records.values())

    @property
    def ready(self) -> bool:
        """It will be applied if the person goes on."""
        return (self.error is None and self.same_as is None and self.verified is not None
                and not self.verified.already_imported)


@dataclass(frozen=True)
class BatchPreview:
    """What :func:`import_bundles` asks about: every file chosen, in the order given."""

    files: tuple[CheckedBundle, ...]
    backing_up: bool  # the automatic backup is being made meanwhile

    @property
    def ready(self) -> list[CheckedBundle]:
        return [f for f in self.files if f.ready]


@dataclass(frozen=True)
class BundleOutcome:
    """What became of one file: imported (``result``, maybe "already imported") or refused
    (``error``, in the service's words). Neither: the person cancelled before it was applied."""

    path: Path
    verified: Verified | None
    result: ImportResult | None = None
    error: BaseException | None = None
    same_as: Path | None = None

    @property
    def applied(self) -> bool:
        return self.result is not None and not self.result.already_imported

    @property
    def refused(self) -> bool:
        return self.error is not None


@dataclass(frozen=True)
class ImportBatch:
    """What :func:`import_bundles` did, file by file (in the order given)."""

    outcomes: tuple[BundleOutcome, ...]
    backup: Path | None = None  # the one backup made before the first bundle was applied
    cancelled: bool = False  # the person said no at the preview: nothing was applied
    missing: dict[str, tuple[int, ...]] = field(default_factory=dict)  # origin name -> numbers not imported yet

    @property
    def applied(self) -> list[ImportResult]:
        return [o.result for o in self.outcomes if o.applied and o.result is not None]

    @property
    def refused(self) -> list[BundleOutcome]:
        return [o for o in self.outcomes if o.refused]

    @property
    def repeats(self) -> list[BundleOutcome]:
        return [o for o in self.outcomes if o.result is not None and o.result.already_imported]

    def totals(self) -> dict[str, int]:
        """The counts of every bundle applied, added up."""
        out = dict.fromkeys(("new", "updated", "unchanged", "merged", "waiting", "held", "conflicts"), 0)
        for r in self.applied:
            for key, value in r.counts().items():
                out[key] += value
        return out


#: Asked once with what the files hold; True goes on, False cancels (nothing is applied).
Preview = Callable[[BatchPreview], bool]


@dataclass(frozen=True)
class _Stamp:
    """A file as it was when it was checked: its size and a hash of every byte (a file rewritten
    with the same bytes is the same file)."""

    size: int
    digest: bytes

    @classmethod
    def of(cls, data: bytes) -> _Stamp:
        return cls(len(data), hashlib.blake2b(data).digest())

    @classmethod
    def read(cls, path: Path) -> tuple[_Stamp, bytes]:
        """The file's bytes, read once (regular file, capped: :func:`fmt.read_bundle_file`), and their stamp."""
        data = fmt.read_bundle_file(path)
        return cls.of(data), data

    def unchanged(self, path: Path) -> bool:
        try:
            if path.stat().st_size != self.size:
                return False
            with open_untrusted(path, limit=fmt.MAX_BUNDLE_BYTES, what="bundle", refuse=BundleRefused) as fh:
                return hashlib.file_digest(fh, "blake2b").digest() == self.digest  # streamed
        except (OSError, BundleRefused):
            return False


@dataclass
class _File:
    index: int
    path: Path
    stamp: _Stamp | None = None
    opened: Opened | None = None  # kept from the check to the apply (None: released, or refused)
    checked: CheckedBundle | None = None

    def release(self) -> None:
        if self.opened is not None:
            opened, self.opened = self.opened, None
            opened.payload.close()


def import_bundles(ctx: Context, paths: Sequence[Path], *, preview: Preview | None = None,
                   progress: Progress | None = None, backup: bool = True) -> ImportBatch:
    """Import bundle files: check each once, back up while ``preview`` is asked, apply oldest first
    per origin. A refused file never stops the others; its reason is in its :class:`BundleOutcome`.

    ``backup=False`` skips the automatic backup (tests, benchmarks, and the scratch copies that
    preflight checks import into)."""
    ctx.require("sync.bundles", "import bundles")
    files = [_File(i, Path(p)) for i, p in enumerate(paths)]
    backup_job: Future[Path] | None = None
    pool: ThreadPoolExecutor | None = None
    saved: Path | None = None
    try:
        _check(ctx, files, progress)
        checked = [f.checked for f in files if f.checked is not None]
        outcomes: list[BundleOutcome] = [_as_outcome(c) for c in checked]
        ready = [f for f in files if f.checked is not None and f.checked.ready]
        if not ready:
            return ImportBatch(tuple(outcomes), missing=_missing(ctx, checked))
        if backup:
            pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="srcdesk-backup")
            backup_job = pool.submit(timestamped_backup, ctx.db.data_dir, "before-import", prune=False)
        if preview is not None and not preview(BatchPreview(tuple(checked), backing_up=backup_job is not None)):
            return ImportBatch(tuple(outcomes), cancelled=True, missing=_missing(ctx, checked))
        if backup_job is not None:
            if progress and not backup_job.done():
                progress(0, 0, "Finishing the backup of the data…")
            saved = _backed_up(backup_job)
        _apply_all(ctx, ready, outcomes, saved, progress)
        if saved is not None:  # only now: a backup deleted unused must not have pruned another
            prune_automatic(saved.parent)
        return ImportBatch(tuple(outcomes), saved, missing=_missing(ctx, checked))
    finally:
        for f in files:
            f.release()
        if backup_job is not None and saved is None:
            _discard(backup_job)  # nothing was applied after it: it backs up nothing
        if pool is not None:
            pool.shutdown(wait=True)


def import_bundle(ctx: Context, path: Path, *, preview: Callable[[Verified], bool] | None = None,
                  progress: Progress | None = None, backup: bool = True) -> ImportResult:
    """One file through :func:`import_bundles`: the refusal is raised (``BundleRefused`` and the
    like) rather than returned; ``preview`` sees the one bundle and returns False to stop."""

    def ask(batch: BatchPreview) -> bool:
        return preview is None or all(preview(f.verified) for f in batch.ready if f.verified is not None)

    done = import_bundles(ctx, [path], preview=ask, progress=progress, backup=backup)
    [outcome] = done.outcomes
    if done.cancelled:
        raise BundleRefused("Import cancelled; nothing was changed.")
    if outcome.error is not None:
        raise outcome.error
    assert outcome.result is not None
    return outcome.result


# -- the steps --------------------------------------------------------------------------------


def _check(ctx: Context, files: list[_File], progress: Progress | None) -> None:
    """Verify and decrypt each file once; keep what it holds (or why it is refused) with it."""
    kept = 0
    first: dict[str, Path] = {}  # bundle id -> the first file that holds it
    for number, f in enumerate(files):
        if progress:
            progress(number, len(files), f"Checking {f.path.name} ({number + 1} of {len(files)})")
        try:
            # read once: what is stamped is what is checked; a change after this is seen at the apply
            f.stamp, data = _Stamp.read(f.path)
            f.opened = open_bundle(ctx, f.path, data)
        except Exception as exc:  # noqa: BLE001 - kept with its file; the others go on
            f.checked = CheckedBundle(f.path, error=exc)
            continue
        v = f.opened.verified
        if v.bundle_id in first:
            f.checked = CheckedBundle(f.path, v, same_as=first[v.bundle_id])
            f.release()
            continue
        first[v.bundle_id] = f.path
        if v.already_imported:
            f.checked = CheckedBundle(f.path, v)
            f.release()
            continue
        try:
            f.checked = CheckedBundle(f.path, v, records=_records_per_kind(f.opened))
        except Exception as exc:  # noqa: BLE001 - a bundle whose records can't be read is refused now
            f.checked = CheckedBundle(f.path, error=exc)
            f.release()
            continue
        if kept + f.stamp.size > KEEP_OPEN_BYTES and kept:
            f.release()  # decrypted again when its turn comes
        else:
            kept += f.stamp.size
    if progress:
        progress(len(files), len(files), "Checked")
    # The numbers still missing before each bundle, not counting the others of this import.
    coming: dict[str, set[int]] = {}
    for f in files:
        if f.checked is not None and f.checked.ready and f.checked.verified is not None:
            coming.setdefault(f.checked.verified.origin_id, set()).add(f.checked.verified.seq)
    for f in files:
        c = f.checked
        if c is not None and c.ready and c.verified is not None:
            own = coming[c.verified.origin_id]
            f.checked = replace(c, missing_before=tuple(s for s in c.verified.missing_before if s not in own))


def _records_per_kind(opened: Opened) -> dict[str, int]:
    """How many records (rows) of each kind the bundle brings, read from its changes (validated as
    the apply reads them; the clock limit is the apply's to judge)."""
    found: dict[str, int] = {}
    for table, _row_id, _changes in fmt.iter_groups(opened.payload, max_hlc=2**63 - 1):
        found[table] = found.get(table, 0) + 1
    return found


def _apply_all(ctx: Context, ready: list[_File], outcomes: list[BundleOutcome], saved: Path | None,
               progress: Progress | None) -> None:
    order = sorted(ready, key=lambda f: (_v(f).origin_name, _v(f).origin_id, _v(f).seq))
    grand = sum(max(_v(f).total, 1) for f in order)
    offset = 0
    for number, f in enumerate(order, 1):
        v = _v(f)
        size = max(v.total, 1)

        def step(done: int, _total: int, what: str, number: int = number, offset: int = offset, v: Verified = v,
                 size: int = size) -> None:
            if progress:
                progress(offset + min(done, size), grand, f"Bundle {number} of {len(order)} ({v.path.name}): {what}")

        step(0, size, "Applying changes")
        try:
            outcomes[f.index] = BundleOutcome(f.path, v, _apply_one(ctx, f, saved, step))
        except Exception as exc:  # noqa: BLE001 - kept with its file; the others go on
            outcomes[f.index] = BundleOutcome(f.path, v, error=exc)
        finally:
            f.release()
        offset += size
    if progress:
        progress(grand, grand, "Done")


def _apply_one(ctx: Context, f: _File, saved: Path | None, step: Progress) -> ImportResult:
    v = _v(f)
    if f.stamp is None or not f.stamp.unchanged(f.path):
        raise BundleRefused(f"{f.path.name} changed after it was checked; nothing was imported from it. Import it "
                            "again to see what it holds now.")
    if f.opened is None:  # released after its check to keep memory bounded
        f.opened = open_bundle(ctx, f.path)
        if f.opened.verified.bundle_id != v.bundle_id:
            raise BundleRefused(f"{f.path.name} changed after it was checked; nothing was imported from it.")
    if recheck(ctx, f.opened):
        return ImportResult(v, True)
    summary, revoked = apply(ctx, f.opened, step)
    listed = [(str(t), str(r), str(why)) for t, r, why in summary.held_rows]
    again = [(str(t), str(r), str(why)) for t, r, why in summary.held_again_rows]
    with ctx.read() as s:
        held, held_again = tuple(held_records(s, listed)), tuple(held_records(s, again))
    return ImportResult(v, False, new=summary.new, updated=summary.updated, unchanged=summary.unchanged,
                        conflicts=summary.conflicts, waiting=summary.waiting, revocations=revoked, backup=saved,
                        held=summary.held, merged=summary.merged, held_rows=tuple(listed), held_records=held,
                        held_again=held_again)


def _backed_up(job: Future[Path]) -> Path:
    try:
        return job.result()
    except SrcdeskError as exc:
        raise DatabaseError(f"Couldn't back up the data before the import ({exc}); nothing was imported.") from exc
    except (OSError, sqlite3.Error) as exc:
        detail = getattr(exc, "strerror", None) or exc
        raise DatabaseError(f"Couldn't back up the data before the import ({detail}); nothing was imported.") from exc


def _discard(job: Future[Path]) -> None:
    """Wait for a backup no bundle was applied after, and delete it."""
    try:
        made = job.result()
    except Exception:  # noqa: BLE001 - the import is over either way; a failed backup left nothing
        return
    made.unlink(missing_ok=True)


def _missing(ctx: Context, checked: Sequence[CheckedBundle]) -> dict[str, tuple[int, ...]]:
    """Bundles from the origins of this import that are still not here, by origin name."""
    names = {c.verified.origin_id: c.verified.origin_name for c in checked if c.verified is not None}
    if not names:
        return {}
    with ctx.read() as s:
        gaps = missing_bundles(s, names)
    return {names[origin]: tuple(seqs) for origin, seqs in sorted(gaps.items(), key=lambda kv: names[kv[0]]) if seqs}


def _as_outcome(c: CheckedBundle) -> BundleOutcome:
    """A file's outcome as checked (replaced by the apply's for the files applied)."""
    if c.error is not None:
        return BundleOutcome(c.path, c.verified, error=c.error)
    assert c.verified is not None
    if c.same_as is not None or c.verified.already_imported:
        return BundleOutcome(c.path, c.verified, ImportResult(c.verified, True), same_as=c.same_as)
    return BundleOutcome(c.path, c.verified)


def _v(f: _File) -> Verified:
    assert f.checked is not None and f.checked.verified is not None
    return f.checked.verified
