"""The workplan's progress: each target of a plan year with its actual value so far.

On an office data folder (``--data DIR``: read, never written; else a national-scale office demo
made in a temporary folder, with the demo's workplan), for the plan year with the most targets:
``srcdesk.services.plans.progress`` (the Workplan tab's and ``srcdesk plan list --year``'s work:
scoping, permission checks, one indicator read per target's indicator and establishment through
the dashboard service) against the raw baseline of the same indicator values read straight from
``srcdesk.reports.indicators.trend`` on one open session, in the same run: first (cold) and the
median of warm runs, and their ratio (the workplan layer's overhead; the indicators are helper A's).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from . import benchmark

RUNS = 5


def _office(opts: argparse.Namespace, root: Path) -> tuple[Path, str, str]:
    if opts.data:
        return Path(opts.data), opts.user or "ann", opts.password or "password123"
    from srcdesk.services.demo import DEMO_END, generate_demo
    from srcdesk.services.setup import init_installation

    folder = root / "office"
    ctx = init_installation(folder, establishment=None, office=True, admin_username="bench", admin_name="Bench",
                            admin_password="bench-password")
    try:
        print("making a national-scale office demo (use --data DIR for decade-scale office data)…", flush=True)
        generate_demo(ctx, scale="national", seed=opts.seed, end=DEMO_END)
    finally:
        ctx.db.close()
    return folder, "bench", "bench-password"


def _timed(fn) -> tuple[float, list[float]]:  # noqa: ANN001
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    warm = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        fn()
        warm.append(time.perf_counter() - t0)
    return first, warm


@benchmark("workplan")
def bench_workplan(opts: argparse.Namespace) -> None:
    from srcdesk.reports import indicators
    from srcdesk.services import plans
    from srcdesk.services.setup import open_installation
    from srcdesk.services.users import authenticate

    root = Path(tempfile.mkdtemp(prefix="srcdesk-bench-workplan-"))
    try:
        folder, user, password = _office(opts, root)
        ctx = open_installation(folder)
        try:
            ctx = ctx.signed_in(authenticate(ctx.db, user, password))
            years = plans.list_plan_years(ctx)
            year = max(years, key=lambda y: (len(plans.targets(ctx, y.id)), y.starts_on))
            wanted = plans.targets(ctx, year.id)
            period = plans.plan_period(year)
            pairs = sorted({(t.measures, t.establishment_id) for t in wanted if t.measures}, key=str)

            def raw() -> list:
                with ctx.db.read() as s:
                    return [indicators.trend(s, code, [period], est)[0] for code, est in pairs]

            raw_first, raw_warm = _timed(raw)
            ours_first, ours_warm = _timed(lambda: plans.progress(ctx, year.id))
            got = plans.progress(ctx, year.id)
        finally:
            ctx.db.close()
        ratio = statistics.median(ours_warm) / statistics.median(raw_warm)
        print(f"workplan {year.code}: {len(wanted)} targets, {len(pairs)} indicator reads; progress first "
              f"{ours_first * 1000:.0f} ms, warm median {statistics.median(ours_warm) * 1000:.0f} ms; raw "
              f"indicators.trend first {raw_first * 1000:.0f} ms, warm median {statistics.median(raw_warm) * 1000:.0f} ms; "
              f"ratio {ratio:.2f}x (warm)")
        print("  " + "; ".join(f"{p.target.label} ({p.target.establishment}) {p.shown_actual}/{p.target.shown_target} "
                               f"{p.status}" for p in got[:6]))
    finally:
        if opts.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
