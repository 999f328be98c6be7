"""``srcdesk certificates …``: issue, print, revoke, reissue and list certificates.

The same services as the Certificates page; one line per refusal, exit status 1 (see srcdesk.cli).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .dates import day_month_year

# Sub-commands that only read (they run beside an open app; srcdesk.cli.READ_ONLY).
READ_ONLY = {"eligible", "list", "verify"}


def add_parser(sub: Any) -> None:
    certs = sub.add_parser("certificates", help="issue, print, revoke, reissue and list certificates")
    csub = certs.add_subparsers(dest="certificates_command", metavar="ACTION", required=True)

    eligible = csub.add_parser("eligible", help="people who meet a completion rule and hold no valid certificate "
                               "for it (this establishment's; everyone's at the office)")
    eligible.add_argument("--establishment", metavar="CODE", help="that establishment's people (e.g. PER)")
    eligible.add_argument("--format", choices=("text", "csv"), default="text", help="text (default) or CSV")

    issue = csub.add_parser("issue", help="issue certificates (coordinators): one, or all who are eligible")
    which = issue.add_mutually_exclusive_group(required=True)
    which.add_argument("--person", metavar="REF_OR_ID", help="the person's reference or id")
    which.add_argument("--all-eligible", action="store_true",
                       help="everyone eligible and not yet certified (one batch)")
    issue.add_argument("--for", dest="award", metavar="CODE",
                       help="the programme's, module's or ladder level's code (with --person)")
    issue.add_argument("--date", help="date of issue (default today), e.g. 3/12/2026 or 2026-12-03")
    issue.add_argument("--name", help="the name to print, if the person asks for the name they use")
    issue.add_argument("--establishment", metavar="CODE", help="with --all-eligible at the office: one establishment")

    prt = csub.add_parser("print", help="write certificates to a PDF (one file) or a folder (one file each)")
    prt.add_argument("serials", nargs="*", metavar="SERIAL")
    prt.add_argument("--issued-on", metavar="DATE", help="every valid certificate issued that day")
    prt.add_argument("--batch", metavar="ID", help="the certificates of one batch")
    prt.add_argument("--to", type=Path, required=True,
                     help="FILE.pdf for one PDF, or an existing folder for one PDF per certificate")

    rev = csub.add_parser("revoke", help="revoke a certificate (coordinators); the reason goes to every PC")
    rev.add_argument("serial")
    rev.add_argument("--reason", required=True)

    re_ = csub.add_parser("reissue", help="reissue with a new serial (coordinators); the old one is superseded")
    re_.add_argument("serial")
    re_.add_argument("--name", help="the name to print on the new one")
    re_.add_argument("--reason", help="why (default: 'Reissued')")

    lst = csub.add_parser("list", help="list certificates, newest first")
    lst.add_argument("--person", metavar="REF_OR_ID")
    lst.add_argument("--status", choices=("valid", "revoked", "superseded"))
    lst.add_argument("--search", help="the start of a serial, or words of the name as printed")

    _add_certificates_verify(csub)


def _add_certificates_verify(csub: Any) -> None:
    verify = csub.add_parser(
        "verify", help="check a certificate's QR code (or its serial) offline: exit status 0 only if it is "
        "genuine and valid", description="Check a certificate offline: the text of its QR code (as a barcode "
        "scanner types it) or its serial typed by hand. Prints the answer on one line; exit status 0 only "
        "for a genuine, valid certificate, 1 for anything else.")
    verify.add_argument("text", metavar="TEXT", help="the QR code's text (SRC1:…), or a serial (SRC-PER-2026-…)")
    verify.add_argument("--name", metavar="NAME", help="the name printed on the certificate, to check it too")


def _certificates_verify(args: argparse.Namespace, ctx: Any) -> int:
    """One line: the verdict; 0 only for a genuine, valid certificate whose code was checked (a serial
    typed by hand says what the record says, but a forged paper can carry a real serial: 1)."""
    from .services.certificate_verify import verify

    verdict = verify(ctx, args.text, printed_name=args.name)
    print(verdict.line())
    return 0 if verdict.valid and not verdict.by_serial_only else 1


def _certificate_id(ctx: Any, serial: str) -> Any:
    from .errors import NotFound
    from .services import certificates

    page = certificates.list_certificates(ctx, search=serial.strip().upper(), limit=1000)
    matches = [r for r in page.items if r.serial == serial.strip().upper()]
    valid = [r for r in matches if r.status == "valid"]
    if not matches:
        raise NotFound(f"No certificate here has the serial {serial}.")
    return (valid or matches)[0]


def _describe(r: Any) -> str:
    state = r.status if r.status == "valid" else f"{r.status} {day_month_year(r.status_changed_on)}" \
        if r.status_changed_on else r.status
    return f"{r.serial}  {day_month_year(r.issued_on):<17} {r.recipient_name:<28} {r.title}  [{state}]"


def _write(ctx: Any, ids: list[str], to: Path) -> int:
    from .reports import certificates as pdf
    from .services import certificate_design, certificates

    contents = certificates.contents(ctx, ids)
    design = certificate_design.design(ctx)

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty():
            print(f"\rWriting certificates: {done}/{total}   ", end="", file=sys.stderr, flush=True)

    if to.is_dir():
        written = pdf.write_folder(contents, design, to, progress=progress)
        print(f"Wrote {len(written)} PDF file{'s' if len(written) != 1 else ''} to {to}.")
    else:
        if to.suffix.lower() != ".pdf":
            from .cli import UsageError

            raise UsageError("--to must be a file ending in .pdf, or an existing folder")
        pdf.write_pdf(contents, design, to, progress=progress)
        print(f"Wrote {len(contents)} certificate{'s' if len(contents) != 1 else ''} to {to}.")
    return 0


def _eligible(args: argparse.Namespace, ctx: Any) -> int:
    import csv

    from .reports.exports import csv_cell
    from .services import eligibility
    from .words import plural

    est = eligibility.establishment_by_code(ctx, args.establishment) if args.establishment else None
    rows = eligibility.all_eligible_certificates(ctx, establishment_id=est)
    if args.format == "csv":
        out = csv.writer(sys.stdout, lineterminator="\n")
        out.writerow(["person_id", "reference", "name", "establishment", "kind", "code", "title", "completed_on"])
        for r in rows:
            out.writerow([csv_cell(v) for v in (r.person_id, r.external_ref, r.display_name, r.establishment_code,
                                                 r.kind, r.award_code, r.title, r.completed_on.isoformat())])
        return 0
    if not rows:
        print("Nobody is due a certificate.")
    for r in rows:
        print(f"{r.external_ref or '-':10} {r.display_name:30} {r.establishment_code or '-':4} "
              f"{r.award_code:14} {r.title} (completed {day_month_year(r.completed_on)})")
    if rows:
        print(f"{plural(len(rows), 'certificate')} due to {plural(len({r.person_id for r in rows}), 'person')}.")
    return 0


def run(args: argparse.Namespace, ctx: Any) -> int:
    from .services import certificates, people
    from .services.base import parse_date

    match args.certificates_command:
        case "eligible":
            return _eligible(args, ctx)
        case "verify":
            return _certificates_verify(args, ctx)
        case "issue":
            if args.all_eligible:
                from .services import eligibility

                if args.award or args.name:
                    from .cli import UsageError

                    raise UsageError("--for and --name go with --person, not --all-eligible")
                est = eligibility.establishment_by_code(ctx, args.establishment) if args.establishment else None
                rows = eligibility.all_eligible_certificates(ctx, establishment_id=est)
                if not rows:
                    print("Nobody is due a certificate.")
                    return 0
                batch = certificates.issue_batch(ctx, [certificates.IssueRequest(
                    r.person_id, r.kind, r.programme_id, r.module_id, r.achievement_id) for r in rows],
                    issued_on=args.date)
                for c in batch.certificates:
                    print(f"Issued {c.serial} to {c.recipient_name}: {c.title}.")
                print(f"Batch {batch.id}: print it with `srcdesk certificates print --batch {batch.id} --to FILE.pdf`.")
                return 0
            if not args.award:
                from .cli import UsageError

                raise UsageError("say what the certificate is for: --for CODE")
            person = people.person_by_ref_or_id(ctx, args.person)
            award = certificates.find_award(ctx, person.id, args.award)
            c = certificates.issue(ctx, person_id=person.id, kind=award.kind, programme_id=award.programme_id,
                                   module_id=award.module_id, achievement_id=award.achievement_id,
                                   issued_on=args.date, recipient_name=args.name)
            print(f"Issued {c.serial} to {c.recipient_name}: {c.title}, {day_month_year(c.issued_on)}.")
            return 0
        case "print":
            if bool(args.serials) + bool(args.issued_on) + bool(args.batch) != 1:
                from .cli import UsageError

                raise UsageError("name the certificates one way: SERIAL..., --issued-on DATE or --batch ID")
            ids = certificates.select_for_print(
                ctx, serials=args.serials, issued_on=parse_date(args.issued_on, "Date of issue", "issued_on")
                if args.issued_on else None, batch_id=args.batch)
            return _write(ctx, ids, args.to)
        case "revoke":
            row = _certificate_id(ctx, args.serial)
            certificates.revoke(ctx, row.id, args.reason)
            print(f"Revoked {row.serial} ({row.recipient_name}). Every PC will be told when bundles next travel.")
            return 0
        case "reissue":
            row = _certificate_id(ctx, args.serial)
            new = certificates.reissue(ctx, row.id, args.reason or "Reissued", recipient_name=args.name)
            print(f"Reissued {row.serial} as {new.serial} ({new.recipient_name}); {row.serial} is now superseded.")
            return 0
        case "list":
            person_id = people.person_by_ref_or_id(ctx, args.person).id if args.person else None
            after, shown = None, 0
            while True:
                page = certificates.list_certificates(ctx, person_id=person_id, status=args.status,
                                                      search=args.search, after=after, limit=500)
                for r in page.items:
                    print(_describe(r))
                shown += len(page.items)
                if page.after is None:
                    break
                after = page.after
            if not shown:
                print("No certificates match.")
            return 0
    return 2
