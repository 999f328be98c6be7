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

    # The export baseline rebuilt the inserts logged without their values from their rows, as the
    # exporter does; the import baseline logged them without, as the office's import does.
    logged = re.search(r"logged: the office ([\d,]+) changes, ([\d,]+) without their values \(its own included\); "
                       r"the baseline copied ([\d,]+), ([\d,]+) without", out)
    office_log, office_bare, raw_log, raw_bare = (int(g.replace(",", "")) for g in logged.groups())
    assert raw_log == changes and 0 < raw_bare <= raw_log
    assert office_log > raw_log and raw_bare <= office_bare <= office_log

    # Item 7: the long histories arrived whole, folded without conflicts; both sizes measured.
    small, large = sync_bench.LINEAR_SIZES["small"]
    for form in ("b: null", "chained"):
        row = _row(out, f"{large:,} updates to one row ({form}) vs {small:,}")
        assert re.fullmatch(r"\d+(\.\d+)? m?s", row[1]) and re.fullmatch(r"\d+(\.\d+)? m?s", row[2])
        assert row[4] == "<= 20x" and row[5] == ("met" if float(row[3].removesuffix("x")) <= 20 else "MISSED")
        peak = _row(out, f"  peak memory, {large:,} updates ({form})")
        assert float(peak[1].split()[0]) > 10 and peak[3] == "<= 300 MB"
        made = re.search(rf"{large:,} updates to one row \({re.escape(form)}\): ([\d,]+) changes -> ([\d,]+) new, "
                         r"([\d,]+) updated, ([\d,]+) conflicts, ([\d,]+) waiting", out)
        total, new, _updated, conflicts, waiting = (int(g.replace(",", "")) for g in made.groups())
        assert total > large and new >= 1 and conflicts == waiting == 0

    # Item 9: the database with and without its change log, three times.
    for name in ("database / without its change log: demo --scale small", "  the establishment above",
                 "  the office that imported it"):
        row = _row(out, name)
        with_log, without = (_mb(row[i]) for i in (1, 2))
        assert 0 < without < with_log
        # the sizes are printed to 0.1 MB: the ratio of the printed sizes is that close, no closer
        slack = 0.05 / without * (1 + with_log / without) + 0.01
        assert float(row[3].removesuffix("x")) == pytest.approx(with_log / without, abs=slack)
        assert row[4] == "<= 1.4x" and row[5] in {"met", "MISSED"}
    demo = re.search(r"demo --scale small \(([\d,]+) records\): ([\d,]+) changes, ([\d,]+) of them inserts", out)
    records, demo_changes, bare = (int(g.replace(",", "")) for g in demo.groups())
    assert records > 500 and demo_changes >= records and 0 < bare <= demo_changes

    # The establishment and office are cached for the next run; the run's copies are gone.
    assert (cache / "small-seed1" / "bench.json").is_file()
    assert sync_bench._cache_ok(cache / "small-seed1", _opts(cache))
    assert not sync_bench._cache_ok(cache / "small-seed1", argparse.Namespace(scale="small", seed=2))


def _mb(text: str) -> float:
    number, unit = text.split()
    return float(number) * {"MB": 1, "GB": 1024}[unit]


def test_the_log_size_is_the_pages_the_log_takes(tmp_path: Path) -> None:
    """Without the log means without exactly the log's pages: deleting the log's rows and
    vacuuming frees (at least) that many pages, and the measure sees the rows it counts."""
    import sqlite3

    from bench.sync_size import log_size

    db = tmp_path / "x.sqlite3"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE person (id TEXT PRIMARY KEY, notes TEXT)")
    con.execute("CREATE TABLE change_log (seq INTEGER PRIMARY KEY, table_name TEXT, row_id TEXT, fields TEXT)")
    con.execute("CREATE INDEX ix_change_log_row ON change_log (table_name, row_id)")
    con.executemany("INSERT INTO person VALUES (?, ?)", [(f"p{i:05d}", "x" * 200) for i in range(2000)])
    con.executemany("INSERT INTO change_log (table_name, row_id, fields) VALUES ('person', ?, ?)",
                    [(f"p{i:05d}", None if i % 4 else '{"notes":"y"}') for i in range(2000)])
    con.commit()
    size = log_size(db)
    assert (size.changes, size.without_values) == (2000, 1500)
    assert size.used == db.stat().st_size and 0 < size.log < size.used
    con.execute("DELETE FROM change_log")
    con.commit()
    con.execute("VACUUM")
    con.close()
    empty = log_size(db).log
    assert empty == 2 * 4096  # an empty table and its index: a root page each
    assert db.stat().st_size <= size.without_log + empty


def test_python_m_bench_knows_the_sync_benchmark(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_main(["--list"]) == 0
    assert "sync" in capsys.readouterr().out.split()
    assert parse_args(["--only", "sync", "--runs", "2"]).runs == 2


def test_a_failing_step_says_which(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="'export-raw' step failed"):
        sync_bench.run_child("export-raw", tmp_path / "no-such.sqlite3")


def test_a_ratio_is_judged_as_it_is_printed() -> None:
    # 2.003 prints as "2.00x": the table must not say MISSED beside a ratio that reads as the target.
    row = sync_bench._ratio_row("x", 2.003, 1.0, None, None)
    assert row[3] == "2.00x" and row[5] == "met"
    row = sync_bench._ratio_row("x", 2.006, 1.0, None, None)
    assert row[3] == "2.01x" and row[5] == "MISSED"
