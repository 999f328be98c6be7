"""The Steering Group report at decade scale at the office (issue 12's goal: the PDF <= 5 s).

Two parts, each against a baseline measured in the same run (medians of RUNS):

1. gathering: every figure the report shows, through the dashboard's service (this period and the
   previous one, each establishment, 8 quarters of trend, the workplan, freshness), against raw
   sqlite3 counting every attendance row once (``SELECT count(*) FROM attendance``);
2. drawing: the PDF from the gathered figures, against the same document without its charts.

The whole (gathering + drawing, what ``srcdesk report steering`` does after signing in) is held
against the 5 s goal, for the national report of a plan year and of a quarter. Nothing is written
to the data (no export record: ``steering.gather`` and ``reports.steering.write_pdf`` directly).

``--data DIR``: an existing decade-scale office data folder (``--user``/``--password``, default
``phr``/``password123``); otherwise one is generated (~3 min, as the UI bench does).
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from . import benchmark

RUNS = 3
GOAL_S = 5.0
PERIODS = ("2025-26", "2025-Q3")


def _median(fn, runs: int = RUNS) -> tuple[float, object]:  # noqa: ANN001
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def _raw_count(db: Path) -> float:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        seconds, _n = _median(lambda: con.execute("SELECT count(*) FROM attendance").fetchone()[0])
    finally:
        con.close()
    return seconds


@benchmark("steering")
def bench_steering(opts: argparse.Namespace) -> None:
    from srcdesk.db import database_path
    from srcdesk.reports import steering as pdf
    from srcdesk.reports.certificates import register_fonts
    from srcdesk.reports.periods import parse_period
    from srcdesk.services import steering
    from srcdesk.services.setup import open_installation
    from srcdesk.services.users import authenticate

    from .ui_bench import _decade_data

    root = None
    data = Path(opts.data) if getattr(opts, "data", None) else None
    user, password = getattr(opts, "user", None) or "phr", getattr(opts, "password", None) or "password123"
    try:
        if data is None:
            root = Path(tempfile.mkdtemp(prefix="srcdesk-bench-steering-"))
            print("generating decade-scale demo data for the office (~3 min)…", flush=True)
            data, user = _decade_data(root), "ann"
        ctx = open_installation(data)
        try:
            ctx = ctx.signed_in(authenticate(ctx.db, user, password))
            register_fonts()
            raw = _raw_count(database_path(data))
            with tempfile.TemporaryDirectory(prefix="srcdesk-steering-") as tmp:
                for code in PERIODS:
                    period = parse_period(code)
                    gather_s, gathered = _median(lambda p=period: steering.gather(ctx, p))
                    draw_s, _ = _median(lambda g=gathered: pdf.write_pdf(g, Path(tmp) / "r.pdf"))
                    bare_s, _ = _median(lambda g=gathered: pdf.write_pdf(g, Path(tmp) / "bare.pdf", charts=False))
                    total = gather_s + draw_s
                    pages = (Path(tmp) / "r.pdf").read_bytes().count(b"/Type /Page\n")
                    print(f"  {period.label}: {len(gathered.establishments)} establishments")
                    print(f"    gathering  {gather_s * 1000:7.0f} ms   raw sqlite3 count(*) of attendance "
                          f"{raw * 1000:5.0f} ms   ratio {gather_s / raw:5.1f}x")
                    print(f"    drawing    {draw_s * 1000:7.0f} ms   the same without charts {bare_s * 1000:5.0f} ms"
                          f"   ratio {draw_s / bare_s:5.2f}x   ({pages or '?'} pages, "
                          f"{(Path(tmp) / 'r.pdf').stat().st_size // 1024} KB)")
                    print(f"    the report {total:7.2f} s    (goal <= {GOAL_S:g} s: {'PASS' if total <= GOAL_S else 'FAIL'})",
                          flush=True)
        finally:
            ctx.db.close()
    finally:
        if root is not None and not opts.keep:
            shutil.rmtree(root, ignore_errors=True)
