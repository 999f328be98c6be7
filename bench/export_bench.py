"""Exports: all attendance of a decade-scale office (~1.5 M register entries) to XLSX, against the
same rows written with the ``csv`` module.

Each format runs in a child process of its own (so its peak memory is its own): the same query
(:data:`srcdesk.services.exports.KINDS` ``["attendance"]``, keyset pages of sessions and their
entries) feeds either ``csv.writer`` (the raw baseline: no BOM, no formula guard) or the export
writer (:func:`srcdesk.reports.exports.write_rows`: XlsxWriter in constant-memory mode). The child
measures its rows a second, the CPU time it took (all its threads: on a machine shared with other
work, the steadier figure; the wall-clock rate is the target) and its peak resident memory
(``resource.getrusage``). Targets: XLSX at
least 1/3 the CSV rate, in at most 300 MB. Nothing is recorded in the data (the bench calls the
writer, not the export service), so ``--data`` is only read.

``--data DIR`` is a decade-scale office data folder (``--user`` / ``--password``; default ann /
password123); without it the benchmark says so and is skipped.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from . import benchmark

MAX_RSS_MB = 300
MIN_RATIO = 1 / 3


def _child(fmt: str, data: str, user: str, password: str, out: str) -> None:
    """Runs in the child: write all attendance as ``fmt`` to ``out``; print JSON of what it measured."""
    import csv
    import resource
    import time

    from srcdesk.reports.exports import write_rows
    from srcdesk.services import exports
    from srcdesk.services.setup import open_installation
    from srcdesk.services.users import authenticate

    ctx = open_installation(Path(data))
    ctx = ctx.signed_in(authenticate(ctx.db, user, password))
    kind = exports.KINDS["attendance"]
    filters = exports._checked(ctx, kind, {})
    started = time.perf_counter()
    cpu_started = time.process_time()  # all the process's threads (the export's read-ahead too)
    if fmt == "csv":
        with open(out, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow([c.heading for c in kind.columns])
            rows = 0
            for row in kind.rows(ctx, filters):
                writer.writerow(row)
                rows += 1
    else:
        rows = write_rows(out, "xlsx", kind.columns, kind.rows(ctx, filters), title=kind.label)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    peak_mb = peak / 1024 / (1024 if sys.platform == "darwin" else 1)
    print(json.dumps({"rows": rows, "seconds": elapsed, "cpu": cpu, "peak_mb": peak_mb, "bytes": Path(out).stat().st_size}))


def _run(fmt: str, data: Path, user: str, password: str, out: Path) -> dict:
    code = ("import sys; from bench.export_bench import _child; "
            "_child(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])")
    done = subprocess.run([sys.executable, "-c", code, fmt, str(data), user, password, str(out)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the {fmt} child failed: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


@benchmark("export")
def bench_export(opts: argparse.Namespace) -> None:
    data = Path(opts.data) if getattr(opts, "data", None) else None
    if data is None:
        print("  skipped: give --data DIR, a decade-scale office data folder (e.g. /tmp/h12/decade/office)")
        return
    user, password = opts.user or "ann", opts.password or "password123"
    with tempfile.TemporaryDirectory(prefix="srcdesk-export-bench-") as tmp:
        results = {}
        for fmt in ("csv", "xlsx"):
            r = _run(fmt, data, user, password, Path(tmp) / f"attendance.{fmt}")
            rate = r["rows"] / r["seconds"]
            results[fmt] = (rate, r)
            print(f"  {fmt:<5} {r['rows']:>9,} rows in {r['seconds']:6.1f} s = {rate:9,.0f} rows a second, "
                  f"(CPU {r['cpu']:6.1f} s), peak RSS {r['peak_mb']:5.0f} MB, file {r['bytes'] / 1e6:6.1f} MB", flush=True)
    ratio = results["xlsx"][0] / results["csv"][0]
    peak = results["xlsx"][1]["peak_mb"]
    ok = ratio >= MIN_RATIO and peak <= MAX_RSS_MB
    print(f"  xlsx/csv rate ratio {ratio:.2f} (target >= {MIN_RATIO:.2f}), xlsx peak RSS {peak:.0f} MB "
          f"(target <= {MAX_RSS_MB}): {'PASS' if ok else 'FAIL'}", flush=True)
