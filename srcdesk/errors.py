"""Errors that speak to people.

Services raise these with a sentence a prison officer understands; the CLI prints it on
one line and the GUI shows it next to what caused it.
"""

import logging


class SrcdeskError(Exception):
    """Base class: ``str(error)`` is the message shown to the user."""


class ValidationError(SrcdeskError):
    """The input can't be saved as it is."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class PermissionDenied(SrcdeskError):
    """The signed-in user's role does not allow this."""


class Cancelled(SrcdeskError):
    """Long work (a batch of certificates) was stopped by the person who started it; nothing
    half-made is left behind."""


class NotFound(SrcdeskError):
    """A record that was asked for does not exist (or was deleted)."""


class AuthenticationFailed(SrcdeskError):
    """Sign-in failed. The message never says which part was wrong."""


class DatabaseError(SrcdeskError):
    """The data file is missing, damaged, locked, newer than this srcdesk, or unwritable."""


# -- what the database's own errors mean to a person ---------------------------------------------
#
# SQLite reports a busy, full, read-only or missing data file as an ``OperationalError`` whose text
# is meant for programmers, and SQLAlchemy's wrapper of it adds the SQL statement (and, unless the
# engine hides them, its parameters: names, password hashes). :func:`database_problem` turns the
# ones a person can act on into a :class:`DatabaseError` with one sentence; :func:`scrub` takes
# the SQL out of any other before it is shown or logged. The CLI, the desktop app's error dialog,
# the log and the engine itself (srcdesk.db) all go through these.

BUSY = "Another srcdesk is busy with this data; try again in a moment."

_SQLITE_PROBLEMS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("database is locked", "database table is locked", "database schema is locked", "database is busy"), BUSY),
    (("database or disk is full", "disk is full"),
     "The disk that holds srcdesk's data is full: free some space, then try again."),
    (("readonly database", "read-only", "readonly"),
     "srcdesk's data can't be written: the data file or its folder is read-only."),
    (("unable to open database file", "unable to open"),
     "srcdesk can't open its data file: the data folder is missing, was moved, or this user may not use it."),
    (("disk i/o error",),
     "The disk failed while srcdesk read or wrote its data: check the drive, then try again."),
    (("database disk image is malformed", "file is not a database"),
     "srcdesk's data file is damaged: run 'srcdesk check', and restore the latest backup if it says so."),
)


def _chain(error: BaseException) -> list[BaseException]:
    """``error`` and the exceptions it was raised from or during, each once."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [error]
    while todo:
        e = todo.pop(0)
        if e is None or any(e is s for s in seen):
            continue
        seen.append(e)
        todo += [getattr(e, "orig", None), e.__cause__, e.__context__]
    return seen


def database_problem(error: BaseException, *, operational: bool = False) -> DatabaseError | None:
    """A sentence for a SQLite error a person can act on (busy, disk full, read-only, can't open,
    damaged), bare or wrapped by SQLAlchemy anywhere in ``error``'s chain; None for any other.
    ``operational``: only the conditions of the moment (busy, full, read-only, can't open, I/O),
    not a damaged file, which the code that opens and checks data reports in its own words."""
    import sqlite3

    if isinstance(error, SrcdeskError):
        return None
    kind = sqlite3.OperationalError if operational else sqlite3.DatabaseError
    for e in _chain(error):
        if not isinstance(e, kind) or isinstance(e, sqlite3.IntegrityError):
            continue
        said = str(e).lower()
        for needles, sentence in _SQLITE_PROBLEMS:
            if any(n in said for n in needles):
                return DatabaseError(sentence)
    return None


def scrub(error: BaseException) -> BaseException:
    """Take the SQL statement and its parameters out of every SQLAlchemy error in ``error``'s
    chain (in place), so that ``str()`` and tracebacks of it hold neither. Returns ``error``."""
    for e in _chain(error):
        if hasattr(e, "statement") and hasattr(e, "params"):  # sqlalchemy.exc.StatementError
            e.statement = None
            e.params = None
    return error


def user_message(error: BaseException) -> str:
    """One line for a person about any error: a domain error's own sentence, a database problem's,
    or the kind of error and its first line, without SQL or parameters."""
    if isinstance(error, SrcdeskError):
        return " ".join(str(error).split())
    problem = database_problem(error)
    if problem is not None:
        return str(problem)
    said = str(scrub(error)).strip().splitlines()
    first = said[0].strip() if said else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


def safe_traceback(error: BaseException) -> str:
    """The traceback of ``error`` for the log and the error dialog's details, without SQL or
    parameters (and with the person's sentence first when it is a database problem)."""
    import traceback

    problem = database_problem(error)
    details = "".join(traceback.format_exception(type(error), scrub(error), error.__traceback__))
    return f"{problem}\n{details}" if problem is not None else details


class ScrubbingFormatter(logging.Formatter):
    """Log records without SQL or parameters: tracebacks through :func:`safe_traceback`, and any
    exception passed as the message or an argument scrubbed first."""

    def formatException(self, ei) -> str:  # noqa: ANN001, N802 - logging's own name
        error = ei[1]
        if error is None:
            return super().formatException(ei)
        return safe_traceback(error).rstrip("\n")

    def format(self, record: logging.LogRecord) -> str:
        if isinstance(record.msg, BaseException):
            scrub(record.msg)
        args = record.args if isinstance(record.args, tuple) else ()
        for arg in args:
            if isinstance(arg, BaseException):
                scrub(arg)
        return super().format(record)
