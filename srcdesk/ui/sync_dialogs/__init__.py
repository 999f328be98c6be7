"""The Sync page's dialogs and the helpers its tabs share, one module per job:

* :mod:`.text` — times, bundle numbers, counts and refusals in people's words;
* :mod:`.views` — readable colours, tables with coloured rows, column fitting, notes;
* :mod:`.preview` — the import preview (what the chosen files hold, before anything is applied);
* :mod:`.trust` — enrol an installation (card + fingerprint read out by phone), revoke one;
* :mod:`.conflict` — settle a conflict with a value of one's own.

Every dialog is non-blocking (``show()``/``open()``) and does its work in the background; a
service's refusal is shown in the dialog in its own words.
"""

from .conflict import ConflictEditDialog, side_origin, side_text
from .preview import ImportPreviewDialog, checked_state, describe_checked
from .text import (
    changes_text,
    counts_text,
    error_text,
    gap_sentence,
    held_sentence,
    local_time,
    one_line,
    origin_text,
    records_text,
    report_unexpected_errors,
    seq_runs,
    seq_text,
    short_time,
    with_kind,
)
from .trust import EnrolDialog, RevokeDialog, describe_identity, enrol_card_file, peek_card, revoked_scope
from .views import (
    ColouredModel,
    ColouredPagedModel,
    error_colour,
    fit_columns,
    monospace_font,
    note,
    select_first,
    warning_colour,
)

__all__ = [
    "ColouredModel", "ColouredPagedModel", "ConflictEditDialog", "EnrolDialog", "ImportPreviewDialog", "RevokeDialog",
    "changes_text", "checked_state", "counts_text", "describe_checked", "describe_identity", "enrol_card_file",
    "error_colour", "error_text", "fit_columns", "gap_sentence", "held_sentence", "local_time", "monospace_font",
    "note", "one_line", "origin_text", "peek_card", "records_text", "report_unexpected_errors", "revoked_scope",
    "select_first", "seq_runs", "seq_text", "short_time", "side_origin", "side_text", "warning_colour",
    "with_kind",
]
