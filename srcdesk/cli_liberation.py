"""``srcdesk liberation …``: the liberation record a person takes home, from the command line.

The same services as the Today page's list and the Liberation record dialog
(srcdesk.services.liberation): everyone lists who is liberated soon and the records made;
coordinators make and reprint records. PERSON is an id, a reference or a unique name. One line
per refusal, exit status 1 (see srcdesk.cli).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

# Sub-commands that only read (they run beside an open app; srcdesk.cli.READ_ONLY).
READ_ONLY = {"upcoming", "list"}


def add_parser(sub: Any) -> None:
    lib = sub.add_parser("liberation", help="liberation records: who is liberated soon; make, list and reprint "
                         "the record a person takes home")
    lsub = lib.add_subparsers(dest="liberation_command", metavar="ACTION", required=True)

    up = lsub.add_parser("upcoming", help="people with a liberation date in the next weeks (8 unless told), "
                         "and whether a record was made")
    up.add_argument("--weeks", type=int, default=8, metavar="N")

    rec = lsub.add_parser("record", help="make a liberation record with the person and save it as a PDF "
                          "(coordinators; the person's consent is recorded)")
    rec.add_argument("person", metavar="PERSON", help="the person's id, reference or unique name")
    rec.add_argument("--to", required=True, metavar="FILE.pdf", help="where to save the PDF")
    rec.add_argument("--area", required=True, metavar="AREA",
                     help="the council area they go to, e.g. 'Glasgow City', 'Fife', 'Perth and Kinross'")
    rec.add_argument("--consent-date", required=True, metavar="DATE",
                     help="the day they agreed to the record being made and shared (e.g. 2026-12-03)")
    rec.add_argument("--words-file", metavar="FILE", help="a UTF-8 text file of their journey in their own words")

    rep = lsub.add_parser("reprint", help="print a record again exactly as it was made (coordinators)")
    rep.add_argument("record_id", metavar="RECORD", help="the record's id (its last 8 characters will do, as "
                     "`liberation list` shows)")
    rep.add_argument("--to", required=True, metavar="FILE.pdf")

    lst = lsub.add_parser("list", help="the liberation records made for a person")
    lst.add_argument("person", metavar="PERSON")


def _short(record_id: str) -> str:
    return record_id[-8:]


def _record_id(ctx: Any, wanted: str) -> str:
    """A record's id from its full id or its last characters (unique among the records here)."""
    from sqlalchemy import select

    from .errors import NotFound, ValidationError
    from .models import LiberationRecord

    wanted = wanted.strip()
    with ctx.read() as s:
        ids = [i for i in s.execute(select(LiberationRecord.id).where(LiberationRecord.deleted_hlc.is_(None)))
               .scalars() if i == wanted or (len(wanted) >= 6 and i.endswith(wanted))]
    if not ids:
        raise NotFound(f"No liberation record here has the id {wanted!r}.")
    if len(ids) > 1:
        raise ValidationError(f"{len(ids)} liberation records end in {wanted!r}: give more of the id.")
    return ids[0]


def run(args: argparse.Namespace, ctx: Any) -> int:
    import datetime as dt

    from .dates import day_month_year
    from .services import liberation
    from .words import plural

    match args.liberation_command:
        case "upcoming":
            rows = liberation.upcoming_liberations(ctx, weeks=args.weeks)
            if not rows:
                print(f"No one has a liberation date in the next {plural(args.weeks, 'week')}.")
            for r in rows:
                where = f"  {r.establishment_code or '-':<4}" if ctx.installation.is_office else ""
                made = f"record made {day_month_year(r.record_made)}" if r.record_made else "no record yet"
                print(f"{day_month_year(r.liberation_date):>11}  in {plural(r.days, 'day'):<8}{where}  "
                      f"{r.display_name}  ({made})  {r.person_id}")
            return 0
        case "record":
            person = liberation.find_person(ctx, args.person)
            words = ""
            if args.words_file:
                try:
                    words = Path(args.words_file).read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError) as exc:
                    from .errors import ValidationError

                    raise ValidationError(f"Their words could not be read from {args.words_file} ({exc}).") from exc
            row = liberation.make_record(ctx, person.id, area=args.area, own_words=words,
                                         consent_on=args.consent_date, write_to=args.to)
            print(f"Made liberation record {_short(row.id)} for {row.name} ({row.area}); saved as {args.to}.")
            return 0
        case "reprint":
            record_id = _record_id(ctx, args.record_id)
            content = liberation.reprint(ctx, record_id, write_to=args.to)
            print(f"Reprinted liberation record {_short(record_id)} for {content['name']} "
                  f"(made {day_month_year(dt.date.fromisoformat(content['made_on']))}); "
                  f"saved as {args.to}.")
            return 0
        case "list":
            person = liberation.find_person(ctx, args.person)
            rows = liberation.records(ctx, person.id)
            if not rows:
                print(f"No liberation record has been made for {person.given_name} {person.family_name}.")
            for r in rows:
                print(f"{_short(r.id)}  made {day_month_year(r.made_on)} at {r.place} by {r.made_by}; going to "
                      f"{r.area}; consent {day_month_year(r.consent_on)}; printed {plural(r.printed_count, 'time')}")
            return 0
    return 2
