"""The Sync page's words: times, bundle numbers, counts and refusals as people read them.

Plain functions (no widgets), shared by the tabs of :mod:`srcdesk.ui.pages.sync` and the dialogs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from ...dates import day_month_time, day_month_year_time
from ...errors import SrcdeskError
from ...services import conflicts as conflict_service
from ...services.sync import HeldRecord, Verified
from ...words import plural
from ..errors import report_unexpected

# What each kind of record is called in counts. Accounts travel only as the names of who recorded
# what (never with a password: nobody can sign in with them elsewhere), and are called so.
SINGULARS = {"app_user": "staff name (who recorded)"}
PLURALS = {
    "person": "people", "app_user": "staff names (who recorded)", "attendance": "register lines",
    "attendance_role": "attendance roles", "attendance_status": "attendance statuses",
    "milestone_achievement": "milestones reached", "milestone_definition": "ladder levels",
    "milestone_evidence": "milestone evidence", "person_transfer": "transfers", "session_facilitator": "facilitators",
    "community_organisation": "community organisations", "organisation_link": "organisation links",
    "plan_focus": "plan focuses", "plan_target": "plan targets", "plan_year": "plan years",
    "recruit_cohort": "recruit cohorts", "referral_stage": "referral stages", "liberation_record": "liberation records", "activity_type": "activity types",
}

UNEXPECTED = "something unexpected went wrong; the details are in the error window."


def local_time(moment: dt.datetime | None) -> str:
    """A UTC time (naive, as the services keep them) as local time for people: 27 Nov 2026 14:05."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return day_month_year_time(moment.astimezone())


def short_time(moment: dt.datetime | None) -> str:
    """Like :func:`local_time`, without the year when it is this year: 27 Nov 14:05."""
    if moment is None:
        return ""
    local = (moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment).astimezone()
    if local.year == dt.datetime.now().astimezone().year:
        return day_month_time(local)
    return day_month_year_time(local)


def seq_runs(seqs: Sequence[int]) -> list[tuple[int, int]]:
    """[1, 2, 3, 7, 9, 10] → [(1, 3), (7, 7), (9, 10)]."""
    runs: list[tuple[int, int]] = []
    for seq in sorted(set(seqs)):
        if runs and seq == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], seq)
        else:
            runs.append((seq, seq))
    return runs


def seq_text(seqs: Sequence[int], limit: int = 6) -> str:
    """"4–6, 9 and 12" (at most ``limit`` runs, then "and more")."""
    parts = [f"{a}" if a == b else f"{a}–{b}" for a, b in seq_runs(seqs)]
    if len(parts) > limit:
        parts = [*parts[:limit], "more"]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def gap_sentence(origin: str, seqs: Sequence[int]) -> str:
    """"Bundles 4–6 from HMP Perth have not been imported yet." (or "Bundle 4 … has not")."""
    one = len(seqs) == 1
    return (f"{'Bundle' if one else 'Bundles'} {seq_text(seqs)} from {origin} "
            f"{'has' if one else 'have'} not been imported yet.")


def kind_text(table: str, count: int) -> str:
    """"1 person", "9 register lines", "1 staff name (who recorded)"."""
    single = SINGULARS.get(table) or conflict_service.TABLE_LABELS.get(table, table.replace("_", " ")).lower()
    return f"1 {single}" if count == 1 else f"{count} {PLURALS.get(table, single + 's')}"


def counts_text(counts: dict[str, int]) -> str:
    """Records per kind, the most first: {"person": 1, "attendance": 9} → "9 register lines, 1 person"."""
    parts = [kind_text(table, count) for table, count in
             sorted(counts.items(), key=lambda kv: (-kv[1], kind_text(kv[0], 1), kv[0])) if count]
    return ", ".join(parts) if parts else "nothing"


def changes_text(count: int) -> str:
    return plural(count, "change")


def records_text(count: int) -> str:
    return plural(count, "record")


def origin_text(v: Verified) -> str:
    """"HMP Perth (PER)", or the name alone when it already says the code."""
    if v.origin_code and v.origin_code not in v.origin_name:
        return f"{v.origin_name} ({v.origin_code})"
    return v.origin_name


def with_kind(name: str, kind: str, *, office: bool) -> str:
    """"HMP Perth (an establishment PC)"; the office's name alone when it says so already (not
    "SRC office (the SRC office)")."""
    return name if office and "office" in name.lower() else f"{name} ({kind})"


def one_line(text: str, limit: int = 120) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def held_sentence(held: Sequence[HeldRecord], *, limit: int = 3) -> str:
    """"1 record can't be applied yet and stays as it was: Session: 2 Dec 2026 10:00 — its
    session would end before it starts …." — at most ``limit`` named, the rest counted."""
    named = "; ".join(h.text() for h in held[:limit])
    more = len(held) - limit
    if more > 0:
        named += f"; and {records_text(more)} more, listed below"
    one = len(held) == 1
    return (f"{records_text(len(held))} can't be applied yet and {'stays as it was' if one else 'stay as they were'}"
            f": {named}.")


def error_text(error: BaseException) -> str:
    """A refusal in the service's words. An unexpected error is reported once, on arrival, by
    :func:`report_unexpected_errors`; here it is only named."""
    return str(error) if isinstance(error, SrcdeskError) else UNEXPECTED


def report_unexpected_errors(items: Sequence[Any]) -> None:
    """Open the error window for each ``item.error`` that is not a refusal (on the UI thread, once)."""
    for item in items:
        error = getattr(item, "error", None)
        if error is not None and not isinstance(error, SrcdeskError):
            report_unexpected(error)
