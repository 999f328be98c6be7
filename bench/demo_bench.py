"""Demo data generation against a raw ``sqlite3.executemany`` baseline, and ``srcdesk check``.

1. A fresh office installation in a temporary folder; time ``generate_demo`` at the scale asked.
2. The baseline: a second fresh database with the same schema (srcdesk's migrations), into
   which plain ``executemany`` inserts exactly the rows the demo left behind (every table,
   change_log included, read back out first), in one transaction with the same connection
   pragmas. Only the inserts and the commit are timed.
3. Their ratio (goal: at most 2x), the database file size, and how long ``srcdesk check`` takes.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from . import benchmark

GOAL_RATIO = 2.0
BATCH = 100_000  # rows read back per executemany in the baseline


def _progress(done: int, total: int, what: str) -> None:
    if sys.stderr.isatty():
        end = "\n" if done >= total else ""
        print(f"\r  {what}: {done * 100 // max(total, 1):3d}%", end=end, file=sys.stderr, flush=True)


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024
    return f"{n:.2f} GB"


def raw_copy_seconds(source: Path, target_dir: Path, cache_kib: int) -> tuple[float, int]:
    """Insert every row of ``source`` into a new empty srcdesk database with plain executemany.

    Returns (seconds spent in executemany + commit, rows inserted).
    """
    from srcdesk.db import Database
    from srcdesk.models import Base

    Database.create(target_dir).close()  # schema only, via the migrations
    from srcdesk.paths import database_path

    dst = sqlite3.connect(database_path(target_dir), isolation_level=None)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=5000", "synchronous=NORMAL",
                       f"cache_size=-{cache_kib}"):
            dst.execute(f"PRAGMA {pragma}")
        tables = [t.name for t in Base.metadata.sorted_tables]  # parents first, like the demo
        # Tables WITHOUT ROWID have no rowid to order by; their primary key is their order.
        keyed = {name for name, sql in src.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
                 if sql and "WITHOUT ROWID" in sql.upper()}
        elapsed, total = 0.0, 0
        dst.execute("BEGIN")
        for table in tables:
            cur = src.execute(f"SELECT * FROM {table}" + ("" if table in keyed else " ORDER BY rowid"))
            cols = [d[0] for d in cur.description]
            sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
            while rows := cur.fetchmany(BATCH):  # read outside the clock, in bounded memory
                t0 = time.perf_counter()
                dst.executemany(sql, rows)
                elapsed += time.perf_counter() - t0
                total += len(rows)
        t0 = time.perf_counter()
        dst.execute("COMMIT")
        elapsed += time.perf_counter() - t0
    finally:
        src.close()
        dst.close()
    return elapsed, total


@benchmark("demo")
def bench_demo(opts: argparse.Namespace) -> None:
    from srcdesk.paths import database_path
    from srcdesk.services.check import run_check
    from srcdesk.services.demo import BULK_CACHE_KIB, DEMO_END, generate_demo
    from srcdesk.services.setup import init_installation

    root = Path(tempfile.mkdtemp(prefix="srcdesk-bench-"))
    try:
        data = root / "demo"
        ctx = init_installation(data, establishment=None, office=True, admin_username="bench",
                                admin_name="Bench", admin_password="bench-password")
        try:
            t0 = time.perf_counter()
            summary = generate_demo(ctx, scale=opts.scale, seed=opts.seed, end=DEMO_END, progress=_progress)
            demo_s = time.perf_counter() - t0
        finally:
            ctx.db.close()
        db_path = database_path(data)
        size = _size(db_path)

        raw_s, raw_rows = raw_copy_seconds(db_path, root / "raw", BULK_CACHE_KIB)
        ratio = demo_s / raw_s if raw_s else float("inf")
        if opts.scale != "decade":
            verdict = "the goal is for decade; fixed costs dominate smaller scales"
        else:
            verdict = "ok" if ratio <= GOAL_RATIO else "OVER GOAL"
        print(f"demo {opts.scale}: {demo_s:.1f} s  raw executemany: {raw_s:.1f} s  "
              f"ratio {ratio:.2f}x (goal <= {GOAL_RATIO:g}x, {verdict})")
        print(f"  {summary.total:,} demo records ({summary.counts.get('attendance', 0):,} attendance, "
              f"{summary.counts.get('session', 0):,} sessions, {summary.counts.get('person', 0):,} people); "
              f"baseline inserted {raw_rows:,} rows incl. change_log; cache_size {BULK_CACHE_KIB // 1024} MiB both")
        print(f"database: {_human(size)} ({size:,} bytes)")

        from srcdesk.db import Database

        db = Database.open(data, migrate=False)
        try:
            t0 = time.perf_counter()
            report = run_check(db)
            check_s = time.perf_counter() - t0
        finally:
            db.close()
        status = "OK" if report.ok else f"{len(report.problems)} problem(s): " + "; ".join(report.problems[:3])
        print(f"srcdesk check: {check_s:.1f} s ({status})")
    finally:
        if opts.keep:
            print(f"kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
