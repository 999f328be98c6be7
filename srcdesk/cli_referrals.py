"""``srcdesk referrals …``: Early Release to Residential Rehabilitation referrals.

The same services as the Referrals tab of the Pathways page (:mod:`srcdesk.services.referrals`):
list the referrals not closed (by stage, with days waiting), add one, record the next stage, step
back with a reason, withdraw or decline (or record that the person left the placement). One line
per refusal, exit status 1 (see srcdesk.cli).
"""

from __future__ import annotations

import argparse
from typing import Any

# Sub-commands that only read (they run beside an open app; srcdesk.cli.READ_ONLY).
READ_ONLY = {"list", "show"}


# The protocol's stages (srcdesk.models.REFERRAL_STAGES, in order), for the help without importing
# the models (building the parser must not import SQLAlchemy; tests check the two agree).
STAGES = ("identified", "consented", "assessed", "funding_agreed", "placement_offered", "release_approved",
          "admitted", "week_4", "week_12", "completed")


def _stages() -> str:
    return ", ".join(STAGES)


def add_parser(sub: Any) -> None:
    ref = sub.add_parser("referrals", help="Early Release to Residential Rehabilitation referrals: list, add, "
                         "record the next stage, step back, withdraw")
    rsub = ref.add_subparsers(dest="referrals_command", metavar="ACTION", required=True)

    lst = rsub.add_parser("list", help="referrals not closed, longest waiting first (an establishment: its own "
                          "people's)")
    lst.add_argument("--stage", metavar="STAGE", help=f"only those at this stage: {_stages()}")
    lst.add_argument("--all", action="store_true", help="closed ones too (completed, withdrawn, declined, left)")
    lst.add_argument("--establishment", metavar="CODE", help="one establishment's (at the SRC office)")

    show = rsub.add_parser("show", help="one referral with every stage, who recorded it and any stepped back")
    show.add_argument("referral", metavar="REF", help="the referral's id (its last 8 characters will do, as `referrals list` shows)")

    add = rsub.add_parser("add", help="a new referral, at the stage 'identified' (recorders)")
    add.add_argument("person", metavar="PERSON", help="the person's reference or id")
    add.add_argument("--date", required=True, metavar="DATE", help="the day they were identified, e.g. 31/03/2026")
    add.add_argument("--service", metavar="NAME_OR_ID", help="the residential rehabilitation service (a community "
                     "organisation)")
    add.add_argument("--notes")

    adv = rsub.add_parser("advance", help="record the next stage (only the next one; recorders)")
    adv.add_argument("referral", metavar="REF")
    adv.add_argument("--stage", required=True, metavar="STAGE", help=f"the next stage: {_stages()}")
    adv.add_argument("--date", required=True, metavar="DATE")
    adv.add_argument("--note")

    back = rsub.add_parser("back", help="step back to an earlier stage, with a reason (the later ones are kept, "
                           "marked stepped back)")
    back.add_argument("referral", metavar="REF")
    back.add_argument("--stage", required=True, metavar="STAGE", help="the earlier stage it goes back to")
    back.add_argument("--reason", required=True)

    wd = rsub.add_parser("withdraw", help="withdraw or decline a referral before admission, or record that the "
                         "person left the placement after it (with a reason)")
    wd.add_argument("referral", metavar="REF")
    wd.add_argument("--reason", required=True)
    how = wd.add_mutually_exclusive_group()
    how.add_argument("--declined", action="store_true", help="declined rather than withdrawn")
    how.add_argument("--left", action="store_true", help="left the placement early (after admission)")
    wd.add_argument("--date", metavar="DATE", help="default: today")


def _line(r: Any) -> str:
    from .dates import day_month_year

    where = r.establishment_code or "-"
    service = f"  {r.service}" if r.service else ""
    state = "" if r.status in ("open", "in_placement") else f"  [{r.status_name}]"
    from .services.referrals import short_id

    return (f"{short_id(r.id)}  {r.person_name:<24} {where:<4} {r.stage_name:<40} since {day_month_year(r.since):<12} "
            f"{r.days_waiting:>4} days{service}{state}")


def _show(ctx: Any, ref: str) -> int:
    from .dates import day_month_year
    from .services import referrals

    row = referrals.find_referral(ctx, ref)
    detail = referrals.get_referral(ctx, row.id)
    print(f"Referral {referrals.short_id(row.id)}: {row.person_name}" + (f" ({row.external_ref})" if row.external_ref else "")
          + f", {row.establishment_name or 'no establishment'}")
    print(f"Status: {row.status_name}" + (f" on {day_month_year(row.closed_on)}: {row.close_reason}"
                                          if row.closed_on and row.close_reason else ""))
    if row.service:
        print(f"Residential rehabilitation service: {row.service}")
    print(f"Now: {row.stage_name}, since {day_month_year(row.since)} ({row.days_waiting} days)")
    if row.next_stage:
        from .models import REFERRAL_STAGES

        print(f"Next: {REFERRAL_STAGES[row.next_stage]} ({row.next_stage})")
    for h in detail.history:
        mark = f"  STEPPED BACK by {h.stepped_back_by or 'someone'}: {h.stepped_back_reason}" if h.stepped_back else ""
        print(f"  {day_month_year(h.reached_on):<12} {h.stage_name:<40} {h.recorded_by or '-'}{mark}")
        if h.note:
            for part in h.note.splitlines():
                print(f"               {part}")
    if detail.notes:
        print(f"Notes: {detail.notes}")
    return 0


def run(args: argparse.Namespace, ctx: Any) -> int:
    from .models import REFERRAL_STAGES
    from .services import eligibility, people, referrals

    match args.referrals_command:
        case "list":
            est = eligibility.establishment_by_code(ctx, args.establishment) if args.establishment else None
            rows = referrals.list_referrals(ctx, status="all" if args.all else None,
                                            stage=args.stage.strip() if args.stage else None, establishment_id=est)
            if not rows:
                print("No referrals" + (" at that stage." if args.stage else "."))
            for r in rows:
                print(_line(r))
            return 0
        case "show":
            return _show(ctx, args.referral)
        case "add":
            person = people.person_by_ref_or_id(ctx, args.person)
            org = referrals.organisation_by_name_or_id(ctx, args.service) if args.service else None
            r = referrals.create_referral(ctx, person_id=person.id, referred_on=args.date, organisation_id=org,
                                          notes=args.notes)
            print(f"Added referral {referrals.short_id(r.id)} for {person.given_name} {person.family_name}: identified. "
                  "Next: consented.")
            return 0
        case "advance":
            row = referrals.find_referral(ctx, args.referral)
            stage = args.stage.strip()
            referrals.advance(ctx, row.id, stage, args.date, note=args.note)
            after = referrals.find_referral(ctx, row.id)
            print(f"{after.person_name}: {REFERRAL_STAGES[stage]}." + (
                f" Next: {REFERRAL_STAGES[after.next_stage]} ({after.next_stage})." if after.next_stage else
                f" The referral is {after.status_name.lower()}."))
            return 0
        case "back":
            row = referrals.find_referral(ctx, args.referral)
            gone = referrals.step_back(ctx, row.id, args.stage.strip(), args.reason)
            print(f"{row.person_name}: back to {REFERRAL_STAGES[args.stage.strip()]}; stepped back: "
                  + ", ".join(REFERRAL_STAGES[s] for s in gone) + ".")
            return 0
        case "withdraw":
            row = referrals.find_referral(ctx, args.referral)
            outcome = "left_placement" if args.left else "declined" if args.declined else "withdrawn"
            referrals.close(ctx, row.id, outcome, args.date, args.reason)
            after = referrals.find_referral(ctx, row.id)
            print(f"{after.person_name}: {after.status_name.lower()}.")
            return 0
    return 2
