"""``srcdesk initiatives …``: the recovery initiatives in establishments and the national map.

The same services as the Pathways page's Initiatives tab (srcdesk.services.community):
recorders record and edit their establishment's initiatives (the office: any establishment's);
everyone lists them (an establishment: its own); the national map is the office's year-1
"mapping and review". One line per refusal, exit status 1 (see srcdesk.cli).
"""

from __future__ import annotations

import argparse
from typing import Any

# Sub-commands that only read (they run beside an open app; srcdesk.cli.READ_ONLY).
READ_ONLY = {"list", "map"}

KINDS = ("recovery_cafe", "recovery_community", "mutual_aid", "recovery_pathway", "peer_support", "other")
STATUSES = ("planned", "running", "paused", "ended")
RUNNERS = ("sps", "healthcare", "third_sector", "peers")


def add_parser(sub: Any) -> None:
    ini = sub.add_parser("initiatives", help="recovery initiatives in establishments (cafés, recovery communities, "
                         "mutual-aid groups, pathways) and the national map")
    isub = ini.add_subparsers(dest="initiatives_command", metavar="ACTION", required=True)

    lst = isub.add_parser("list", help="the initiatives (an establishment: its own; the office: every "
                          "establishment's)")
    lst.add_argument("--establishment", metavar="CODE", help="one establishment (at the office)")
    lst.add_argument("--status", choices=STATUSES)
    lst.add_argument("--kind", choices=KINDS)

    add = isub.add_parser("add", help="record an initiative (recorders; at the office name the establishment)")
    add.add_argument("--kind", required=True, choices=KINDS)
    add.add_argument("--name", required=True)
    add.add_argument("--establishment", metavar="CODE", help="at the office: the establishment it is in")
    add.add_argument("--run-by", choices=RUNNERS, default="sps", help="who runs it (default: sps)")
    add.add_argument("--meeting", metavar="PATTERN", help="its meeting pattern, e.g. \"Tuesdays 14:00, weekly\"")
    add.add_argument("--status", choices=STATUSES, default="running", help="default: running")
    add.add_argument("--started", metavar="DATE", help="when it started (planned: when it is to start)")
    add.add_argument("--ended", metavar="DATE", help="when it ended (with --status ended)")
    add.add_argument("--review-due", metavar="DATE", help="when its next review is due")
    add.add_argument("--notes")

    upd = isub.add_parser("update", help="change an initiative, or record its review (recorders)")
    upd.add_argument("initiative", metavar="ID|NAME", help="its id (the last 8 characters will do) or its name")
    upd.add_argument("--name")
    upd.add_argument("--kind", choices=KINDS)
    upd.add_argument("--run-by", choices=RUNNERS)
    upd.add_argument("--meeting", metavar="PATTERN", help="its meeting pattern (\"\" to clear)")
    upd.add_argument("--status", choices=STATUSES)
    upd.add_argument("--started", metavar="DATE")
    upd.add_argument("--ended", metavar="DATE")
    upd.add_argument("--notes")
    upd.add_argument("--reviewed", metavar="DATE", help="record a review made on DATE (with --review-due and "
                     "--review-notes)")
    upd.add_argument("--review-due", metavar="DATE", help="when the next review is due")
    upd.add_argument("--review-notes", metavar="TEXT", help="what the review found")

    isub.add_parser("map", help="the national map: each establishment's running initiatives by kind, the gaps "
                    "and reviews due")


def _est(ctx: Any, code: str | None) -> str | None:
    from .services import eligibility

    return eligibility.establishment_by_code(ctx, code) if code else None


def _line(r: Any, today: Any) -> str:
    from .dates import day_month_year

    due = ""
    if r.review_due_on is not None:
        due = f"; review due {day_month_year(r.review_due_on)}" + (" (OVERDUE)" if r.review_overdue(today) else "")
    meets = f"; meets {r.meeting_pattern}" if r.meeting_pattern else ""
    return (f"{r.id[-8:]}  {r.establishment_code:<4} {r.name} — {r.kind_label}, {r.status_with_date()}, "
            f"run by {r.run_by_label}{meets}{due}; {r.sessions} session{'s' if r.sessions != 1 else ''}")


def _list(args: argparse.Namespace, ctx: Any) -> int:
    import datetime as dt

    from .services import community

    rows = community.list_initiatives(ctx, establishment_id=_est(ctx, args.establishment), status=args.status,
                                      kind=args.kind)
    if not rows:
        print("No initiatives.")
    today = dt.date.today()
    for r in rows:
        print(_line(r, today))
    return 0


def _map(ctx: Any) -> int:
    from .dates import day_month_year
    from .models import INITIATIVE_KINDS
    from .services import community

    m = community.initiative_map(ctx)
    heads = [INITIATIVE_KINDS[k] for k in m.kinds]
    width = max([len(r.name) for r in m.rows] + [12])
    print(f"{'Establishment':<{width}}  " + "  ".join(heads) + "  Earliest review due")
    for r in m.rows:
        cells = []
        for k, head in zip(m.kinds, heads, strict=True):
            c = r.cells[k]
            shown = str(len(c.running)) + (f"+{len(c.paused)}p" if c.paused else "") + (" GAP" if c.gap else "")
            cells.append(f"{shown:^{len(head)}}")
        due = day_month_year(r.earliest_review_due) if r.earliest_review_due else "-"
        if r.overdue:
            due += f" ({len(r.overdue)} overdue)"
        print(f"{r.name:<{width}}  " + "  ".join(cells) + f"  {due}")
    print(f"Counts are running initiatives (+Np: paused); GAP: none running of that kind. "
          f"{m.gap_count} gap{'s' if m.gap_count != 1 else ''} in {len(m.rows)} establishments.")
    return 0


def run(args: argparse.Namespace, ctx: Any) -> int:
    from .services import community

    match args.initiatives_command:
        case "list":
            return _list(args, ctx)
        case "map":
            return _map(ctx)
        case "add":
            values = {"run_by": args.run_by, "status": args.status, "meeting_pattern": args.meeting,
                      "started_on": args.started, "ended_on": args.ended, "review_due_on": args.review_due,
                      "notes": args.notes}
            row = community.create_initiative(ctx, kind=args.kind, name=args.name,
                                              establishment_id=_est(ctx, args.establishment),
                                              **{k: v for k, v in values.items() if v is not None})
            r = community.get_initiative(ctx, row.id)
            print(f"Added {r.id[-8:]}: {r.name} at {r.establishment_name} ({r.kind_label}, {r.status_with_date()}).")
            return 0
        case "update":
            return _update(args, ctx)
    return 2


def _update(args: argparse.Namespace, ctx: Any) -> int:
    from .services import community

    r = community.initiative_by_ref(ctx, args.initiative)
    values = {"name": args.name, "kind": args.kind, "run_by": args.run_by, "meeting_pattern": args.meeting,
              "status": args.status, "started_on": args.started, "ended_on": args.ended, "notes": args.notes}
    values = {k: v for k, v in values.items() if v is not None}
    if args.status and args.status != "ended" and args.ended is None:
        values["ended_on"] = None  # back from ended: no end date
    review = args.reviewed is not None
    if not review and (args.review_notes is not None):
        from .cli import UsageError

        raise UsageError("--review-notes goes with --reviewed DATE (the day of the review)")
    if not review and args.review_due is not None:
        values["review_due_on"] = args.review_due
    if not values and not review:
        from .cli import UsageError

        raise UsageError("say what changes (e.g. --status paused, or --reviewed DATE --review-due DATE)")
    said = []
    if values:
        community.update_initiative(ctx, r.id, **values)
        said.append("changed")
    if review:
        community.record_review(ctx, r.id, args.reviewed, args.review_due, args.review_notes)
        said.append("review recorded")
    r = community.get_initiative(ctx, r.id)
    print(f"{r.name}: {' and '.join(said)}.")
    print(_line(r, None))
    return 0
