"""Proof of crash safety: an import killed (SIGKILL) at any moment leaves all of it or none of it.

A child process runs ``srcdesk bundle import`` on a bundle holding a year of an establishment's
records. It is killed at random moments: once while it is still checking the bundle, then at
points spread over the measured backup-and-apply time. After each kill the database passes
``srcdesk check`` and is either exactly as it was (every table, byte for byte) or exactly what
an import that ran to the end leaves.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from srcdesk.services import sync, trust
from srcdesk.services.check import run_check
from srcdesk.services.demo import DEMO_END, generate_demo
from srcdesk.services.setup import init_installation, open_installation

# Every child's pipe is closed: a leaked descriptor per run fails the test (pytest turns the
# unraisable warning at garbage collection into this error).
pytestmark = [pytest.mark.filterwarnings("error::ResourceWarning"),
              pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")]

PASSWORD = "password123"
KILLS = 6
# Columns an import fills from the clock of the moment it ran: the same import at another
# moment differs there and nowhere else.
WALL_CLOCK_COLUMNS = {"bundle_record": {"recorded_at"}}


@dataclass(frozen=True)
class Setup:
    office: Path  # the office's data folder (closed), before the import
    bundle: Path  # Perth's first bundle: a year of records
    changes: int


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    root = tmp_path_factory.mktemp("crash")
    office = init_installation(root / "office", establishment=None, office=True, admin_username="phr",
                               admin_name="PHR Officer", admin_password=PASSWORD,
                               recovery_key_out=root / "recovery.key")
    per = init_installation(root / "per", establishment="PER", office=False, admin_username="peradmin",
                            admin_name="PER Admin", admin_password=PASSWORD)
    try:
        office_card = trust.export_card(office, root / "office.card")
        per_card = trust.export_card(per, root / "per.card")
        trust.enrol(per, office_card.read_bytes(), trust.my_identity(office).fingerprint)
        trust.enrol(office, per_card.read_bytes(), trust.my_identity(per).fingerprint)
        generate_demo(per, scale="national", seed=7, end=DEMO_END)  # one establishment, a year: ~16,000 records
        (root / "stick").mkdir()
        [exported] = sync.export_bundles(per, root / "stick")
    finally:
        office.db.close()
        per.db.close()
    return Setup(root / "office", exported.path, exported.changes)


def db_hash(data_dir: Path, *, ignore: dict[str, set[str]] | None = None) -> str:
    """SHA-256 over every row of every table (sorted), leaving out the ``ignore`` columns."""
    ignore = ignore or {}
    h = hashlib.sha256()
    db = sqlite3.connect(data_dir / "srcdesk.sqlite3")
    try:
        tables = [r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        for t in tables:
            cols = [r[1] for r in db.execute(f"PRAGMA table_info({t})") if r[1] not in ignore.get(t, set())]
            h.update(f"{t}({','.join(cols)})".encode())
            for row in sorted(db.execute(f"SELECT {', '.join(cols)} FROM {t}").fetchall(), key=repr):
                h.update(repr(row).encode())
    finally:
        db.close()
    return h.hexdigest()


@dataclass
class Run:
    started: float
    preview_at: float | None  # when the child said it had checked the bundle (backup and apply follow)
    result_at: float | None  # when it said what the import did (after the commit)
    ended: float
    returncode: int
    killed: bool
    output: str


def run_import(data_dir: Path, bundle: Path, *, kill_after: float | None = None,
               kill_after_preview: float | None = None) -> Run:
    """Run ``srcdesk bundle import`` in a child; SIGKILL it ``kill_after`` seconds after it started
    or ``kill_after_preview`` seconds after it printed its preview."""
    env = {**os.environ, "SRCDESK_USER": "phr", "SRCDESK_PASSWORD": PASSWORD, "PYTHONUNBUFFERED": "1"}
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-m", "srcdesk.cli", "--data-dir", str(data_dir), "bundle", "import", str(bundle)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines: list[tuple[float, str]] = []
    previewed = threading.Event()

    def read() -> None:
        for line in child.stdout:
            lines.append((time.monotonic(), line))
            if line.startswith("Checked:"):
                previewed.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    killed = False
    if kill_after is not None or kill_after_preview is not None:
        if kill_after is not None:
            deadline = started + kill_after
        else:
            previewed.wait(timeout=120)
            deadline = time.monotonic() + kill_after_preview
        while child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
            killed = True
    returncode = child.wait(timeout=300)
    ended = time.monotonic()
    reader.join(timeout=10)
    child.stdout.close()  # the pipe is ours to close: left open it leaks a descriptor per run
    preview = [i for i, (_, line) in enumerate(lines) if line.startswith("Checked:")]
    preview_at = lines[preview[0]][0] if preview else None
    result_at = lines[preview[0] + 1][0] if preview and len(lines) > preview[0] + 1 else None
    return Run(started, preview_at, result_at, ended, returncode, killed, "".join(line for _, line in lines))


def logged(data_dir: Path) -> int:
    db = sqlite3.connect(data_dir / "srcdesk.sqlite3")
    try:
        return db.execute("SELECT count(*) FROM change_log").fetchone()[0]
    finally:
        db.close()


def bundle_recorded(data_dir: Path) -> bool:
    db = sqlite3.connect(data_dir / "srcdesk.sqlite3")
    try:
        return db.execute("SELECT count(*) FROM bundle_record WHERE direction = 'received'").fetchone()[0] == 1
    finally:
        db.close()


def test_an_import_killed_at_any_moment_leaves_all_of_the_bundle_or_none(setup: Setup, tmp_path: Path) -> None:
    before = db_hash(setup.office)

    # The reference: an import that runs to the end.
    complete = tmp_path / "complete"
    shutil.copytree(setup.office, complete)
    ref = run_import(complete, setup.bundle)
    assert ref.returncode == 0 and ref.preview_at is not None and ref.result_at is not None, ref.output
    assert logged(complete) == logged(setup.office) + setup.changes, ref.output
    after = db_hash(complete, ignore=WALL_CLOCK_COLUMNS)
    assert after != db_hash(setup.office, ignore=WALL_CLOCK_COLUMNS)
    checking = ref.preview_at - ref.started  # start-up, sign-in, verify and decrypt
    applying = ref.result_at - ref.preview_at  # backup, apply in one transaction, commit

    seed = random.randrange(2**32)
    rng = random.Random(seed)
    # One kill while the bundle is still being checked; the rest spread over backup and apply.
    plans = [{"kill_after": rng.uniform(0.3, 0.95) * checking}]
    plans += [{"kill_after_preview": (i + rng.random()) / (KILLS - 1) * applying} for i in range(KILLS - 1)]
    outcomes: list[str] = []
    retry: Path | None = None
    for n, plan in enumerate(plans):
        folder = tmp_path / f"killed-{n}"
        shutil.copytree(setup.office, folder)
        run = run_import(folder, setup.bundle, **plan)
        where = f"run {n} (seed {seed}, {plan}, {'killed' if run.killed else 'finished'}): {run.output!r}"
        assert run.killed or run.returncode == 0, where
        if run.killed:
            assert run.returncode == -signal.SIGKILL, where
        wal = folder / "srcdesk.sqlite3-wal"  # uncommitted pages of a transaction cut short, if any
        left = wal.stat().st_size if wal.exists() else 0
        opened = open_installation(folder)
        try:
            report = run_check(opened.db)
        finally:
            opened.db.close()
        assert report.ok, (where, report.problems)
        if bundle_recorded(folder):
            assert db_hash(folder, ignore=WALL_CLOCK_COLUMNS) == after, f"part of the bundle is missing after {where}"
            outcomes.append(f"all (log {left // 1024} KiB)")
        else:
            assert db_hash(folder) == before, f"part of the bundle was applied after {where}"
            outcomes.append(f"none (log {left // 1024} KiB)")
        if outcomes[-1].startswith("none") and (retry is None or run.preview_at is not None):
            retry = folder
    # Whatever a kill left behind, the same bundle then imports completely.
    if retry is not None:
        again = run_import(retry, setup.bundle)
        assert again.returncode == 0, again.output
        assert db_hash(retry, ignore=WALL_CLOCK_COLUMNS) == after
    print(f"seed {seed}: checking {checking:.2f}s, backup+apply {applying:.2f}s, outcomes {outcomes}")
