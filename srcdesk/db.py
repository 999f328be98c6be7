"""The database: engine, pragmas, sessions, migrate-on-open, consistent backups.

One SQLite file per installation, owner-only (see :mod:`srcdesk.paths`). Opening it checks
that it is a SQLite file, refuses one written by a newer srcdesk, and migrates an older one
after a checked backup (:mod:`srcdesk.backups`; backups made before a migration are never
pruned). Every ORM session made here captures changes for sync (see sync.capture).
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, ExceptionContext
from sqlalchemy.exc import DatabaseError as SADatabaseError
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker

from .backups import copy_database, timestamped_backup
from .errors import DatabaseError, database_problem, scrub
from .models import LocalState, stats
from .paths import create_private_file, database_path, private_dir
from .sync.capture import Actor, install_engine_guard, install_session_hooks, install_write_watch
from .sync.hlc import HybridClock
from .untrusted import open_untrusted
from .words import plural

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported only when a database is created or migrated: importing it costs about a
# second of start-up, and an up-to-date database (every start but the first after an update)
# needs only the revision numbers, read here straight from the migration scripts.
_REVISION_RE = re.compile(r"""^revision\b[^=\n]*=\s*['"]([^'"]+)['"]""", re.MULTILINE)
_DOWN_REVISION_RE = re.compile(r"""^down_revision\b[^=\n]*=\s*(?:['"]([^'"]+)['"]|None)""", re.MULTILINE)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_HEADER = b"SQLite format 3\x00"


class CapturingSession(OrmSession):
    """ORM session whose flushes stamp and log every change to a syncable table."""


install_session_hooks(CapturingSession)


def _recount_summaries(session: OrmSession) -> None:
    """Before a commit, recount the dashboard's summaries this transaction's writes made out of
    date (see srcdesk.models.stats): a figure never lags the records it counts. SQLAlchemy calls
    this before the commit's own flush, so the pending changes are flushed here first."""
    session.flush()
    stats.refresh(session.connection().connection.driver_connection)


event.listen(CapturingSession, "before_commit", _recount_summaries)


def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def _script_revisions() -> dict[str, str | None]:
    """revision -> down_revision of every migration script (what alembic reads, without alembic)."""
    revisions: dict[str, str | None] = {}
    for script in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        source = script.read_text(encoding="utf-8")
        rev, down = _REVISION_RE.search(source), _DOWN_REVISION_RE.search(source)
        if rev is None or down is None:
            raise DatabaseError(f"The migration script {script.name} has no revision; srcdesk is damaged.")
        revisions[rev.group(1)] = down.group(1)
    return revisions


def head_revision() -> str:
    """The newest schema revision this srcdesk knows (the one migration nothing follows)."""
    revisions = _script_revisions()
    heads = set(revisions) - {down for down in revisions.values() if down}
    if len(heads) != 1:
        raise DatabaseError(f"srcdesk's migrations have {len(heads)} heads; srcdesk is damaged.")
    return heads.pop()


BUSY_TIMEOUT_MS = 5000  # how long a write waits for another one to finish before "busy"


def _busy_timeout_ms() -> int:
    """``$SRCDESK_BUSY_TIMEOUT_MS`` (tests make it short), else :data:`BUSY_TIMEOUT_MS`."""
    try:
        return max(0, int(os.environ.get("SRCDESK_BUSY_TIMEOUT_MS", BUSY_TIMEOUT_MS)))
    except ValueError:
        return BUSY_TIMEOUT_MS


def _set_pragmas(dbapi_conn: sqlite3.Connection, record: object) -> None:
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={_busy_timeout_ms()}")  # first: the next one may wait for a lock
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _speak_plainly(context: ExceptionContext) -> BaseException | None:
    """Every error the engine raises: no SQL or parameters in it, and a busy, full, read-only or
    unopenable database becomes a :class:`DatabaseError` with one sentence for a person. (A damaged
    file stays SQLAlchemy's error: opening and checking data report it in words of their own.)"""
    scrub(context.sqlalchemy_exception)
    problem = database_problem(context.original_exception, operational=True)
    if problem is not None:
        problem.__cause__ = context.sqlalchemy_exception
        return problem
    return None


def make_engine(path: Path) -> Engine:
    engine = create_engine(
        f"sqlite:///{path}",
        connect_args={"check_same_thread": False},
        hide_parameters=True,  # parameters are names, references, password hashes: never in an error
    )
    event.listen(engine, "connect", _set_pragmas)
    event.listen(engine, "handle_error", _speak_plainly)
    install_engine_guard(engine)
    install_write_watch(engine)
    return engine


def looks_like_sqlite(path: Path) -> bool:
    """Whether ``path`` is a regular file that starts as a SQLite database does (a folder, device
    or pipe put in its place is refused at once, without hanging)."""
    with open_untrusted(path, limit=None, what="srcdesk database", refuse=DatabaseError) as fh:
        return fh.read(16) == SQLITE_HEADER


def system_wall_ms() -> int:
    """This PC's clock: milliseconds since 1970-01-01 UTC."""
    return time.time_ns() // 1_000_000


class Database:
    """An open srcdesk database. Thread-safe: each unit of work gets its own session."""

    def __init__(self, data_dir: Path, engine: Engine, *, wall_ms: Callable[[], int] | None = None) -> None:
        self.data_dir = data_dir
        self.path = database_path(data_dir)
        self.engine = engine
        # This PC's clock, in milliseconds since 1970 (UTC). The hybrid clock stamps changes from
        # it and the clock check compares with it; a test gives a PC a wrong clock by setting it
        # (here or later: the clock reads whatever it is now).
        self.wall_ms: Callable[[], int] = wall_ms or system_wall_ms
        self._sessions = sessionmaker(engine, class_=CapturingSession, expire_on_commit=False)
        with self._sessions() as s:
            row = s.get(LocalState, "hlc")
            self.clock = HybridClock(int(row.value) if row else 0, wall_ms=self._wall)

    def _wall(self) -> int:
        return self.wall_ms()

    def rewind_clock(self, last: int) -> None:
        """Start the clock again from ``last``, even below where it was. The clock never goes back
        otherwise: only a clock repair (:mod:`srcdesk.services.clock`) does this, once it has
        re-stamped this PC's changes that were ahead and saved ``last``. Sessions opened from now
        on use it, and so do those open now."""
        self.clock.rewind(last)

    # -- opening -----------------------------------------------------------------------

    @classmethod
    def create(cls, data_dir: Path, *, wall_ms: Callable[[], int] | None = None) -> Database:
        """Create a new, empty, fully migrated database in ``data_dir``."""
        path = database_path(data_dir)
        if path.exists():
            raise DatabaseError(f"There is already srcdesk data in {data_dir}.")
        try:
            private_dir(data_dir)
            probe = data_dir / ".srcdesk-write-test"
            probe.write_bytes(b"")
            probe.unlink()
            # owner-only before SQLite first opens it: SQLite gives -wal and -shm the database's mode
            create_private_file(path)
        except OSError as exc:
            raise DatabaseError(f"Can't write to the data folder {data_dir}: {exc.strerror or exc}.") from exc
        engine = make_engine(path)
        try:
            _upgrade(engine)
        except (OperationalError, SADatabaseError) as exc:
            engine.dispose()
            path.unlink(missing_ok=True)
            raise DatabaseError(f"Couldn't create the database in {data_dir}: {exc.orig}.") from exc
        return cls(data_dir, engine, wall_ms=wall_ms)

    @classmethod
    def open(cls, data_dir: Path, *, migrate: bool = True, wall_ms: Callable[[], int] | None = None) -> Database:
        """Open existing data, migrating it (after a backup) if it is from an older srcdesk."""
        path = database_path(data_dir)
        if not path.exists():
            raise DatabaseError(f"No srcdesk data in {data_dir}; run 'srcdesk init' first.")
        try:
            if not looks_like_sqlite(path):
                raise DatabaseError(f"{path} is not a srcdesk database or is damaged; it was left untouched.")
        except OSError as exc:
            raise DatabaseError(f"Can't read {path}: {exc.strerror or exc}.") from exc
        if not os.access(data_dir, os.W_OK) or not os.access(path, os.W_OK):
            raise DatabaseError(f"The data folder {data_dir} is read-only; srcdesk needs to write there.")
        engine = make_engine(path)
        try:
            current = schema_revision(engine)
            head = head_revision()
            if current is None:
                engine.dispose()
                raise DatabaseError(f"{path} is not a srcdesk database; it was left untouched.")
            if current != head:
                if current not in _script_revisions():
                    engine.dispose()
                    raise DatabaseError(
                        f"This data was written by a newer srcdesk (schema {current}); "
                        "update srcdesk to open it."
                    ) from None
                if migrate:
                    timestamped_backup(data_dir, f"before-{head}")
                    _upgrade(engine)
            return cls(data_dir, engine, wall_ms=wall_ms)
        except (OperationalError, SADatabaseError) as exc:
            engine.dispose()
            raise DatabaseError(f"Can't open {path}: {exc.orig}. The file was left untouched.") from exc
        except DatabaseError:  # already in words (the engine's handler, or refused above)
            engine.dispose()
            raise

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- units of work -----------------------------------------------------------------

    @contextmanager
    def session(self, actor: Actor | None = None) -> Iterator[OrmSession]:
        """One unit of work: commits on success, rolls back everything on any error."""
        s = self._sessions()
        s.info["clock"] = self.clock
        if actor is not None:
            s.info["actor"] = actor
        try:
            yield s
            s.commit()
        except BaseException as exc:
            s.rollback()
            # Raw driver errors (the change capture's own statements) don't pass the engine's
            # handler: a busy or full database says so in one sentence here too.
            problem = database_problem(exc, operational=True)
            if problem is not None:
                raise problem from exc
            raise
        finally:
            s.close()

    def read(self) -> OrmSession:
        """A session for reading only (no actor: any write in it is refused)."""
        s = self._sessions()
        s.info["clock"] = self.clock
        return s

    def backup_to(self, target: Path) -> Path:
        """A checked copy of the data in the new file ``target`` (:func:`srcdesk.backups.copy_database`)."""
        return copy_database(self.path, target)


def schema_revision(engine: Engine) -> str | None:
    """The database's schema revision (alembic's version table), None if it has none."""
    with engine.connect() as conn:
        exists = conn.execute(text(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'")).first()
        if exists is None:
            return None
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(versions) > 1:
        raise DatabaseError("The database records more than one schema version; it was left untouched.")
    return versions[0] if versions else None


def _upgrade(engine: Engine) -> None:
    from alembic import command

    _migrate(engine, lambda cfg: command.upgrade(cfg, "head"))


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema back to ``revision`` (for tests and developers: srcdesk never does)."""
    from alembic import command

    _migrate(engine, lambda cfg: command.downgrade(cfg, revision))


def _migrate(engine: Engine, step: Callable[[Config], None]) -> None:
    cfg = alembic_config()
    # SQLite's procedure for schema changes that recreate a table others refer to: foreign keys
    # off (only possible outside a transaction), migrate, check every reference, commit. With
    # them on, copying a parent table would delete (or, deferred, refuse) its children.
    with engine.connect() as conn:
        raw = conn.connection.driver_connection  # a PRAGMA through SQLAlchemy would begin a transaction
        raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                step(cfg)
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise DatabaseError(
                        f"Updating the database would break {plural(len(broken), 'reference')} "
                        f"(first in {broken[0][0]}); nothing was changed."
                    )
        finally:
            raw.execute("PRAGMA foreign_keys=ON")
