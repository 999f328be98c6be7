"""The `srcdesk` command: opens the desktop app, or runs a subcommand on the same services.

Exit codes: 0 done, 1 refused or failed (one-line reason), 2 usage.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .errors import SrcdeskError

log = logging.getLogger("srcdesk")


class Refused(SrcdeskError):
    pass


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="srcdesk",
        description="Record keeping for recovery development in Scotland's prisons. "
        "With no command, opens the desktop app.",
    )
    p.add_argument("--version", action="version", version=f"srcdesk {__version__}")
    p.add_argument("--data-dir", type=Path, help="data folder (default: $SRCDESK_HOME or the user data folder)")
    p.add_argument("--user", help="who is acting (default: $SRCDESK_USER); the password comes from "
                   "$SRCDESK_PASSWORD or a prompt")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    init = sub.add_parser("init", help="set this PC up for an establishment or the SRC office")
    where = init.add_mutually_exclusive_group(required=True)
    where.add_argument("--establishment", metavar="CODE", help="establishment code, e.g. PER")
    where.add_argument("--office", action="store_true", help="the SRC office installation")
    init.add_argument("--admin", required=True, metavar="USERNAME", help="first administrator's username")
    init.add_argument("--admin-name", metavar="NAME", help="their full name (default: the username)")

    demo = sub.add_parser("demo", help="fill a new installation with realistic sample data")
    demo.add_argument("--scale", choices=("small", "national", "decade"), default="small")
    demo.add_argument("--seed", type=int, default=1)

    sub.add_parser("check", help="check integrity, references, migrations and the change log")

    backup = sub.add_parser("backup", help="write a consistent copy of the database")
    backup.add_argument("--to", required=True, type=Path, metavar="FILE")

    user = sub.add_parser("user", help="manage user accounts (administrators)")
    usub = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    add = usub.add_parser("add", help="add a user (new password from $SRCDESK_NEW_PASSWORD or a prompt)")
    add.add_argument("username")
    add.add_argument("--role", choices=("recorder", "coordinator", "administrator"), default="recorder")
    add.add_argument("--name", help="full name (default: the username)")
    usub.add_parser("list", help="list users")
    pw = usub.add_parser("passwd", help="set a user's password ($SRCDESK_NEW_PASSWORD or a prompt)")
    pw.add_argument("username")
    dis = usub.add_parser("disable", help="disable a user's account")
    dis.add_argument("username")
    en = usub.add_parser("enable", help="enable a disabled account")
    en.add_argument("username")
    role = usub.add_parser("role", help="change a user's role")
    role.add_argument("username")
    role.add_argument("role", choices=("recorder", "coordinator", "administrator"))
    return p


def _data_dir(args: argparse.Namespace) -> Path:
    from .paths import default_data_dir

    return (args.data_dir or default_data_dir()).expanduser()


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


def _signed_in(args: argparse.Namespace):  # noqa: ANN202
    from .services.setup import open_installation
    from .services.users import authenticate

    username = args.user or os.environ.get("SRCDESK_USER")
    if not username:
        raise Refused("Say who you are with --user or SRCDESK_USER.")
    ctx = open_installation(_data_dir(args))
    try:
        ctx.user = authenticate(ctx.db, username, _password(f"Password for {username}: "))
    except BaseException:
        ctx.db.close()
        raise
    return ctx


def cmd_init(args: argparse.Namespace) -> int:
    from .services.setup import init_installation

    data_dir = _data_dir(args)
    password = _password(f"New password for {args.admin}: ", confirm=True)
    ctx = init_installation(
        data_dir, establishment=args.establishment, office=args.office,
        admin_username=args.admin, admin_name=args.admin_name, admin_password=password,
    )
    try:
        inst = ctx.installation
        where = "the SRC office" if inst.is_office else f"{inst.name} ({inst.establishment_code})"
        print(f"Set up {where} in {data_dir}; administrator '{ctx.user.username}'.")
    finally:
        ctx.db.close()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .services.demo import generate_demo

    ctx = _signed_in(args)
    try:
        def progress(done: int, total: int, what: str) -> None:
            if sys.stderr.isatty():
                print(f"\r{what}: {done * 100 // max(total, 1):3d}%   ", end="", file=sys.stderr, flush=True)

        summary = generate_demo(ctx, scale=args.scale, seed=args.seed, progress=progress)
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
        report = run_check(db)
    finally:
        db.close()
    for note in report.notes:
        print(note)
    for problem in report.problems:
        print(f"PROBLEM: {problem}")
    print("OK" if report.ok else f"{len(report.problems)} problem(s) found.")
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

    ctx = _signed_in(args)
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
                pw = _password(f"New password for {args.username}: ", "SRCDESK_NEW_PASSWORD", confirm=True)
                users.set_password(ctx, args.username, pw)
                print(f"Password changed for {args.username}.")
            case "disable" | "enable":
                u = users.set_active(ctx, args.username, args.user_command == "enable")
                print(f"{u.username} is now {'enabled' if u.active else 'disabled'}.")
            case "role":
                u = users.set_role(ctx, args.username, args.role)
                print(f"{u.username} is now {u.role}.")
    finally:
        ctx.db.close()
    return 0


COMMANDS = {"init": cmd_init, "demo": cmd_demo, "check": cmd_check, "backup": cmd_backup, "user": cmd_user}


def _log_unexpected(args: argparse.Namespace | None) -> Path | None:
    from .paths import log_dir

    try:
        folder = log_dir(_data_dir(args)) if args else None
        if folder is None:
            return None
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "srcdesk.log"
        with path.open("a", encoding="utf-8") as fh:
            fh.write(traceback.format_exc())
        return path
    except OSError:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        from .ui.app import run_app

        return run_app(_data_dir(args))
    try:
        return COMMANDS[args.command](args)
    except SrcdeskError as exc:
        print(f"srcdesk: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("srcdesk: interrupted; nothing was saved from the unfinished operation.", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - last resort: one line for people, details in the log
        where = _log_unexpected(args)
        detail = f" Details are in {where}." if where else ""
        print(f"srcdesk: unexpected error: {type(exc).__name__}: {exc}.{detail}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
