"""``srcdesk report steering …``: the Recovery Strategy Steering Group report as a PDF.

The same service as the Dashboard's "Steering Group report…" (srcdesk.services.steering); one line
per refusal, exit status 1 (see srcdesk.cli).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    report = sub.add_parser("report", help="reports from the figures: the Steering Group report (coordinators)")
    rsub = report.add_subparsers(dest="report_command", metavar="REPORT", required=True)
    steering = rsub.add_parser(
        "steering", help="the Recovery Strategy Steering Group report as a PDF (coordinators)",
        description="The Recovery Strategy Steering Group report: headline figures with the change from the "
        "previous period, charts, a table by establishment, the workplan's progress, the data's freshness and "
        "your notes. Counts of 1-9 people show as <10 unless --no-suppress is given.")
    steering.add_argument("--period", required=True, metavar="PERIOD",
                          help="a plan year (2025-26) or a quarter of one (2025-Q3: October-December 2025)")
    steering.add_argument("--to", required=True, type=Path, metavar="FILE.pdf", help="the PDF to write")
    steering.add_argument("--establishment", metavar="CODE", help="one establishment's report (e.g. PER)")
    steering.add_argument("--notes", type=Path, metavar="FILE", help="a text file (UTF-8) of notes to include")
    steering.add_argument("--no-suppress", action="store_true",
                          help="show counts of 1-9 people as they are: for use inside SRC only (every page "
                               "says 'Not for circulation outside SRC')")


def _establishment_id(ctx: Any, code: str) -> str:
    from .errors import NotFound
    from .services import dashboard

    wanted = code.strip().upper()
    for eid, est_code, _name in dashboard.establishments(ctx):
        if est_code.upper() == wanted:
            return eid
    raise NotFound(f"No establishment you can report on has the code {code}.")


def _notes(path: Path | None) -> str:
    from .cli import Refused

    if path is None:
        return ""
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise Refused(f"The notes could not be read from {path} ({reason}).") from exc


def run(args: argparse.Namespace, ctx: Any) -> int:
    from .cli import UsageError
    from .reports.periods import parse_period
    from .services import steering

    if args.to.suffix.lower() != ".pdf":
        raise UsageError("--to must be a file ending in .pdf")
    period = parse_period(args.period)
    notes = _notes(args.notes)
    establishment_id = _establishment_id(ctx, args.establishment) if args.establishment else None

    def progress(done: int, total: int, what: str) -> None:
        if sys.stderr.isatty():
            print(f"\r{what:<50}", end="", file=sys.stderr, flush=True)

    path = steering.write_report(ctx, period, args.to, establishment_id=establishment_id, notes=notes,
                                 suppressed=not args.no_suppress, progress=progress)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    warning = " Small numbers are NOT hidden in it: Not for circulation outside SRC." if args.no_suppress else ""
    print(f"Wrote the Steering Group report for {period.label} to {path}.{warning}")
    return 0
