"""The `srcdesk` command: opens the desktop app, or runs a subcommand on the same services.

Exit codes: 0 done, 1 refused or failed (one-line reason), 2 usage.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from . import cli_certificates as certificates_cli
from . import cli_export as export_cli
from . import cli_initiatives as initiatives_cli
from . import cli_liberation as liberation_cli
from . import cli_organisations as organisations_cli
from . import cli_plan as plan_cli
from . import cli_referrals as referrals_cli
from . import cli_report as report_cli
from .errors import SrcdeskError
from .services.permissions import ROLES
from .start import data_dir as _data_dir
from .start import desktop_args, global_options, open_app
from .words import noun_for, plural

log = logging.getLogger("srcdesk")


class Refused(SrcdeskError):
    pass


class UsageError(Exception):
    """The command line lacks something it needs: argparse's usage message, exit status 2."""


# Commands that only read run beside the desktop app or another command (SQLite lets readers in
# while one writes) and take no lock; every other command holds the data folder's lock
# (srcdesk.instance) while it runs, waiting a few seconds for it. ``--version`` and ``--help``
# touch no data at all. (``keys show`` and ``keys list`` write only once, for an installation
# set up before srcdesk had keys; ``report steering`` writes only its line in the local export
# record, so the office can make the report with the app open: SQLite's own locking covers that.)
READ_ONLY = {("check", None), ("clock", "check"), ("keys", "show"), ("keys", "list"), ("user", "list"),
             ("bundle", "verify"), ("bundle", "history"), ("conflicts", "list"), ("report", "steering"),
             *(("certificates", c) for c in certificates_cli.READ_ONLY),
             *(("plan", c) for c in plan_cli.READ_ONLY),
             *(("initiatives", c) for c in initiatives_cli.READ_ONLY),
             *(("organisations", c) for c in organisations_cli.READ_ONLY),
             *(("referrals", c) for c in referrals_cli.READ_ONLY),
             *(("liberation", c) for c in liberation_cli.READ_ONLY),
             *(("export", c) for c in export_cli.READ_ONLY)}
# Commands that act as nobody in particular; every other one needs --user or $SRCDESK_USER.
NO_USER = {("init", None), ("check", None), ("clock", "check")}


def _command(args: argparse.Namespace) -> tuple[str, str | None]:
    return args.command, getattr(args, f"{args.command}_command", None)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="srcdesk",
        description="Record keeping for recovery development in Scotland's prisons. "
        "With no command, opens the desktop app.",
    )
    global_options(p)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    init = sub.add_parser("init", help="set this PC up for an establishment or the SRC office")
    where = init.add_mutually_exclusive_group(required=True)
    where.add_argument("--establishment", metavar="CODE", help="establishment code, e.g. PER")
    where.add_argument("--office", action="store_true", help="the SRC office installation")
    init.add_argument("--admin", required=True, metavar="USERNAME", help="first administrator's username")
    init.add_argument("--admin-name", metavar="NAME", help="their full name (default: the username)")
    init.add_argument("--recovery-key-out", type=Path, metavar="FILE",
                      help="office only: write the recovery key to this new file (0600) instead of showing it")

    demo = sub.add_parser("demo", help="fill a new installation with realistic sample data")
    demo.add_argument("--scale", choices=("small", "national", "decade"), default="small")
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--end-date", metavar="DATE",
                      help="the last day of the data (default: today); with --seed, the same data every time")

    check = sub.add_parser("check", help="check integrity, references, migrations and the change log")
    check.add_argument("--rebuild-summaries", action="store_true",
                       help="first make the dashboard's summary tables afresh from the records")

    backup = sub.add_parser("backup", help="write a consistent copy of the database")
    backup.add_argument("--to", required=True, type=Path, metavar="FILE")

    user = sub.add_parser("user", help="user accounts: change your password; administrators manage the rest",
                          description="User accounts. Everyone can change their own password "
                          "('srcdesk user passwd'); the other actions are for administrators.",
                          epilog=_roles_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    usub = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    add = usub.add_parser("add", help="add a user (new password from $SRCDESK_NEW_PASSWORD or a prompt)")
    add.add_argument("username")
    add.add_argument("--role", choices=ROLES, default="recorder", help="what they may do (see 'srcdesk user --help')")
    add.add_argument("--name", help="full name (default: the username)")
    usub.add_parser("list", help="list users")
    pw = usub.add_parser("passwd", help="change your own password (NAME omitted or yours: your sign-in password "
                         "is the current one) or, for administrators, set another user's; the new password "
                         "comes from $SRCDESK_NEW_PASSWORD or a prompt")
    pw.add_argument("username", nargs="?", metavar="NAME")
    dis = usub.add_parser("disable", help="disable a user's account")
    dis.add_argument("username")
    en = usub.add_parser("enable", help="enable a disabled account")
    en.add_argument("username")
    role = usub.add_parser("role", help="change a user's role")
    role.add_argument("username")
    role.add_argument("role", choices=("recorder", "coordinator", "administrator"))

    keys = sub.add_parser("keys", help="this PC's keys; enrol or revoke other installations")
    ksub = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    kshow = ksub.add_parser("show", help="this installation's public keys and fingerprint")
    kshow.add_argument("--format", choices=("text", "json"), default="text")
    kexport = ksub.add_parser("export", help="write this installation's enrolment card (administrators)")
    kexport.add_argument("--to", required=True, type=Path, metavar="FILE")
    kenrol = ksub.add_parser("enrol", help="trust another installation's enrolment card (administrators)")
    kenrol.add_argument("card", type=Path, metavar="FILE")
    kenrol.add_argument("--fingerprint", required=True, metavar="FP",
                        help="the fingerprint the other side read out to you: 8 groups of 4 letters and digits "
                             "(spaces or dashes optional, any case)")
    krevoke = ksub.add_parser("revoke", help="stop trusting an installation for good (administrators)")
    krevoke.add_argument("installation_id", metavar="INSTALLATION_ID")
    krevoke.add_argument("--reason", help='why (default: "revoked by <you>")')
    ksub.add_parser("list", help="installations this PC knows, enrolled or revoked")

    bundle = sub.add_parser("bundle", help="exchange signed, encrypted bundles with the office")
    bsub = bundle.add_subparsers(dest="bundle_command", metavar="ACTION", required=True)
    bexport = bsub.add_parser("export", help="write a bundle of the changes the recipient has not had yet")
    bexport.add_argument("--to", required=True, type=Path, metavar="PATH", help="folder or USB drive")
    bfor = bexport.add_mutually_exclusive_group()
    bfor.add_argument("--for", dest="for_installation", metavar="INSTALLATION_ID",
                      help="at the office: the establishment installation it is for")
    bfor.add_argument("--all", action="store_true", help="at the office: one bundle for each establishment")
    bexport.add_argument("--full", action="store_true", help="resend everything, not just what is new")
    bverify = bsub.add_parser("verify", help="check a bundle without applying it")
    bverify.add_argument("file", type=Path, metavar="FILE")
    bimport = bsub.add_parser("import", help="check, back up, then apply bundles")
    bimport.add_argument("files", type=Path, nargs="+", metavar="FILE")
    bsub.add_parser("history", help="bundles sent and received, with gaps")

    clock = sub.add_parser("clock", help="srcdesk's clock against this PC's; the repair after a wrong clock")
    clsub = clock.add_subparsers(dest="clock_command", metavar="ACTION", required=True)
    clsub.add_parser("check", help="compare srcdesk's clock with this PC's (exit status 1: a repair is needed)")
    clsub.add_parser("repair", help="after this PC's clock was ahead and is right again: re-stamp the changes "
                     "made here in the future so the office takes them (administrators)")

    certificates_cli.add_parser(sub)
    plan_cli.add_parser(sub)
    initiatives_cli.add_parser(sub)
    organisations_cli.add_parser(sub)
    referrals_cli.add_parser(sub)
    liberation_cli.add_parser(sub)
    report_cli.add_parser(sub)
    export_cli.add_parser(sub)
    conflicts = sub.add_parser("conflicts", help="concurrent edits waiting for a person")
    csub = conflicts.add_subparsers(dest="conflicts_command", metavar="ACTION", required=True)
    csub.add_parser("list", help="list open conflicts")
    cres = csub.add_parser("resolve", help="settle one conflict (coordinators)")
    cres.add_argument("conflict_id", type=int, metavar="ID")
    cres_how = cres.add_mutually_exclusive_group(required=True)
    cres_how.add_argument("--keep", action="store_true", help="keep the current value")
    cres_how.add_argument("--other", action="store_true", help="take the value it overwrote")
    cres_how.add_argument("--value", help="set this value instead")
    return p


def _roles_help() -> str:
    """The roles, described from the one table of what each may do."""
    from .services.permissions import describe_role

    return "roles:\n" + "\n".join(
        textwrap.fill(f"{role}: {describe_role(role)}.", width=78, initial_indent="  ", subsequent_indent="    ")
        for role in ROLES)


def _password(prompt: str, env: str = "SRCDESK_PASSWORD", *, confirm: bool = False) -> str:
    value = os.environ.get(env)
    if value is not None:
        return value
    if not sys.stdin.isatty():
        raise Refused(f"No password given: set {env} or run in a terminal.")
    first = getpass.getpass(prompt)
    if confirm and getpass.getpass("Type it again: ") != first:
        raise Refused("The two passwords don't match.")
    return first


NO_USER_GIVEN = "this command needs a user: say who you are with --user NAME or $SRCDESK_USER"


def _username(args: argparse.Namespace) -> str | None:
    return args.user or os.environ.get("SRCDESK_USER") or None


def _signed_in(args: argparse.Namespace):  # noqa: ANN202
    return _sign_in(args)[0]


def _sign_in(args: argparse.Namespace):  # noqa: ANN202
    """The open installation with the acting user signed in, and the password they gave."""
    from .services.setup import open_installation
    from .services.users import authenticate

    username = _username(args)
    if not username:
        raise UsageError(NO_USER_GIVEN)
    ctx = open_installation(_data_dir(args))
    try:
        password = _password(f"Password for {username}: ")
        ctx = ctx.signed_in(authenticate(ctx.db, username, password))
    except BaseException:
        ctx.db.close()
        raise
    return ctx, password


def cmd_init(args: argparse.Namespace) -> int:
    from .services.setup import init_installation

    data_dir = _data_dir(args)
    password = _password(f"New password for {args.admin}: ", confirm=True)
    ctx = init_installation(
        data_dir, establishment=args.establishment, office=args.office,
        admin_username=args.admin, admin_name=args.admin_name, admin_password=password,
        recovery_key_out=args.recovery_key_out,
    )
    try:
        inst = ctx.installation
        where = "the SRC office" if inst.is_office else f"{inst.name} ({inst.establishment_code})"
        print(f"Set up {where} in {data_dir}; administrator '{ctx.user.username}'.")
        if args.recovery_key_out is not None:
            print(f"The office recovery key is in {args.recovery_key_out}. {_recovery_warning()}")
        _print_recovery_key(ctx.recovery_key)
    finally:
        ctx.db.close()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .services.base import parse_date
    from .services.demo import generate_demo

    ctx = _signed_in(args)
    try:
        def progress(done: int, total: int, what: str) -> None:
            if sys.stderr.isatty():
                print(f"\r{what}: {done * 100 // max(total, 1):3d}%   ", end="", file=sys.stderr, flush=True)

        end = parse_date(args.end_date, "End date", "end") if args.end_date else None
        summary = generate_demo(ctx, scale=args.scale, seed=args.seed, end=end, progress=progress)
        if sys.stderr.isatty():
            print(file=sys.stderr)
        print(summary.describe())
    finally:
        ctx.db.close()
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from .db import Database
    from .services.check import run_check

    db = Database.open(_data_dir(args), migrate=False)
    try:
        if args.rebuild_summaries:
            from .services.check import rebuild_summaries

            rebuild_summaries(db)
            print("The dashboard's summaries were made afresh from the records.")
        report = run_check(db)
    finally:
        db.close()
    for note in report.notes:
        print(note)
    for problem in report.problems:
        print(f"PROBLEM: {problem}")
    print("OK" if report.ok else f"{plural(len(report.problems), 'problem')} found.")
    return 0 if report.ok else 1


def cmd_backup(args: argparse.Namespace) -> int:
    from .services.backup import backup_to

    ctx = _signed_in(args)
    try:
        backup = backup_to(ctx, args.to)
    finally:
        ctx.db.close()
    print(f"Backed up to {backup.path}.")
    return 0


def cmd_user(args: argparse.Namespace) -> int:
    from .services import users

    ctx, signed_in_with = _sign_in(args)
    try:
        match args.user_command:
            case "add":
                pw = _password(f"New password for {args.username}: ", "SRCDESK_NEW_PASSWORD", confirm=True)
                u = users.add_user(ctx, args.username, args.name or args.username, args.role, pw)
                print(f"Added {u.username} ({u.role}).")
            case "list":
                for u in users.list_users(ctx):
                    state = "" if u.active else "  (disabled)"
                    print(f"{u.username:<20} {u.role:<14} {u.display_name}{state}")
            case "passwd":
                assert ctx.user is not None
                own = args.username is None or args.username.strip().lower() == ctx.user.username
                name = ctx.user.username if own else args.username
                pw = _password(f"New password for {name}: ", "SRCDESK_NEW_PASSWORD", confirm=True)
                if own:  # the current password is the one just signed in with
                    users.change_own_password(ctx, signed_in_with, pw)
                else:
                    users.set_password(ctx, name, pw)
                print(f"Password changed for {name}.")
            case "disable" | "enable":
                u = users.set_active(ctx, args.username, args.user_command == "enable")
                print(f"{u.username} is now {'enabled' if u.active else 'disabled'}.")
            case "role":
                u = users.set_role(ctx, args.username, args.role)
                print(f"{u.username} is now {u.role}.")
    finally:
        ctx.db.close()
    return 0


def _recovery_warning() -> str:
    from .services.setup import RECOVERY_WARNING

    return RECOVERY_WARNING


def _print_recovery_key(recovery_key: str | None) -> None:
    """Show the office recovery key once, with the warning (it is not kept anywhere)."""
    if not recovery_key:
        return
    print()
    print("OFFICE RECOVERY KEY - shown only this once. " + _recovery_warning())
    print("If the office PC is lost, 'age -d -i <this key saved to a file>' still opens the bundles.")
    print(recovery_key, end="" if recovery_key.endswith("\n") else "\n")


def cmd_keys(args: argparse.Namespace) -> int:
    import json

    from .services import trust
    from .services.setup import ensure_identity
    from .sync.identity import read_card_file

    ctx = _signed_in(args)
    try:
        _print_recovery_key(ensure_identity(ctx))  # installations set up before keys existed
        match args.keys_command:
            case "show":
                me = trust.my_identity(ctx)
                if args.format == "json":
                    shown = {"installation_id": me.installation_id, "role": me.role,
                             "establishment": me.establishment_code, "minisign_public_key": me.signing_key,
                             "age_recipient": me.age_recipient, "fingerprint": me.fingerprint}
                    if me.role == "office":
                        shown["recovery_recipient"] = me.recovery_recipient
                    print(json.dumps(shown, indent=2))
                else:
                    where = me.establishment_code or "-"
                    print(f"Installation:        {me.installation_id}")
                    print(f"Role:                {me.role} ({me.name})")
                    print(f"Establishment:       {where}")
                    print(f"minisign public key: {me.signing_key}")
                    print(f"age recipient:       {me.age_recipient}")
                    if me.recovery_recipient:
                        print(f"Recovery recipient:  {me.recovery_recipient}")
                    print(f"Fingerprint:         {me.fingerprint}")
            case "export":
                path = trust.export_card(ctx, args.to)
                me = trust.my_identity(ctx)
                print(f"Wrote the enrolment card to {path}.")
                print(f"Read this fingerprint to the other side by phone or on paper: {me.fingerprint}")
            case "enrol":
                card = read_card_file(args.card, refuse=Refused)
                known = {t.installation_id for t in trust.trusted_installations(ctx) if t.enrolled_at}
                t = trust.enrol(ctx, card, args.fingerprint)
                where = f" ({t.establishment_code})" if t.establishment_code else ""
                done = "Already enrolled" if t.installation_id in known else "Enrolled"
                print(f"{done}: {t.name}{where}, installation {t.installation_id}.")
            case "revoke":
                reason = args.reason or f"revoked by {ctx.user.username}"
                t = trust.revoke(ctx, args.installation_id, reason)
                print(f"Revoked {t.name}, installation {t.installation_id}: bundles it signs after "
                      f"seq {t.revoked_after_seq} are refused.")
            case "list":
                items = trust.trusted_installations(ctx)
                if not items:
                    print("This PC does not trust any other installation yet.")
                for t in items:
                    where = t.establishment_code or "office"
                    state = (f"revoked {t.revoked_at:%Y-%m-%d} after seq {t.revoked_after_seq}"
                             if t.revoked_at else "enrolled")
                    print(f"{t.installation_id}  {where:<6} {t.name:<28} {state:<32} "
                          f"last seq {t.last_received_seq}  {t.fingerprint or ''}")
    finally:
        ctx.db.close()
    return 0


def cmd_bundle(args: argparse.Namespace) -> int:
    from .services import sync

    ctx = _signed_in(args)
    try:
        match args.bundle_command:
            case "export":
                for r in sync.export_bundles(ctx, args.to, for_installation=args.for_installation,
                                             all_=args.all, full=args.full):
                    kind = "full bundle" if r.full else "bundle"
                    print(f"Wrote {kind} {r.seq} for {r.recipient_name}: {r.path} "
                          f"({plural(r.changes, 'change')}, {r.size // 1024 + 1} KB).")
            case "verify":
                v = sync.verify_bundle(ctx, args.file)
                print(f"OK: {v.describe()}")
                print(f"origin {v.origin_id}  seq {v.seq}  created {v.created:%Y-%m-%dT%H:%M:%SZ}  "
                      f"schema {v.schema}{'  full' if v.full else ''}")
                for table, count in sorted(v.counts.items()):
                    print(f"  {table:<24}{count:>10}")
                if v.missing_before:
                    print(f"Not yet imported from this origin: {_seq_ranges(v.missing_before)}.")
            case "import":
                return _print_imported(sync.import_bundles(ctx, args.files, preview=_print_preview))
            case "history":
                held_listed = False
                for h in sync.bundle_history(ctx):
                    gaps = f"  GAPS: {_seq_ranges(h.gaps)}" if h.gaps else ""
                    print(f"{h.origin_name} ({h.origin_id}){gaps}")
                    for e in h.entries:
                        print(f"  {e.direction:<8} seq {e.seq:>6}  {e.created_at:%Y-%m-%d %H:%M}  "
                              f"{e.changes:>8} {noun_for(e.changes, 'change'):<7}  {e.file_name}")
                        if e.direction == "received":
                            print(f"{'':11}{e.outcome()}")
                        for held in e.held:
                            held_listed = True
                            state = "still held" if held.still_held else "applied since"
                            print(f"{'':11}held: {held.text()} ({state})")
                if held_listed:
                    print(sync.HELD_RETRIED)
    finally:
        ctx.db.close()
    return 0


def _print_preview(batch) -> bool:  # noqa: ANN001 - a services.sync.BatchPreview
    """The command line's preview: one "Checked:" line per bundle to apply, then it goes on."""
    ready = batch.ready
    for number, f in enumerate(ready, 1):
        line = f"Checked: {f.verified.describe()}"
        if f.missing_before:
            line += f" Not yet imported from {f.verified.origin_name}: {_seq_ranges(list(f.missing_before))}."
        if number == len(ready):
            how_many = "" if len(ready) == 1 else f" {len(ready)} bundles"
            line += f" Backing up, then applying{how_many}." if batch.backing_up else f" Applying{how_many}."
        print(line, flush=True)
    return True


def _print_imported(batch) -> int:  # noqa: ANN001 - a services.sync.ImportBatch
    """One line per file (a refusal on standard error, as ``srcdesk: FILE: reason``), what the
    import held and why, and the bundles still missing; 1 if any file was refused."""
    from .services import sync

    unexpected: BaseException | None = None
    held_listed = False
    for o in batch.outcomes:
        if o.error is not None:
            if isinstance(o.error, SrcdeskError):
                print(f"srcdesk: {o.path.name}: {o.error}", file=sys.stderr)
            else:
                print(f"srcdesk: {o.path.name}: not imported: an unexpected error (below).", file=sys.stderr)
                unexpected = unexpected or o.error
            continue
        if o.same_as is not None:
            print(f"{o.path.name}: the same bundle as {o.same_as.name}; imported once.")
            continue
        r = o.result
        if r is None:
            continue
        print(r.describe())
        for held in r.held_records:
            held_listed = True
            print(f"  held: {held.text()}")
        for held in r.held_again:
            held_listed = True
            print(f"  still held from an earlier bundle: {held.text()}")
        if r.waiting:
            print(f"  {_records(r.waiting)} {'waits' if r.waiting == 1 else 'wait'} for a record in a bundle not "
                  "imported yet, and will be applied when it is.")
        if r.merged:
            print(f"  {_records(r.merged)} made on two PCs {'is' if r.merged == 1 else 'are'} now one.")
        if r.conflicts:
            print(f"  {r.conflicts} value{'' if r.conflicts == 1 else 's'} changed in two places at once: "
                  "see 'srcdesk conflicts list'.")
    if held_listed:
        print(sync.HELD_RETRIED)
    if batch.backup is not None:
        print(f"The data was backed up first: {batch.backup}")
    for origin, seqs in batch.missing.items():
        print(f"Still missing from {origin}: {_seq_ranges(list(seqs))}.")
    if unexpected is not None:
        raise unexpected
    return 1 if batch.refused else 0


def _records(count: int) -> str:
    return plural(count, "record")


def _seq_ranges(seqs: list[int]) -> str:
    out: list[str] = []
    start = prev = None
    for n in [*seqs, None]:
        if start is not None and (n is None or n != prev + 1):
            out.append(str(start) if start == prev else f"{start}-{prev}")
            start = None
        if n is not None and start is None:
            start = n
        prev = n
    return ", ".join(out)


def cmd_conflicts(args: argparse.Namespace) -> int:
    from .services import conflicts

    ctx = _signed_in(args)
    try:
        match args.conflicts_command:
            case "list":
                items = conflicts.list_conflicts(ctx)
                if not items:
                    print("No conflicts.")
                for c in items:
                    print(f"#{c.id}  {c.record} — {c.field_label}")
                    print(f"    current: {c.current.show()}  ({c.current.origin_name}, "
                          f"{c.current.user_name or 'system'}, {c.current.when:%Y-%m-%d %H:%M} UTC)")
                    print(f"    other:   {c.other.show()}  ({c.other.origin_name}, "
                          f"{c.other.user_name or 'system'}, {c.other.when:%Y-%m-%d %H:%M} UTC)")
            case "resolve":
                choice = "keep" if args.keep else "other" if args.other else "edit"
                conflicts.resolve_conflict(ctx, args.conflict_id, choice, args.value)
                print(f"Conflict #{args.conflict_id} settled; the decision travels in the next bundle.")
    finally:
        ctx.db.close()
    return 0


def cmd_clock(args: argparse.Namespace) -> int:
    from .services import clock
    from .services.setup import open_installation

    if args.clock_command == "check":  # reads nothing personal: no sign-in, like 'srcdesk check'
        ctx = open_installation(_data_dir(args))
        try:
            status = clock.clock_status(ctx)
        finally:
            ctx.db.close()
        for line in status.describe():
            print(line)
        return 1 if status.needs_repair else 0
    ctx = _signed_in(args)
    try:
        result = clock.repair_clock(ctx)
    finally:
        ctx.db.close()
    for line in result.describe():
        print(line)
    # No app can be open on this data meanwhile (the data folder's lock), so none goes on from the
    # old clock it keeps in memory.
    return 0


COMMANDS = {"init": cmd_init, "demo": cmd_demo, "check": cmd_check, "backup": cmd_backup, "user": cmd_user}
COMMANDS["keys"] = cmd_keys
COMMANDS["bundle"] = cmd_bundle
COMMANDS["conflicts"] = cmd_conflicts
COMMANDS["clock"] = cmd_clock


def signed_in_command(run):  # noqa: ANN001, ANN201 - run(args, ctx) -> exit status
    """A command kept in a module of its own (``srcdesk.cli_certificates``, ``srcdesk.cli_plan``,
    ``srcdesk.cli_report``, ``srcdesk.cli_export``): ``run(args, ctx)`` with the acting user signed
    in, the data closed after."""
    def command(args: argparse.Namespace) -> int:
        ctx = _signed_in(args)
        try:
            return run(args, ctx)
        finally:
            ctx.db.close()
    return command


COMMANDS["certificates"] = signed_in_command(certificates_cli.run)
COMMANDS["plan"] = signed_in_command(plan_cli.run)
COMMANDS["initiatives"] = signed_in_command(initiatives_cli.run)
COMMANDS["organisations"] = signed_in_command(organisations_cli.run)
COMMANDS["referrals"] = signed_in_command(referrals_cli.run)
COMMANDS["liberation"] = signed_in_command(liberation_cli.run)
COMMANDS["report"] = signed_in_command(report_cli.run)
COMMANDS["export"] = signed_in_command(export_cli.run)


def _log_unexpected(args: argparse.Namespace | None, error: BaseException) -> Path | None:
    """Append the error's traceback, without SQL or parameters, to ``DIR/logs/srcdesk.log``."""
    import datetime as dt

    from .errors import safe_traceback
    from .paths import log_dir, open_private_append

    try:
        folder = log_dir(_data_dir(args)) if args else None
        if folder is None:
            return None
        path = folder / "srcdesk.log"
        stamp = dt.datetime.now().isoformat(timespec="seconds")
        with open_private_append(path) as fh:  # the folder and file owner-only
            fh.write(f"{stamp} srcdesk {__version__} command line\n{safe_traceback(error)}")
        return path
    except OSError:
        return None


def _quiet_closed_stdout() -> None:
    """Whoever read our output stopped (``srcdesk user list | head -1``): say nothing more, and
    keep Python from complaining about it when it flushes standard output at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file behind sys.stdout
        pass


def _writer_lock(args: argparse.Namespace):  # noqa: ANN202 - a context manager
    """The data folder's lock for a command that writes (see :data:`READ_ONLY`)."""
    from contextlib import nullcontext

    from .instance import COMMAND_WAIT_SECONDS, InstanceLock

    if _command(args) in READ_ONLY and not getattr(args, "rebuild_summaries", False):
        return nullcontext()
    lock = InstanceLock(_data_dir(args))
    lock.acquire(COMMAND_WAIT_SECONDS, create=args.command == "init")
    return lock


def main(argv: Sequence[str] | None = None) -> int:
    from .errors import database_problem, user_message

    argv = sys.argv[1:] if argv is None else list(argv)
    desktop = desktop_args(argv)  # at once, without every command's parser (see srcdesk.start)
    if desktop is not None:
        return open_app(desktop)
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        return open_app(args)
    if _command(args) not in NO_USER and not _username(args):
        parser.error(NO_USER_GIVEN)
    try:
        with _writer_lock(args):
            code = COMMANDS[args.command](args)
        if sys.stdout is not None:  # None in a build without a console
            sys.stdout.flush()  # a closed pipe shows here at the latest, not at exit
        return code
    except BrokenPipeError:
        _quiet_closed_stdout()
        return 0
    except UsageError as exc:
        parser.error(str(exc))
    except SrcdeskError as exc:
        print(f"srcdesk: {user_message(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("srcdesk: interrupted; nothing was saved from the unfinished operation.", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - last resort: one line for people, details in the log
        problem = database_problem(exc)
        if problem is not None:
            print(f"srcdesk: {problem}", file=sys.stderr)
            return 1
        where = _log_unexpected(args, exc)
        detail = f" Details are in {where}." if where else ""
        print(f"srcdesk: unexpected error: {user_message(exc)}.{detail}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
