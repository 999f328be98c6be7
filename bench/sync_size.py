"""How much of a database the change log takes (issue 9, item 9: decade database <= 1.4x its size
without the log).

"Without the log" is measured in place, with SQLite's ``dbstat`` virtual table: the pages of the
``change_log`` table and of its indexes, taken from the pages the database uses (free pages left
out of both). Nothing is copied or vacuumed, so a 2 GB database is measured in seconds and the
other tables are counted exactly as they are stored (a ``VACUUM``-ed copy without the log would
repack them too, and so compare two different databases).

Measured on a database made by ``srcdesk demo --scale decade`` (an office with every
establishment's decade, cached by :func:`demo_office`), and by the sync bench on its
establishment and on the office that imported it (the merge path).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GOAL_LOG_RATIO = 1.4
PASSWORD = "password123"
OFFICE_USER = "phr"
CACHE_FORMAT = 1


@dataclass(frozen=True)
class LogSize:
    """A database's pages in use, those of the change log, and what the log holds."""

    used: int  # bytes in pages in use (free pages left out)
    log: int  # bytes in the pages of change_log and its indexes
    file: int  # bytes on disk: the database file and its write-ahead log
    changes: int  # change-log rows
    without_values: int  # of which inserts stored without their values (fields NULL)

    @property
    def without_log(self) -> int:
        return self.used - self.log

    @property
    def ratio(self) -> float:
        return self.used / self.without_log if self.without_log else float("inf")


def log_size(db: Path) -> LogSize:
    """Measure ``db`` (read only)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, isolation_level=None)
    try:
        con.execute("BEGIN")  # one snapshot for every count
        page = con.execute("PRAGMA page_size").fetchone()[0]
        pages = con.execute("PRAGMA page_count").fetchone()[0]
        free = con.execute("PRAGMA freelist_count").fetchone()[0]
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_schema WHERE tbl_name = 'change_log' "
                                           "AND type IN ('table', 'index')")]
        log = sum(con.execute("SELECT coalesce(sum(pgsize), 0) FROM dbstat('main', 1) WHERE name = ?",
                              (name,)).fetchone()[0] for name in names)
        changes, with_values = con.execute("SELECT count(*), count(fields) FROM change_log").fetchone()
        con.execute("ROLLBACK")
    finally:
        con.close()
    on_disk = sum(p.stat().st_size for p in (db, db.with_name(db.name + "-wal")) if p.exists())
    return LogSize((pages - free) * page, log, on_disk, changes, changes - with_values)


def demo_office(folder: Path, *, scale: str, seed: int, schema: str) -> tuple[Path, dict[str, Any]]:
    """An office data folder filled as ``srcdesk demo --scale SCALE --seed SEED`` fills one, made
    once into ``folder`` and reused while the schema is the same. Returns (its data folder, the
    cache's marker)."""
    from srcdesk.services.demo import DEMO_END, generate_demo
    from srcdesk.services.setup import init_installation

    try:
        marker = json.loads((folder / "bench.json").read_text())
        want = {"format": CACHE_FORMAT, "schema": schema, "scale": scale, "seed": seed}
        if all(marker.get(k) == v for k, v in want.items()):
            return folder / "office", marker
    except (OSError, ValueError):
        pass
    part = folder.with_name(folder.name + ".part")
    shutil.rmtree(part, ignore_errors=True)
    part.mkdir(parents=True)
    t0 = time.perf_counter()
    ctx = init_installation(part / "office", establishment=None, office=True, admin_username=OFFICE_USER,
                            admin_name="PHR Officer", admin_password=PASSWORD, recovery_key_out=part / "recovery.key")
    try:
        summary = generate_demo(ctx, scale=scale, seed=seed, end=DEMO_END)
    finally:
        ctx.db.close()
    marker = {"format": CACHE_FORMAT, "schema": schema, "scale": scale, "seed": seed, "records": summary.total,
              "seconds": round(time.perf_counter() - t0, 1)}
    (part / "bench.json").write_text(json.dumps(marker, indent=1) + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    part.replace(folder)
    return folder / "office", marker
