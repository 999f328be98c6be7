"""``srcdesk export …``: lists and figures to XLSX or CSV, and the record of exports.

The same service as every list's "Export…" (:mod:`srcdesk.services.exports`): the same filters,
permissions (personal data needs a coordinator) and record. One line at the end; exit status 1 for
a refusal (see srcdesk.cli).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

WHAT = ("sessions", "attendance", "people", "indicators")
# An export only reads, apart from its one row in the export record (SQLite's own locking covers
# it): it runs beside an open app, like the other read-only commands (srcdesk.cli.READ_ONLY).
READ_ONLY = {*WHAT, "log"}


def add_parser(sub: Any) -> None:
    exp = sub.add_parser(
        "export", help="export sessions, attendance, people or the indicators to XLSX or CSV (recorded)",
        description="Write a list or the figures to an Excel workbook or a CSV file. Lists with people's names "
        "(attendance, people) need a coordinator; sessions and the indicators any role. Every export is "
        "recorded: 'srcdesk export log' lists them.")
    esub = exp.add_subparsers(dest="export_command", metavar="WHAT", required=True)
    helps = {"sessions": "sessions (no names): date, time, establishment, what, present, on register",
             "attendance": "one row per register entry, with the person's name and prison number (coordinators)",
             "people": "people: names, prison numbers, establishment, liberation date (coordinators)",
             "indicators": "the headline figures by establishment for a period (--period; small numbers "
                           "of people as \"<10\" unless --no-suppress)"}
    for what in WHAT:
        p = esub.add_parser(what, help=helps[what])
        p.add_argument("--establishment", metavar="CODE", help="one establishment's (at the office; e.g. PER)")
        if what in ("sessions", "attendance"):
            p.add_argument("--from", dest="date_from", metavar="DATE", help="from this day, e.g. 1/4/2025")
            p.add_argument("--until", dest="date_to", metavar="DATE", help="until this day (included)")
        if what in ("sessions", "attendance", "indicators"):
            p.add_argument("--period", metavar="P", required=what == "indicators",
                           help="a plan year (2025-26) or a quarter (2025-Q3)")
        if what == "people":
            p.add_argument("--search", help="words of the name, or the start of the prison number")
        if what == "indicators":
            p.add_argument("--no-suppress", dest="suppress", action="store_false",
                           help="show counts of 1-9 people as they are (for use inside SRC only)")
        p.add_argument("--format", choices=("xlsx", "csv"), help="xlsx or csv (default: from --to's ending)")
        p.add_argument("--to", type=Path, required=True, metavar="FILE", help="the file to write (replaced whole)")
    log = esub.add_parser("log", help="the record of exports: who exported what, and when")
    log.add_argument("--limit", type=int, default=50, help="how many, newest first (default 50)")


def _filters(args: argparse.Namespace, ctx: Any) -> dict[str, Any]:
    from .cli import UsageError
    from .services import eligibility

    f: dict[str, Any] = {}
    if args.establishment:
        f["establishment_id"] = eligibility.establishment_by_code(ctx, args.establishment)
    period = getattr(args, "period", None)
    if args.export_command == "indicators":
        f["period"] = period
        f["suppress"] = args.suppress
    elif period:
        from .reports.periods import parse_period

        if args.date_from or args.date_to:
            raise UsageError("give either --period or --from/--until, not both")
        p = parse_period(period)
        f["date_from"], f["date_to"] = p.start, p.end
    else:
        for key in ("date_from", "date_to"):
            if getattr(args, key, None):
                f[key] = getattr(args, key)
    if getattr(args, "search", None):
        f["query"] = args.search
    return f


def _format(args: argparse.Namespace) -> str:
    from .cli import UsageError

    if args.format:
        return args.format
    ending = args.to.suffix.lower().lstrip(".")
    if ending not in ("xlsx", "csv"):
        raise UsageError("say --format xlsx or --format csv (or give --to a name ending in .xlsx or .csv)")
    return ending


def run(args: argparse.Namespace, ctx: Any) -> int:
    from .dates import day_month_year_time
    from .services import exports

    if args.export_command == "log":
        rows = exports.export_log(ctx, limit=args.limit)
        if not rows:
            print("Nothing has been exported here.")
        for r in rows:
            print(f"{day_month_year_time(r.exported_at)} UTC  {r.user_name:<20} {r.what:<12} "
                  f"{'personal' if r.personal else 'figures ':<8} {r.rows:>9,} rows  {r.file_format:<4} {r.file_name}  "
                  f"{r.filters}")
        return 0
    file_format = _format(args)

    def progress(done: int, total: int, what: str) -> None:
        if sys.stderr.isatty():
            print(f"\r{what}   ", end="", file=sys.stderr, flush=True)

    result = exports.export(ctx, args.export_command, args.to, file_format=file_format, filters=_filters(args, ctx),
                            progress=progress)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(result.message())
    return 0
