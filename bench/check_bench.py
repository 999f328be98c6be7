"""``srcdesk check``'s comparison of rows with their logged changes, against a plain read.

1. A fresh office installation in a temporary folder with demo data at the scale asked.
2. The baseline, in the same run: a plain ``SELECT`` of every syncable row and of the whole change
   log, fetched into Python (what any comparison has to read at least).
3. The comparison (:func:`srcdesk.services.check._content_drift`) over every syncable table, in
   three states of the same data: as the demo makes it (every row logged once, without its values:
   nothing to compare), every insert logged with its values (the rows a bundle brings; compared in
   SQL), and then a tenth of the register lines edited once (folded in Python). Each is printed
   with its ratio to the baseline, and the whole ``srcdesk check`` once at the end.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from . import benchmark


def _baseline(path: Path) -> tuple[float, int]:
    from srcdesk.models import SYNCABLE_MODELS

    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        started = time.perf_counter()
        rows = 0
        for model in SYNCABLE_MODELS:
            rows += len(con.execute(f"SELECT * FROM {model.__tablename__}").fetchall())
        rows += len(con.execute("SELECT * FROM change_log").fetchall())
        return time.perf_counter() - started, rows
    finally:
        con.close()


def _compare(path: Path) -> tuple[float, int]:
    from srcdesk.models import SYNCABLE_MODELS
    from srcdesk.services.check import _content_drift

    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        started = time.perf_counter()
        drifted = sum(_content_drift(con, m.__tablename__, True) for m in SYNCABLE_MODELS)
        return time.perf_counter() - started, drifted
    finally:
        con.close()


def _materialize(path: Path) -> int:
    from srcdesk.sync.changelog import MODELS, materialize

    con = sqlite3.connect(path)
    try:
        done = sum(materialize(con, name, [r[0] for r in con.execute(f"SELECT id FROM {name}")]) for name in MODELS)
        con.commit()
        return done
    finally:
        con.close()


def _edit_tenth_of_attendance(path: Path) -> int:
    """One logged edit (the note, to the value it holds) on every tenth register line."""
    con = sqlite3.connect(path)
    try:
        cur = con.execute(
            "INSERT INTO change_log (hlc, origin_id, user_id, table_name, row_id, op, fields, base) "
            "SELECT updated_hlc + 1, origin_id, created_by, 'attendance', id, 'update', json_object('note', note), "
            "NULL FROM attendance WHERE rowid % 10 = 0")
        con.commit()
        return cur.rowcount
    finally:
        con.close()


@benchmark("check")
def bench_check(opts: argparse.Namespace) -> None:
    from srcdesk.db import Database
    from srcdesk.services.check import run_check
    from srcdesk.services.demo import generate_demo
    from srcdesk.services.setup import init_installation

    root = Path(tempfile.mkdtemp(prefix="srcdesk-check-bench-"))
    try:
        ctx = init_installation(root / "office", establishment=None, office=True, admin_username="ann",
                                admin_name="Ann", admin_password="password123")
        try:
            summary = generate_demo(ctx, scale=opts.scale, seed=opts.seed)
        finally:
            ctx.db.close()
        path = ctx.db.path
        print(f"check ({opts.scale}): {summary.total:,} demo records")
        for label, prepare in (("as made (no values logged)", None),
                               ("every insert logged with its values", _materialize),
                               ("and a tenth of register lines edited once", _edit_tenth_of_attendance)):
            if prepare is not None:
                prepare(path)
            base_s, rows = _baseline(path)
            compare_s, drifted = _compare(path)
            print(f"  {label}: compare {compare_s:.2f} s  plain read of {rows:,} rows {base_s:.2f} s  "
                  f"ratio {compare_s / max(base_s, 1e-9):.1f}x  ({drifted} drifted)")
        db = Database.open(root / "office", migrate=False)
        try:
            started = time.perf_counter()
            report = run_check(db)
            print(f"  whole srcdesk check: {time.perf_counter() - started:.1f} s "
                  f"({len(report.problems)} problem(s): the stamp check sees the fabricated edits, as it should)")
        finally:
            db.close()
    finally:
        if opts.keep:
            print(f"kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
