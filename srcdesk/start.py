"""What the ``srcdesk`` command runs first: the desktop app at once, or a command.

Opening the desktop app is what people do most, and they wait for its sign-in window. So
:func:`main` decides it here, from the few options that come before any command, importing
argparse only: :mod:`srcdesk.cli` imports every command's module and builds every command's
parser (some of whose help texts need the database code), which the sign-in window need not
wait for. Anything else (a command, ``--help``, a mistake) goes to :func:`srcdesk.cli.main`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__


def global_options(p: argparse.ArgumentParser) -> None:
    """The options before any command (all the desktop app takes)."""
    p.add_argument("--version", action="version", version=f"srcdesk {__version__}")
    p.add_argument("--data-dir", type=Path, help="data folder (default: $SRCDESK_HOME or the user data folder)")
    p.add_argument("--user", help="who is acting (default: $SRCDESK_USER); the password comes from "
                   "$SRCDESK_PASSWORD or a prompt")


def desktop_args(argv: Sequence[str]) -> argparse.Namespace | None:
    """The arguments when ``argv`` opens the desktop app (no command, no ``--help``); None for
    anything else, which :func:`srcdesk.cli.main` then parses (and explains, if it is wrong)."""
    p = argparse.ArgumentParser(prog="srcdesk", add_help=False, exit_on_error=False)
    global_options(p)
    try:
        args, rest = p.parse_known_args(argv)
    except argparse.ArgumentError:
        return None
    if rest:
        return None
    args.command = None
    return args


def data_dir(args: argparse.Namespace) -> Path:
    """``--data-dir``, else $SRCDESK_HOME or the user data folder."""
    from .paths import default_data_dir

    return (args.data_dir or default_data_dir()).expanduser()


def open_app(args: argparse.Namespace) -> int:
    from .ui.app import run_app

    return run_app(data_dir(args))


def main(argv: Sequence[str] | None = None) -> int:
    """The ``srcdesk`` command (exit codes: see :mod:`srcdesk.cli`)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = desktop_args(argv)
    if args is not None:
        return open_app(args)
    from .cli import main as command

    return command(argv)


if __name__ == "__main__":
    sys.exit(main())
