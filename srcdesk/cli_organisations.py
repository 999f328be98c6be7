"""``srcdesk organisations …``: community organisations (LEROs and services) and the
establishments they connect to.

The same services as the Pathways page's Community organisations tab
(srcdesk.services.community): coordinators at the SRC office add and connect them; everyone
lists them (they reach every establishment in the office's bundles). One line per refusal, exit
status 1 (see srcdesk.cli).
"""

from __future__ import annotations

import argparse
from typing import Any

# Sub-commands that only read (they run beside an open app; srcdesk.cli.READ_ONLY).
READ_ONLY = {"list"}


def add_parser(sub: Any) -> None:
    org = sub.add_parser("organisations", help="community organisations (LEROs and services) and the "
                         "establishments they connect to")
    osub = org.add_subparsers(dest="organisations_command", metavar="ACTION", required=True)

    lst = osub.add_parser("list", help="community organisations, by name, with what they offer and the "
                          "establishments they connect to")
    lst.add_argument("--area", metavar="AREA", help="a council area, e.g. 'Glasgow City'")
    lst.add_argument("--establishment", metavar="CODE", help="only those connected to this establishment, e.g. PER")
    lst.add_argument("--kind", metavar="KIND", help=_kinds_help())
    lst.add_argument("--retired", action="store_true", help="retired ones too")

    add = osub.add_parser("add", help="add a community organisation (coordinators, at the SRC office)")
    add.add_argument("--name", required=True)
    add.add_argument("--area", required=True, metavar="AREA",
                     help="one of Scotland's 32 council areas, e.g. 'Dundee City' (any case)")
    add.add_argument("--kind", default="lero", metavar="KIND", help=_kinds_help() + " (default: lero)")
    add.add_argument("--offers", metavar="TEXT", help="what they offer, e.g. 'Peer support; recovery café'")
    add.add_argument("--contact", metavar="TEXT", help="contact details")
    add.add_argument("--notes", metavar="TEXT")

    link = osub.add_parser("link", help="connect an organisation to an establishment, or with --unlink "
                           "disconnect it (coordinators, at the SRC office)")
    link.add_argument("organisation", metavar="ORG", help="the organisation's id or name (a unique part will do)")
    link.add_argument("--establishment", required=True, metavar="CODE", help="e.g. PER")
    link.add_argument("--unlink", action="store_true", help="disconnect it instead (needs --reason)")
    link.add_argument("--reason", help="why it is disconnected (goes to every PC)")


def _kinds_help() -> str:
    from .models.community import ORGANISATION_KINDS

    return "one of: " + ", ".join(ORGANISATION_KINDS)


def _list(args: argparse.Namespace, ctx: Any) -> int:
    from .services import community, eligibility

    est = eligibility.establishment_by_code(ctx, args.establishment) if args.establishment else None
    rows = community.list_organisations(ctx, area=args.area, kind=args.kind and args.kind.strip(),
                                        establishment_id=est, include_retired=args.retired)
    if not rows:
        print("No community organisations" + (" match." if args.area or est or args.kind else " yet."))
    for o in rows:
        retired = " (retired)" if o.retired else ""
        print(f"{o.name}{retired}  [{o.kind_label}]  {o.area or '-'}  connected to: {o.connected_codes or 'none'}")
        if o.offers:
            print("    offers: " + " ".join(o.offers.split()))
        if o.contact:
            print("    contact: " + " ".join(o.contact.split()))
    return 0


def run(args: argparse.Namespace, ctx: Any) -> int:
    from .services import community, eligibility

    match args.organisations_command:
        case "list":
            return _list(args, ctx)
        case "add":
            o = community.create_organisation(ctx, name=args.name, area=args.area, kind=args.kind.strip(),
                                              offers=args.offers, contact=args.contact, notes=args.notes)
            print(f"Added {o.name} ({o.area}). Connect it with `srcdesk organisations link`; establishments get "
                  "it with the next bundle.")
            return 0
        case "link":
            org = community.find_organisation(ctx, args.organisation)
            est = eligibility.establishment_by_code(ctx, args.establishment)
            code = args.establishment.strip().upper()
            if args.unlink:
                if not (args.reason or "").strip():
                    from .cli import UsageError

                    raise UsageError("say why it is disconnected: --reason TEXT")
                community.unlink_organisation(ctx, org.id, est, args.reason)
                print(f"Disconnected {org.name} from {code}.")
            else:
                if args.reason:
                    from .cli import UsageError

                    raise UsageError("--reason goes with --unlink")
                community.link_organisation(ctx, org.id, est)
                print(f"Connected {org.name} to {code}.")
            return 0
    return 2
