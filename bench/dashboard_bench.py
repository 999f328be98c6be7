"""The dashboard at decade scale at the SRC office: its first paint and its drill-downs, through the
services the page calls, against raw ``sqlite3`` baselines measured in the same run.

* first paint = ``figures(period)`` + ``figures(previous period)`` + ``by_establishment(period)`` +
  ``trend(attendances, the 8 quarters to the period)`` + ``freshness()``, for the national view
  and one establishment (HMP Perth), for a plan year and a quarter: goal <= 300 ms;
* a drill-down = ``behind(period, code)`` for each indicator in the same four views: goal
  <= 100 ms each (the slowest is printed).

Baselines: ``SELECT count(*) FROM attendance`` (the size of the record), and the period's national
attendances, people and new people counted from the records with plain SQL (what the summaries
save). Medians of ``--runs`` runs (default 3) after one warm-up.

The data: ``--data DIR`` (an office data folder; if its schema is older than this srcdesk's, a
copy is migrated once, cached beside the sync benchmark's data), else the office that
``srcdesk demo --scale decade`` fills, made once and cached as the sync benchmark makes it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import benchmark

GOAL_FIRST_PAINT_MS = 300
GOAL_DRILL_MS = 100
CACHE_FORMAT = 1
ESTABLISHMENT = "est-per"


def _base() -> Path:
    return Path(tempfile.gettempdir()) / "srcdesk-bench-sync"


def _office(opts: argparse.Namespace) -> Path:
    """The office data folder to measure, at this srcdesk's schema."""
    from srcdesk.db import head_revision, make_engine, schema_revision
    from srcdesk.paths import database_path

    from .sync_bench import _schema
    from .sync_size import demo_office

    data = getattr(opts, "data", None)
    if not data or not database_path(Path(data)).exists():
        base = Path(data) if data else _base()
        folder = base / f"demo-office-{opts.scale}-seed{opts.seed}"
        print(f"the office filled by 'srcdesk demo --scale {opts.scale}' (made once, in {folder})…", flush=True)
        office, _marker = demo_office(folder, scale=opts.scale, seed=opts.seed, schema=_schema())
        return office
    source = Path(data)
    engine = make_engine(database_path(source))
    try:
        current = schema_revision(engine)
    finally:
        engine.dispose()
    if current == head_revision():
        return source
    stat = database_path(source).stat()
    key = f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    folder = _base() / f"dashboard-office-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    try:
        marker = json.loads((folder / "bench.json").read_text())
        if (marker.get("format"), marker.get("schema"), marker.get("key")) == (CACHE_FORMAT, _schema(), key):
            print(f"{source} at schema {current}: its migrated copy {folder} (cached)", flush=True)
            return folder / "office"
    except (OSError, ValueError):
        pass
    print(f"{source} is at schema {current}: copying and migrating it once into {folder}…", flush=True)
    part = folder.with_name(folder.name + ".part")
    shutil.rmtree(part, ignore_errors=True)
    part.mkdir(parents=True)
    shutil.copytree(source, part / "office", ignore=shutil.ignore_patterns("backups"))
    from srcdesk.db import _upgrade

    engine = make_engine(database_path(part / "office"))
    started = time.perf_counter()
    try:
        _upgrade(engine)
    finally:
        engine.dispose()
    (part / "bench.json").write_text(json.dumps({"format": CACHE_FORMAT, "schema": _schema(), "key": key,
                                                 "migrate_s": round(time.perf_counter() - started, 1)}) + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    part.replace(folder)
    return folder / "office"


def _median_ms(fn: Callable[[], Any], runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _raw_baselines(path: Path, period: Any, runs: int) -> tuple[float, float]:
    """(count(*) of attendance, the period's national attendances, people and new people in plain
    SQL), in ms."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        total = _median_ms(lambda: con.execute("SELECT count(*) FROM attendance").fetchone(), runs)
        held = "s.deleted_hlc IS NULL AND s.cancelled = 0"
        counted = ("a.deleted_hlc IS NULL AND a.status_id IN "
                   "(SELECT id FROM attendance_status WHERE counts_as_attended = 1)")
        sql = (f"WITH here AS (SELECT a.person_id, count(*) AS n FROM session s JOIN attendance a "
               f"ON a.session_id = s.id WHERE {held} AND {counted} AND s.date BETWEEN :start AND :end "
               "GROUP BY a.person_id) SELECT sum(n), count(*), (SELECT count(*) FROM here WHERE NOT EXISTS "
               "(SELECT 1 FROM attendance a JOIN session s ON s.id = a.session_id WHERE a.person_id = here.person_id "
               f"AND {held} AND {counted} AND s.date < :start)) FROM here")
        args = {"start": period.start.isoformat(), "end": period.end.isoformat()}
        plain = _median_ms(lambda: con.execute(sql, args).fetchone(), runs)
        return total, plain
    finally:
        con.close()


def _verdict(ms: float, goal: float) -> str:
    return "PASS" if ms <= goal else "FAIL"


@benchmark("dashboard")
def bench_dashboard(opts: argparse.Namespace) -> None:
    from srcdesk.paths import database_path
    from srcdesk.reports.indicators import INDICATORS
    from srcdesk.reports.periods import period_containing
    from srcdesk.services import dashboard
    from srcdesk.services.setup import open_installation
    from srcdesk.services.users import authenticate

    if opts.scale != "decade":
        print("(the goals are for decade scale)")
    runs = getattr(opts, "runs", None) or 3
    office = _office(opts)
    path = database_path(office)
    ctx = open_installation(office)
    try:
        from .sync_bench import OFFICE_USER, PASSWORD

        ctx = ctx.signed_in(authenticate(ctx.db, getattr(opts, "user", None) or OFFICE_USER,
                                         getattr(opts, "password", None) or PASSWORD))
        with ctx.db.engine.connect() as conn:
            last = conn.exec_driver_sql("SELECT max(date) FROM session WHERE deleted_hlc IS NULL").scalar()
            attendance = conn.exec_driver_sql("SELECT count(*) FROM attendance").scalar()
        import datetime as dt

        last_day = dt.date.fromisoformat(str(last)[:10])
        year = period_containing(last_day, "year").previous()  # the last whole plan year
        quarter = period_containing(last_day).previous()  # the last whole quarter
        print(f"{path} ({path.stat().st_size / 2**30:.2f} GB, {attendance:,} register lines); "
              f"plan year {year.code}, quarter {quarter.code}; medians of {runs} runs")
        count_ms, plain_year_ms = _raw_baselines(path, year, runs)
        _c, plain_quarter_ms = _raw_baselines(path, quarter, runs)
        print(f"baseline: SELECT count(*) FROM attendance {count_ms:.1f} ms; plain SQL attendances+people+new "
              f"people, national: {year.code} {plain_year_ms:.0f} ms, {quarter.code} {plain_quarter_ms:.0f} ms")
        rows = []
        worst_paint = worst_drill = 0.0
        for period, plain_ms in ((year, plain_year_ms), (quarter, plain_quarter_ms)):
            quarters = [period.quarters()[-1]]
            while len(quarters) < 8:
                quarters.insert(0, quarters[0].previous())
            for est in (None, ESTABLISHMENT):
                def paint(period=period, est=est, quarters=quarters) -> None:  # noqa: ANN001
                    dashboard.figures(ctx, period, est)
                    dashboard.figures(ctx, period.previous(), est)
                    dashboard.by_establishment(ctx, period)
                    dashboard.trend(ctx, "attendances", quarters, est)
                    dashboard.freshness(ctx)

                paint_ms = _median_ms(paint, runs)
                drills = {i.code: _median_ms(lambda code=i.code, period=period, est=est:
                                             dashboard.behind(ctx, period, code, est), runs) for i in INDICATORS}
                code, drill_ms = max(drills.items(), key=lambda kv: kv[1])
                worst_paint, worst_drill = max(worst_paint, paint_ms), max(worst_drill, drill_ms)
                view = f"{period.code} {'national' if est is None else 'HMP Perth'}"
                rows.append((f"first paint, {view}", f"{paint_ms:.0f} ms", f"{paint_ms / count_ms:.1f}x count(*)",
                             f"{paint_ms / plain_ms:.2f}x plain SQL", f"<= {GOAL_FIRST_PAINT_MS} ms",
                             _verdict(paint_ms, GOAL_FIRST_PAINT_MS)))
                rows.append((f"slowest drill-down, {view} ({code})", f"{drill_ms:.0f} ms",
                             f"{drill_ms / count_ms:.1f}x count(*)", f"{drill_ms / plain_ms:.2f}x plain SQL",
                             f"<= {GOAL_DRILL_MS} ms", _verdict(drill_ms, GOAL_DRILL_MS)))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for r in rows:
            print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)))
        print(f"dashboard: first paint {worst_paint:.0f} ms (goal <= {GOAL_FIRST_PAINT_MS}) "
              f"{_verdict(worst_paint, GOAL_FIRST_PAINT_MS)}; drill-down {worst_drill:.0f} ms "
              f"(goal <= {GOAL_DRILL_MS}) {_verdict(worst_drill, GOAL_DRILL_MS)}")
    finally:
        ctx.db.close()
