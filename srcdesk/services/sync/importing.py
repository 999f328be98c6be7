"""Import: verify, preview, back up, apply."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ...db import timestamped_backup
from ...sync.errors import BundleRefused
from ..base import Context
from .apply import apply
from .common import SYNC_ROLE, Progress
from .verify import Verified, open_bundle


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
    opened = open_bundle(ctx, path)
    v = opened.verified
    try:
        if v.already_imported:
            return ImportResult(v, True)
        if preview is not None and not preview(v):
            raise BundleRefused("Import cancelled; nothing was changed.")
        saved = timestamped_backup(ctx.db.data_dir, "before-import") if backup else None
        summary, revoked = apply(ctx, opened, progress)
    finally:
        opened.payload.close()
    return ImportResult(v, False, summary.new, summary.updated, summary.unchanged, summary.conflicts,
                        summary.waiting, revoked, saved)
