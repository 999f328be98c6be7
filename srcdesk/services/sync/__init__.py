"""Sync by bundles: export for the office (or, at the office, for establishments), verify, import.

An import goes: outer signature → decrypt → inner signature → manifest and hashes → preview
counts → automatic backup → apply in one transaction → summary. Any refusal leaves the
database exactly as it was. See :mod:`srcdesk.sync.bundle` for the file and
:mod:`srcdesk.sync.merge` for the merge.

One module per job: :mod:`.export`, :mod:`.verify` (every check before anything is applied),
:mod:`.importing` (:func:`import_bundles`: check each file once, back up while the preview is
read, apply; the command line and the Sync page both use it), :mod:`.apply` (the transaction and
who may change what), :mod:`.history` (with the records an import held, and why).
"""

from .common import MAX_SEQ_JUMP, Progress
from .common import now as _now
from .export import ExportResult, export_bundles, export_targets
from .history import HELD_RETRIED, HeldRecord, HistoryEntry, OriginHistory, bundle_history, outcome_text
from .importing import (
    BatchPreview,
    BundleOutcome,
    CheckedBundle,
    ImportBatch,
    ImportResult,
    Preview,
    import_bundle,
    import_bundles,
)
from .verify import Verified, verify_bundle

__all__ = ["HELD_RETRIED", "MAX_SEQ_JUMP", "BatchPreview", "BundleOutcome", "CheckedBundle",
           "ExportResult", "HeldRecord", "HistoryEntry", "ImportBatch", "ImportResult", "OriginHistory", "Preview",
           "Progress", "Verified", "_now", "bundle_history", "export_bundles", "export_targets", "import_bundle",
           "import_bundles", "outcome_text", "verify_bundle"]
