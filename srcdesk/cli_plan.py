"""``srcdesk plan …``: the workplan's plan years, focus establishments and targets, with progress.

The same services as the Workplan tab (srcdesk.services.plans): coordinators at the SRC office
change it; everyone lists it (an establishment: the national targets and its own). One line per
refusal, exit status 1 (see srcdesk.cli).
"""

from __future__ import annotations

import argparse
from typing import Any

# Sub-commands that only read (they run beside an open app; srcdesk.cli.READ_ONLY).
READ_ONLY = {"list"}


def add_parser(sub: Any) -> None:
    plan = sub.add_parser("plan", help="the workplan: plan years, focus establishments, targets and progress")
    psub = plan.add_subparsers(dest="plan_command", metavar="ACTION", required=True)

    lst = psub.add_parser("list", help="the plan years; with --year, its focus establishments and targets with "
                          "progress so far")
    lst.add_argument("--year", metavar="YEAR", help="a plan year, e.g. 2025-26")

    add = psub.add_parser("add-year", help="add a plan year, 1 April to 31 March (coordinators, at the office)")
    add.add_argument("year", metavar="YEAR", help="e.g. 2026-27")
    add.add_argument("--name", help="default: 'Plan year YEAR'")

    foc = psub.add_parser("focus", help="set a plan year's focus establishments (coordinators, at the office; "
                          "the strategy says 3-5)")
    foc.add_argument("year", metavar="YEAR")
    foc.add_argument("codes", nargs="*", metavar="CODE", help="establishment codes, e.g. PER BAR EDI (none: no focus)")

    tgt = psub.add_parser("target", help="add, change or remove a target (coordinators, at the office)")
    tsub = tgt.add_subparsers(dest="target_command", metavar="ACTION", required=True)
    tadd = tsub.add_parser("add", help="a target for one indicator in a plan year")
    tadd.add_argument("year", metavar="YEAR")
    tadd.add_argument("--indicator", required=True, metavar="CODE", help=_indicators_help())
    tadd.add_argument("--target", type=int, required=True, metavar="N",
                      help="a whole number; for rat_coverage a percentage (0-100)")
    tadd.add_argument("--establishment", metavar="CODE", help="one establishment (default: all establishments)")
    tadd.add_argument("--description", required=True, help="the target in the strategy's words")
    tupd = tsub.add_parser("update", help="change a target's number or description")
    tupd.add_argument("target_id", metavar="ID", help="the target's id (its last 8 characters will do, as `plan list --year` shows)")
    tupd.add_argument("--target", type=int, metavar="N")
    tupd.add_argument("--description")
    trem = tsub.add_parser("remove", help="remove a target; the reason goes to every PC")
    trem.add_argument("target_id", metavar="ID")
    trem.add_argument("--reason", required=True)


def _indicators_help() -> str:
    from .reports.indicator_list import INDICATORS

    return "one of: " + ", ".join(i.code for i in INDICATORS)


def _year(ctx: Any, code: str) -> Any:
    from .services import plans

    return plans.plan_year_by_code(ctx, code)


def _list(args: argparse.Namespace, ctx: Any) -> int:
    from .dates import day_month_year
    from .services import plans

    if not args.year:
        years = plans.list_plan_years(ctx)
        if not years:
            print("No plan years yet.")
        for y in years:
            focus = ", ".join(e.code for e in plans.focus(ctx, y.id)) or "-"
            count = len(plans.targets(ctx, y.id))
            print(f"{y.code}  {day_month_year(y.starts_on)} – {day_month_year(y.ends_on)}  {y.name}; "
                  f"focus: {focus}; {count} target{'s' if count != 1 else ''}")
        return 0
    year = _year(ctx, args.year)
    chosen = plans.focus(ctx, year.id)
    print(f"{year.name} ({day_month_year(year.starts_on)} – {day_month_year(year.ends_on)})")
    print("Focus establishments: " + (", ".join(f"{e.name} ({e.code})" for e in chosen) or "none"))
    if ctx.installation.is_office and (warning := plans.focus_warning(len(chosen))):
        print(warning)
    rows = plans.progress(ctx, year.id)
    if not rows:
        print("No targets.")
    for p in rows:
        t = p.target
        print(f"{plans.short_id(t.id)}  {t.label:<22} {t.establishment:<28} target {t.shown_target:>7}  "
              f"so far {p.shown_actual:>7}  {p.status}")
        print(f"          {t.description}" + (f" ({p.note})" if p.note else ""))
    return 0


def run(args: argparse.Namespace, ctx: Any) -> int:
    from .services import eligibility, plans

    match args.plan_command:
        case "list":
            return _list(args, ctx)
        case "add-year":
            y = plans.create_plan_year(ctx, args.year.strip(), name=args.name)
            print(f"Added {y.name}: 1 April {y.starts_on.year} to 31 March {y.ends_on.year}. "
                  "Establishments get it with the next bundle.")
            return 0
        case "focus":
            year = _year(ctx, args.year)
            ids = [eligibility.establishment_by_code(ctx, c) for c in args.codes]
            plans.set_focus(ctx, year.id, ids)
            chosen = plans.focus(ctx, year.id)
            print(f"Focus establishments in {year.code}: " + (", ".join(e.code for e in chosen) or "none") + ".")
            if warning := plans.focus_warning(len(chosen)):
                print(f"Note: {warning}")
            return 0
        case "target":
            return _target(args, ctx)
    return 2


def _target(args: argparse.Namespace, ctx: Any) -> int:
    from .services import eligibility, plans

    match args.target_command:
        case "add":
            year = _year(ctx, args.year)
            est = eligibility.establishment_by_code(ctx, args.establishment) if args.establishment else None
            row = plans.add_target(ctx, year.id, code=args.indicator.strip(), description=args.description,
                                   target_value=args.target, establishment_id=est)
            [t] = [t for t in plans.targets(ctx, year.id) if t.id == row.id]
            print(f"Added target {plans.short_id(t.id)} in {year.code}: {t.label} {t.shown_target} ({t.establishment}).")
            return 0
        case "update":
            if args.target is None and args.description is None:
                from .cli import UsageError

                raise UsageError("say what changes: --target N and/or --description TEXT")
            t = plans.target_by_ref(ctx, args.target_id)
            plans.update_target(ctx, t.id, description=args.description, target_value=args.target)
            [t] = [x for x in plans.targets(ctx, t.plan_year_id) if x.id == t.id]
            print(f"Changed target {plans.short_id(t.id)}: {t.label} {t.shown_target} ({t.establishment}).")
            return 0
        case "remove":
            t = plans.target_by_ref(ctx, args.target_id)
            plans.remove_target(ctx, t.id, args.reason)
            print(f"Removed target {plans.short_id(t.id)} ({t.label}, {t.establishment}). "
                  "Establishments lose it with the next bundle.")
            return 0
    return 2
