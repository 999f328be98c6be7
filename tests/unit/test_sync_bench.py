"""The sync benchmark runs end to end at a tiny scale and prints its table of ratios.

A smoke test: it checks the bench measures real work (the bundle's changes all arrive, the
week's changes arrive in the office) and reports every row, never how fast anything was.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from bench import sync_bench
from bench.__main__ import main as bench_main
from bench.__main__ import parse_args


def _opts(cache: Path, **extra: object) -> argparse.Namespace:
    return argparse.Namespace(scale="small", seed=1, data=str(cache), keep=False, runs=1, **extra)


def _row(out: str, name: str) -> list[str]:
    """The table row starting with ``name``, split into its columns."""
    for line in out.splitlines():
        if line.startswith(name):
            return re.split(r"\s{2,}", line.strip())
    raise AssertionError(f"no row {name!r} in:\n{out}")


def test_sync_bench_prints_ratios_for_real_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cache = tmp_path / "cache"
    sync_bench.bench_sync(_opts(cache))
    out = capsys.readouterr().out

    export = _row(out, "export --full (")
    changes = int(re.search(r"\(([\d,]+) changes\)", export[0])[1].replace(",", ""))
    assert changes > 500  # the small demo is several hundred records
    for name in ("export --full (", "import into empty office (apply)"):
        row = _row(out, name)
        ratio = float(row[3].removesuffix("x"))
        assert ratio > 0
        assert row[4] == "<= 2x" and row[5] in {"met", "MISSED"}
        assert row[5] == ("met" if ratio <= 2 else "MISSED")
    for name in ("peak memory, export", "peak memory, import"):
        row = _row(out, name)
        assert row[1].endswith(" MB") and float(row[1].split()[0]) > 10
        assert row[3] == "<= 300 MB" and row[4] in {"met", "MISSED"}
    for name in ("weekly export (", "weekly import into the office from the import above: apply",
                 "  its automatic backup", "  total incl. backup", "  automatic backup before it"):
        assert re.fullmatch(r"\d+(\.\d+)? m?s", _row(out, name)[1])

    # Every change of the bundle was applied; the week's sessions, registers and people arrived.
    imported = re.search(r"import: ([\d,]+) changes -> ([\d,]+) new, ([\d,]+) updated, ([\d,]+) unchanged, "
                         r"([\d,]+) conflicts, ([\d,]+) waiting", out)
    total, new, updated, unchanged, conflicts, waiting = (int(g.replace(",", "")) for g in imported.groups())
    assert total == changes and 0 < new <= new + updated + unchanged <= total
    assert conflicts == waiting == 0
    week = re.search(r"week: (\d+) sessions, (\d+) register lines, (\d+) new people -> ([\d,]+) changes: "
                     r"([\d,]+) new", out)
    sessions, lines, people, week_changes, week_new = (int(g.replace(",", "")) for g in week.groups())
    assert sessions > 0 and lines > 0 and people == sync_bench.NEW_PEOPLE
    # Each session, register line and facilitator is a new record in the office, as is each person.
    assert week_new >= sessions + lines + people and week_changes >= week_new
    assert "WARNING" not in out

    # The establishment and office are cached for the next run; the run's copies are gone.
    assert (cache / "small-seed1" / "bench.json").is_file()
    assert sync_bench._cache_ok(cache / "small-seed1", _opts(cache))
    assert not sync_bench._cache_ok(cache / "small-seed1", argparse.Namespace(scale="small", seed=2))


def test_python_m_bench_knows_the_sync_benchmark(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_main(["--list"]) == 0
    assert "sync" in capsys.readouterr().out.split()
    assert parse_args(["--only", "sync", "--runs", "2"]).runs == 2


def test_a_failing_step_says_which(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="'export-raw' step failed"):
        sync_bench.run_child("export-raw", tmp_path / "no-such.sqlite3")
