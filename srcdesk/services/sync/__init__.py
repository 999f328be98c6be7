"""Sync by bundles: export for the office (or, at the office, for establishments), verify, import.

An import goes: outer signature → decrypt → inner signature → manifest and hashes → preview
counts → automatic backup → apply in one transaction → summary. Any refusal leaves the
database exactly as it was. See :mod:`srcdesk.sync.bundle` for the file and
:mod:`srcdesk.sync.merge` for the merge.

One module per job: :mod:`.export`, :mod:`.verify` (every check before anything is applied),
:mod:`.importing` (preview, backup, apply), :mod:`.apply` (the transaction and who may change
what), :mod:`.history`.
"""

from .common import MAX_SEQ_JUMP, SYNC_ROLE, Progress
from .common import now as _now
from .export import ExportResult, export_bundles, export_targets
from .history import HistoryEntry, OriginHistory, bundle_history
from .importing import ImportResult, import_bundle
from .verify import Verified, verify_bundle

__all__ = ["MAX_SEQ_JUMP", "SYNC_ROLE", "ExportResult", "HistoryEntry", "ImportResult", "OriginHistory", "Progress",
           "Verified", "_now", "bundle_history", "export_bundles", "export_targets", "import_bundle",
           "verify_bundle"]
