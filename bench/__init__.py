"""Benchmarks at realistic scale, printing ratios against raw baselines.

``python -m bench`` (``make bench``) runs every registered benchmark in turn. A benchmark is
a function taking the parsed command-line options; register it with :func:`benchmark` in a
module listed in :data:`MODULES` and it joins the same entry point::

    @benchmark("sync-export")
    def bench_export(opts: argparse.Namespace) -> None: ...

Benchmarks print what they measured; they never assert on absolute times.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

BenchFn = Callable[[argparse.Namespace], None]

#: Modules whose import registers benchmarks, in the order they run.
MODULES: tuple[str, ...] = ("bench.demo_bench", "bench.ui_bench", "bench.sync_bench", "bench.check_bench",
                            "bench.cert_bench", "bench.verify_bench", "bench.dashboard_bench",
                            "bench.workplan_bench", "bench.steering_bench", "bench.dashboard_page_bench",
                            "bench.export_bench")

#: Registered benchmarks by name, in registration order.
BENCHES: dict[str, BenchFn] = {}


def benchmark(name: str) -> Callable[[BenchFn], BenchFn]:
    """Register ``fn`` as the benchmark ``name``."""

    def register(fn: BenchFn) -> BenchFn:
        if name in BENCHES:
            raise ValueError(f"benchmark {name!r} registered twice")
        BENCHES[name] = fn
        return fn

    return register
