"""Sync bundles at decade scale: export and import against raw ``sqlite3`` baselines, in one run.

Goals (issues 4 and 9), each measured in this run against its baseline, printed as ratios:

* exporting a decade-scale establishment for the office with ``--full`` <= 2x a raw pipeline over
  the same rows: the exporter's own ``SELECT`` on ``change_log`` (table by table, same rows, same
  order), the values of each insert logged without them (``fields`` NULL: its row has not changed
  since, :mod:`srcdesk.sync.changelog`) read from its row by the same ``LEFT JOIN`` and
  ``json.dumps``-ed -> ``json.dumps`` of each change -> SHA-256 of the bytes (no compression, no
  encryption, no signature);
* importing that bundle into an empty office <= 2x a raw upsert of the same rows into a copy of
  the same empty office: every syncable table's row values as the establishment holds them
  (``INSERT ... ON CONFLICT(id) DO UPDATE``, parents first), plus the change-log rows srcdesk
  must write too, with srcdesk's connection pragmas, in one transaction. The log rows are copied
  as the establishment stores them, inserts unchanged since made *without* their values: what
  srcdesk's import writes for a record new to the office, and the cheapest honest equivalent
  (copying them with their values would make the baseline do more than srcdesk does). The
  import runs with ``backup=False``; the automatic backup it would make first is timed on its own;
* peak memory of the export and of the import <= 300 MB (the child process's peak resident set);
* a bundle of 200,000 updates to one row (item 7 of issue 9; :mod:`bench.sync_linear`) imports
  into an empty office in <= 300 MB, in each legal form (``b: null``, each edit following all
  before it, and each edit naming the one before), and in time linear in its changes: against
  the same bundle with a tenth of the edits, <= 20x the time (linear is ~10x, quadratic ~100x);
* a database is <= 1.4x its size without the change log (item 9; :mod:`bench.sync_size`):
  measured in place with SQLite's ``dbstat`` (the pages of ``change_log`` and its index) on an
  office filled by ``srcdesk demo --scale SCALE`` (every establishment; made once and cached),
  on the establishment, and on the office that imported it (the merge path);
* and, with no goal: a week's work at the establishment (sessions with registers and
  facilitators, a few new people, all made through the services after the decade) exported and
  imported into the office that now holds the establishment's decade, apply and backup+apply.
  With ``--office DIR`` (a decade-scale office such as ``srcdesk demo --scale decade`` makes;
  never modified) also into a copy of that office: once, the copy is migrated, given keys, and
  a Perth PC is set up from it with the office's ``--full`` bundle; every run, that PC records a
  week and the office imports it.

The establishment (HMP Perth, ``generate_demo`` on an establishment installation) and an empty
office, enrolled with each other through :mod:`srcdesk.services.trust`, are made once and
cached: in ``--data DIR`` (a folder of its own, not a srcdesk data folder), else in a folder
under the system's temporary folder; every run works on copies. So are the long-history bundles
and the ``demo`` office, beside them. Each measurement runs in a fresh child process
(``python -m bench.sync_bench OP ...``) that reports the seconds spent in the operation alone
(opening the data and the deliberately slow password check are left out) and its peak resident
memory; srcdesk and baseline runs alternate and medians are printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import benchmark, sync_linear, sync_size

GOAL_RATIO = 2.0
GOAL_PEAK_MB = 300.0
GOAL_LINEAR = 20.0  # 10x the changes to one row: linear is ~10x the time, quadratic ~100x
# Updates to one row in the long-history bundles (item 7): the goal's size, and a tenth of it to
# compare with; at small scale (the smoke test) less.
LINEAR_SIZES = {"small": (400, 4_000)}
LINEAR_DEFAULT = (20_000, 200_000)
RUNS = 3  # per measurement, unless --runs says otherwise
LONG_RUN_S = 60.0  # a measurement whose first run takes longer than this runs once
BATCH = 50_000  # rows read per fetchmany in the raw import baseline
NEW_PEOPLE = 4  # people first met in the bench's week
PASSWORD = "password123"
EST_USER = "peradmin"
OFFICE_USER = "phr"
CACHE_FORMAT = 1
ROOT = Path(__file__).resolve().parents[1]

# The exporter's query for an establishment's full bundle (srcdesk.services.sync.export), one per
# table in name order: every change this installation made, up to the top of the log when the
# export began, with the row's values beside each insert logged without them (sync.changelog).
EXPORT_SQL = (
    "SELECT c.row_id, c.hlc, c.origin_id, CASE WHEN c.fields IS NULL THEN r.created_by ELSE c.user_id END, "
    "c.op, c.fields, c.base, {columns} "
    "FROM change_log c LEFT JOIN {table} r ON c.fields IS NULL AND r.id = c.row_id "
    "WHERE c.table_name = ? AND c.seq <= ? AND c.origin_id = ? ORDER BY c.row_id, c.hlc, c.origin_id"
)
SELF_SQL = "SELECT id FROM installation WHERE is_self"
LOG_COLUMNS = ("hlc", "origin_id", "user_id", "table_name", "row_id", "op", "fields", "base")


# -- the child processes ------------------------------------------------------------------------


def _status_mb(key: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _peak_mb() -> float | None:
    """This process's peak resident memory, in MiB, since :func:`_start_peak` (None where unknown).

    Linux: ``VmHWM``, the high-water mark of this program's own memory (``ru_maxrss`` would also
    count the parent's memory at the fork). Elsewhere ``ru_maxrss`` (since the start); Windows: None.
    """
    peak = _status_mb("VmHWM")
    if peak is not None:
        return peak
    try:
        import resource
    except ImportError:  # Windows: no getrusage
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB elsewhere


def _start_peak() -> float | None:
    """Start measuring the peak from here (Linux), so the password check's memory-hard hash, done
    before, doesn't count; returns the memory resident now."""
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current VmRSS
    except OSError:
        pass
    return _status_mb("VmRSS")


def _signed_in(data: Path, user: str, password: str = PASSWORD) -> Any:
    from srcdesk.services.setup import open_installation
    from srcdesk.services.users import authenticate

    ctx = open_installation(data)
    ctx = ctx.signed_in(authenticate(ctx.db, user, password))
    return ctx


def child_export(data: str, out: str, full: str) -> dict[str, Any]:
    """``export DATA OUT FULL``: srcdesk's export for the office (FULL 1: ``--full``)."""
    from srcdesk.services.sync import export_bundles

    ctx = _signed_in(Path(data), EST_USER)
    try:
        start_mb = _start_peak()
        t0 = time.perf_counter()
        [result] = export_bundles(ctx, Path(out), full=full == "1")
        seconds = time.perf_counter() - t0
    finally:
        ctx.db.close()
    return {"seconds": seconds, "peak_mb": _peak_mb(), "start_mb": start_mb, "changes": result.changes,
            "bytes": result.size, "path": str(result.path)}


def child_export_raw(db: str) -> dict[str, Any]:
    """``export-raw DB``: the same rows selected with sqlite3, table by table, the values of an
    insert logged without them taken from its row, each change ``json.dumps``-ed (with those
    values as an object) -> SHA-256 of the lines."""
    from srcdesk.sync.changelog import CONTENT  # which columns a change carries: names, not work

    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, isolation_level=None)
    try:
        start_mb = _start_peak()
        t0 = time.perf_counter()
        con.execute("BEGIN")
        top = con.execute("SELECT coalesce(max(seq), 0) FROM change_log").fetchone()[0]
        me = con.execute(SELF_SQL).fetchone()[0]
        sha, rows, size, from_rows = hashlib.sha256(), 0, 0, 0
        dumps = json.dumps
        for table in sorted(CONTENT):
            cols = CONTENT[table]
            sql = EXPORT_SQL.format(table=table, columns=", ".join(f"r.{c}" for c in cols))
            for r, h, o, u, op, f, b, *values in con.execute(sql, (table, top, me)):
                if f is None:  # the row's values, encoded with the line (one pass, like the exporter's)
                    f = dict(zip(cols, values, strict=True))
                    from_rows += 1
                line = dumps((table, r, h, o, u, op, f, b)).encode() + b"\n"
                sha.update(line)
                size += len(line)
                rows += 1
        digest = sha.hexdigest()
        con.execute("ROLLBACK")
        seconds = time.perf_counter() - t0
    finally:
        con.close()
    return {"seconds": seconds, "peak_mb": _peak_mb(), "start_mb": start_mb, "changes": rows, "bytes": size,
            "from_rows": from_rows, "sha256": digest}


def child_import(data: str, bundle: str, user: str = OFFICE_USER, password: str = PASSWORD) -> dict[str, Any]:
    """``import DATA BUNDLE [USER PASSWORD]``: the automatic backup, timed alone, then
    ``import_bundle(backup=False)``."""
    from srcdesk.backups import timestamped_backup
    from srcdesk.services.sync import import_bundle

    ctx = _signed_in(Path(data), user, password)
    try:
        start_mb = _start_peak()
        t0 = time.perf_counter()
        timestamped_backup(ctx.db.data_dir, "before-import")  # what import_bundle(backup=True) does first
        backup_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = import_bundle(ctx, Path(bundle), backup=False)
        seconds = time.perf_counter() - t0
    finally:
        ctx.db.close()
    if result.already_imported:
        raise RuntimeError(f"{bundle} was already imported into {data}; the bench needs a fresh office copy")
    return {"seconds": seconds, "backup": backup_s, "peak_mb": _peak_mb(), "start_mb": start_mb,
            "changes": result.verified.total, "new": result.new, "updated": result.updated,
            "unchanged": result.unchanged, "conflicts": result.conflicts, "waiting": result.waiting}


def _syncable_tables() -> list[str]:
    from srcdesk.models import SYNCABLE_TABLES, Base

    return [t.name for t in Base.metadata.sorted_tables if t.name in SYNCABLE_TABLES]  # parents first


def child_import_raw(source: str, target: str) -> dict[str, Any]:
    """``import-raw SOURCE_DB TARGET_DB``: upsert every syncable row SOURCE made, and insert the
    change-log rows it made, into TARGET (a copy of an empty office), in one transaction: what its
    full bundle holds. The log rows are copied as SOURCE stores them: an insert whose row has not
    changed since without its values (``fields`` NULL), as srcdesk's import logs a record new to
    the office; the cheapest honest equivalent of what srcdesk must write. Rows are read outside
    the clock in bounded batches; only the writes and the commit are timed."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target, isolation_level=None)
    try:
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=5000", "synchronous=NORMAL"):
            dst.execute(f"PRAGMA {pragma}")  # srcdesk's connection pragmas (srcdesk.db)
        start_mb = _start_peak()
        tables_s = log_s = 0.0
        rows = 0
        me = src.execute(SELF_SQL).fetchone()[0]
        dst.execute("BEGIN")
        for table in _syncable_tables():
            cur = src.execute(f"SELECT * FROM {table} WHERE origin_id = ? ORDER BY rowid", (me,))
            cols = [d[0] for d in cur.description]
            sql = (f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
                   f"ON CONFLICT(id) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in cols if c != 'id')}")
            while batch := cur.fetchmany(BATCH):
                t0 = time.perf_counter()
                dst.executemany(sql, batch)
                tables_s += time.perf_counter() - t0
                rows += len(batch)
        cur = src.execute(f"SELECT {', '.join(LOG_COLUMNS)} FROM change_log WHERE origin_id = ? ORDER BY seq", (me,))
        sql = f"INSERT INTO change_log ({', '.join(LOG_COLUMNS)}) VALUES ({', '.join('?' * len(LOG_COLUMNS))})"
        changes = without_values = 0
        fields = LOG_COLUMNS.index("fields")
        while batch := cur.fetchmany(BATCH):
            t0 = time.perf_counter()
            dst.executemany(sql, batch)
            log_s += time.perf_counter() - t0
            changes += len(batch)
            without_values += sum(1 for row in batch if row[fields] is None)
        t0 = time.perf_counter()
        dst.execute("COMMIT")
        commit_s = time.perf_counter() - t0
    finally:
        src.close()
        dst.close()
    return {"seconds": tables_s + log_s + commit_s, "tables": tables_s, "log": log_s, "commit": commit_s,
            "peak_mb": _peak_mb(), "start_mb": start_mb, "rows": rows, "changes": changes,
            "without_values": without_values}


CHILDREN = {"export": child_export, "export-raw": child_export_raw, "import": child_import,
            "import-raw": child_import_raw}


def child_main(argv: list[str]) -> int:
    if not argv or argv[0] not in CHILDREN:
        print(f"usage: python -m bench.sync_bench {{{','.join(CHILDREN)}}} ARGS...", file=sys.stderr)
        return 2
    print(json.dumps(CHILDREN[argv[0]](*argv[1:])), flush=True)
    return 0


def run_child(op: str, *args: object) -> dict[str, Any]:
    """Run one measurement in a fresh process; its last stdout line is the JSON it measured."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    out = subprocess.run([sys.executable, "-m", "bench.sync_bench", op, *map(str, args)], capture_output=True,
                         text=True, cwd=ROOT, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"the sync bench's {op!r} step failed:\n{out.stderr[-4000:]}")
    return json.loads([line for line in out.stdout.splitlines() if line.startswith("{")][-1])


# -- the data -----------------------------------------------------------------------------------


def _cache_dir(opts: argparse.Namespace) -> Path:
    from srcdesk.paths import database_path

    base = Path(tempfile.gettempdir()) / "srcdesk-bench-sync"
    data = getattr(opts, "data", None)
    if data:
        if database_path(Path(data)).exists():
            print(f"(--data {data} is a srcdesk data folder, for the UI benchmark; the sync benchmark keeps "
                  f"its data in {base})")
        else:
            base = Path(data)
    return base / f"{opts.scale}-seed{opts.seed}"


def _schema() -> str:
    """The schema the cached data was made with: the head revision and a digest of the migration
    scripts (a revision edited in place, before release, changes the digest too)."""
    import srcdesk
    from srcdesk.db import head_revision

    digest = hashlib.sha256()
    for script in sorted((Path(srcdesk.__file__).parent / "migrations" / "versions").glob("*.py")):
        digest.update(script.name.encode() + b"\0" + script.read_bytes())
    return f"{head_revision()}-{digest.hexdigest()[:12]}"


def _cache_ok(cache: Path, opts: argparse.Namespace) -> bool:
    try:
        marker = json.loads((cache / "bench.json").read_text())
    except (OSError, ValueError):
        return False
    return marker.get("format") == CACHE_FORMAT and marker.get("schema") == _schema() and (
        marker.get("scale"), marker.get("seed")) == (opts.scale, opts.seed)


def _make_cache(cache: Path, opts: argparse.Namespace) -> None:
    """An establishment filled with demo data and an empty office, each enrolled with the other."""
    from srcdesk.services import trust
    from srcdesk.services.demo import DEMO_END, generate_demo
    from srcdesk.services.setup import init_installation

    part = cache.with_name(cache.name + ".part")
    shutil.rmtree(part, ignore_errors=True)
    part.mkdir(parents=True)
    t0 = time.perf_counter()
    est = init_installation(part / "est", establishment="PER", office=False, admin_username=EST_USER,
                            admin_name="Perth Admin", admin_password=PASSWORD)
    try:
        office = init_installation(part / "office", establishment=None, office=True, admin_username=OFFICE_USER,
                                   admin_name="PHR Officer", admin_password=PASSWORD,
                                   recovery_key_out=part / "recovery.key")
        try:
            summary = generate_demo(est, scale=opts.scale, seed=opts.seed, end=DEMO_END)
            trust.enrol(est, trust.export_card(office, part / "office.card").read_bytes(),
                        trust.my_identity(office).fingerprint)
            trust.enrol(office, trust.export_card(est, part / "est.card").read_bytes(),
                        trust.my_identity(est).fingerprint)
        finally:
            office.db.close()
    finally:
        est.db.close()
    marker = {"format": CACHE_FORMAT, "schema": _schema(), "scale": opts.scale, "seed": opts.seed,
              "records": summary.total, "seconds": round(time.perf_counter() - t0, 1)}
    (part / "bench.json").write_text(json.dumps(marker, indent=1) + "\n")
    shutil.rmtree(cache, ignore_errors=True)
    os.replace(part, cache)


def _copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("backups"))
    return target


def _office_cache(opts: argparse.Namespace, base: Path) -> Path | None:
    """``--office DIR``: a decade-scale office (never modified), made ready once for the weekly
    import: copied, migrated, given keys if it has none, and an establishment PC for HMP Perth
    set up from it (enrolled both ways, filled by the office's full bundle for it)."""
    from srcdesk.paths import database_path

    source = getattr(opts, "office", None)
    if not source:
        return None
    source = Path(source)
    db = database_path(source)
    if not db.is_file():
        raise RuntimeError(f"--office {source}: there is no srcdesk data in that folder")
    stat = db.stat()
    key = f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    folder = base / f"office-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    try:
        marker = json.loads((folder / "bench.json").read_text())
        if (marker.get("format"), marker.get("schema"), marker.get("key")) == (CACHE_FORMAT, _schema(), key):
            print(f"decade office from {source}: {folder} (cached)", flush=True)
            return folder
    except (OSError, ValueError):
        pass
    print(f"preparing a copy of the office in {source} (copy, migration, keys, a Perth PC filled from it; "
          "several minutes, once)…", flush=True)
    _make_office_cache(folder, source, key, _office_login(opts))
    return folder


def _office_login(opts: argparse.Namespace) -> tuple[str, str]:
    return getattr(opts, "user", None) or "ann", getattr(opts, "password", None) or PASSWORD


def _make_office_cache(folder: Path, source: Path, key: str, login: tuple[str, str]) -> None:
    from srcdesk.paths import backups_dir
    from srcdesk.services import trust
    from srcdesk.services.setup import ensure_identity, init_installation, open_installation
    from srcdesk.services.sync import export_bundles, import_bundle
    from srcdesk.services.users import authenticate

    part = folder.with_name(folder.name + ".part")
    shutil.rmtree(part, ignore_errors=True)
    part.mkdir(parents=True)
    office = open_installation(_copy(source, part / "office"))  # migrates the copy if it is older
    shutil.rmtree(backups_dir(part / "office"), ignore_errors=True)  # the migration's safety copy
    try:
        office = office.signed_in(authenticate(office.db, *login))
        ensure_identity(office, recovery_key_out=part / "recovery.key")
        est = init_installation(part / "est", establishment="PER", office=False, admin_username=EST_USER,
                                admin_name="Perth Admin", admin_password=PASSWORD)
        try:
            trust.enrol(est, trust.export_card(office, part / "office.card").read_bytes(),
                        trust.my_identity(office).fingerprint)
            trust.enrol(office, trust.export_card(est, part / "est.card").read_bytes(),
                        trust.my_identity(est).fingerprint)
            stick = part / "stick"
            stick.mkdir()
            t0 = time.perf_counter()
            [sent] = export_bundles(office, stick, for_installation=est.installation.id, full=True)
            export_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            import_bundle(est, sent.path, backup=False)
            import_s = time.perf_counter() - t0
            shutil.rmtree(stick)
        finally:
            est.db.close()
        with office.db.engine.connect() as conn:
            logged = conn.exec_driver_sql("SELECT count(*) FROM change_log").scalar_one()
    finally:
        office.db.close()
    marker = {"format": CACHE_FORMAT, "schema": _schema(), "key": key, "office_changes": logged,
              "scope_changes": sent.changes, "office_export_s": round(export_s, 1),
              "establishment_import_s": round(import_s, 1)}
    (part / "bench.json").write_text(json.dumps(marker, indent=1) + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(part, folder)


def make_week(data: Path) -> dict[str, int]:
    """A week's work at the establishment after its decade, through the services: the last week's
    sessions again a week later, with the same facilitators and registers, and a few people
    first met that week on the first registers."""
    from srcdesk.paths import database_path
    from srcdesk.services.attendance import RegisterEntry, save_register
    from srcdesk.services.people import create_person
    from srcdesk.services.sessions import save_session

    con = sqlite3.connect(f"file:{database_path(data)}?mode=ro", uri=True)
    try:
        sessions = con.execute(
            "SELECT id, date, start_time, end_time, module_id, activity_type_id, recruit_cohort_id, title, location "
            "FROM session WHERE deleted_hlc IS NULL AND NOT cancelled AND date > "
            "(SELECT date(max(date), '-7 days') FROM session WHERE deleted_hlc IS NULL) ORDER BY date, start_time, id"
        ).fetchall()
        plans = []
        for sid, day, start, end, module, activity, cohort, title, location in sessions:
            register = con.execute(
                "SELECT a.person_id, st.code, ro.code, a.note FROM attendance a "
                "JOIN attendance_status st ON st.id = a.status_id JOIN attendance_role ro ON ro.id = a.role_id "
                "JOIN person p ON p.id = a.person_id "
                "WHERE a.session_id = ? AND a.deleted_hlc IS NULL AND p.deleted_hlc IS NULL ORDER BY a.id", (sid,)
            ).fetchall()
            facilitators = [r[0] for r in con.execute(
                "SELECT f.person_id FROM session_facilitator f JOIN person p ON p.id = f.person_id "
                "WHERE f.session_id = ? AND f.deleted_hlc IS NULL AND p.deleted_hlc IS NULL", (sid,))]
            fields = {"date": dt.date.fromisoformat(day) + dt.timedelta(days=7), "start_time": start,
                      "end_time": end, "module_id": module, "activity_type_id": activity,
                      "recruit_cohort_id": cohort, "title": title, "location": location,
                      "facilitator_ids": facilitators}
            plans.append((fields, [RegisterEntry(p, status, role, note) for p, status, role, note in register]))
    finally:
        con.close()

    from srcdesk.services.setup import open_installation
    from srcdesk.services.users import authenticate

    ctx = open_installation(data)
    counts = {"sessions": 0, "register lines": 0, "people": 0}
    try:
        ctx = ctx.signed_in(authenticate(ctx.db, EST_USER, PASSWORD))
        newcomers = [create_person(ctx, given_name=given, family_name="Weekley").id
                     for given in ("Ally", "Bryce", "Cammy", "Dougie", "Ewan", "Fergus")[:NEW_PEOPLE]]
        counts["people"] = len(newcomers)
        for i, (fields, register) in enumerate(plans):
            outcome = save_session(ctx, **fields)
            if i < 2:  # the newcomers come to the week's first sessions
                register += [RegisterEntry(p) for p in newcomers if p not in {e.person_id for e in register}]
            save_register(ctx, outcome.session.id, register)
            counts["sessions"] += 1
            counts["register lines"] += len(register)
    finally:
        ctx.db.close()
    return counts


# -- measuring and reporting --------------------------------------------------------------------


@dataclass
class Measure:
    """One measurement's runs: srcdesk's and (optionally) its baseline's child reports."""

    name: str
    ours: list[dict[str, Any]] = field(default_factory=list)
    base: list[dict[str, Any]] = field(default_factory=list)

    def median(self, runs: list[dict[str, Any]], key: str = "seconds") -> float:
        return statistics.median(r[key] for r in runs)

    def peak(self, runs: list[dict[str, Any]]) -> float | None:
        peaks = [r["peak_mb"] for r in runs if r.get("peak_mb") is not None]
        return max(peaks) if peaks else None


def _pair(runs: int, ours: Any, base: Any | None = None) -> tuple[list[dict], list[dict]]:
    """Alternate srcdesk and baseline runs; one run only when the first is long."""
    mine: list[dict] = []
    theirs: list[dict] = []
    for i in range(runs):
        if base is not None:
            theirs.append(base(i))
        mine.append(ours(i))
        if i == 0 and mine[0]["seconds"] > LONG_RUN_S and runs > 1:
            print(f"  (first run took {mine[0]['seconds']:.0f} s: measured once)", flush=True)
            break
    return mine, theirs


def _s(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _mb(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def print_table(rows: list[tuple[str, ...]]) -> None:
    header = ("measurement", "srcdesk", "baseline", "ratio", "target", "result", "peak MB")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    print(line.format(*header))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line.format(*r))


def _ratio_row(name: str, ours: float, base: float, peak: float | None, base_peak: float | None, *,
               goal: float = GOAL_RATIO) -> tuple[str, ...]:
    ratio = round(ours / base, 2) if base else float("inf")
    verdict = "met" if ratio <= goal else "MISSED"  # judged as printed: "2.00x" is met
    return (name, _s(ours), _s(base), f"{ratio:.2f}x", f"<= {goal:g}x", verdict,
            f"{_mb(peak)} / {_mb(base_peak)}")


def _peak_row(name: str, peak: float | None, base_peak: float | None) -> tuple[str, ...]:
    if peak is None:
        return (name, "n/a", "", "", f"<= {GOAL_PEAK_MB:g} MB", "not measured", "")
    verdict = "met" if round(peak) <= GOAL_PEAK_MB else "MISSED"  # judged as printed
    return (name, f"{peak:.0f} MB", f"{_mb(base_peak)} MB", "", f"<= {GOAL_PEAK_MB:g} MB", verdict, f"{peak:.0f}")


@benchmark("sync")
def bench_sync(opts: argparse.Namespace) -> None:
    from srcdesk.paths import database_path

    runs = max(1, int(getattr(opts, "runs", None) or RUNS))
    if opts.scale != "decade":
        print("(the goals are for decade scale; fixed costs dominate smaller scales)")
    cache = _cache_dir(opts)
    if _cache_ok(cache, opts):
        print(f"establishment and office data: {cache} (cached)", flush=True)
    else:
        print(f"making a {opts.scale}-scale establishment and an empty office in {cache}…", flush=True)
        _make_cache(cache, opts)
    marker = json.loads((cache / "bench.json").read_text())
    national = _office_cache(opts, cache.parent)

    root = Path(tempfile.mkdtemp(prefix="srcdesk-bench-sync-"))
    try:
        est = _copy(cache / "est", root / "est")
        est_db = database_path(est)

        # 1. export --full, alternating with the raw select -> json -> sha256 pipeline
        out = root / "out"
        bundles: list[Path] = []

        def export(i: int) -> dict:
            folder = out / f"full-{i}"
            folder.mkdir(parents=True)
            r = run_child("export", est, folder, 1)
            bundles.append(Path(r["path"]))
            return r

        print(f"exporting the establishment's {marker['records']:,} demo records --full ({runs} run(s))…",
              flush=True)
        exp = Measure("export --full")
        exp.ours, exp.base = _pair(runs, export, lambda i: run_child("export-raw", est_db))
        bundle = bundles[0]

        # 2. import into an empty office, alternating with the raw upsert into a copy of it
        def import_ours(i: int) -> dict:
            return run_child("import", _copy(cache / "office", root / f"office-{i}"), bundle)

        def import_raw(i: int) -> dict:
            target = _copy(cache / "office", root / f"raw-{i}")
            return run_child("import-raw", est_db, database_path(target))

        print(f"importing it into an empty office ({runs} run(s))…", flush=True)
        imp = Measure("import")
        imp.ours, imp.base = _pair(runs, import_ours, import_raw)
        for i in range(1, runs):  # keep the first office: it receives the week
            shutil.rmtree(root / f"office-{i}", ignore_errors=True)
            shutil.rmtree(root / f"raw-{i}", ignore_errors=True)
        shutil.rmtree(root / "raw-0", ignore_errors=True)
        decade_office = root / "office-0"
        sizes = {"est": sync_size.log_size(est_db), "office": sync_size.log_size(database_path(decade_office))}

        # 3. a week's work, exported and imported into the office holding the decade
        print("recording a week at the establishment through the services…", flush=True)
        week = make_week(est)
        wexp = Measure("weekly export")
        week_bundles: list[Path] = []

        def export_week(i: int) -> dict:
            folder = out / f"week-{i}"
            folder.mkdir(parents=True)
            r = run_child("export", est, folder, 0)
            week_bundles.append(Path(r["path"]))
            return r

        wexp.ours, _ = _pair(1, export_week)  # an export moves the watermark: once
        wimp = Measure("weekly import")
        wimp.ours, _ = _pair(runs, lambda i: run_child(
            "import", _copy(decade_office, root / f"week-office-{i}"), week_bundles[0]))

        nat = _national_week(national, root, runs, _office_login(opts)) if national else None
        linear = _long_histories(opts, cache.parent, root, runs)
        demo_db, demo_marker = _demo_office(opts, cache.parent)
        sizes["demo"] = sync_size.log_size(demo_db)
        _report(opts, marker, exp, imp, wexp, wimp, week, nat, linear, sizes, demo_marker)
    finally:
        if opts.keep:
            print(f"kept: {root} (cached data: {cache})")
        else:
            shutil.rmtree(root, ignore_errors=True)


@dataclass
class National:
    """The week of an establishment PC set up from a real decade-scale office, imported there."""

    marker: dict[str, Any]
    week: dict[str, int]
    export: Measure
    imports: Measure


def _national_week(cache: Path, root: Path, runs: int, login: tuple[str, str]) -> National:
    print("recording a week at the Perth PC set up from the decade office…", flush=True)
    est = _copy(cache / "est", root / "national-est")
    week = make_week(est)
    folder = root / "out" / "national-week"
    folder.mkdir(parents=True)
    exported = Measure("national weekly export")
    exported.ours, _ = _pair(1, lambda i: run_child("export", est, folder, 0))
    bundle = exported.ours[0]["path"]

    def import_there(i: int) -> dict:
        target = root / "national-office"
        shutil.rmtree(target, ignore_errors=True)
        try:
            return run_child("import", _copy(cache / "office", target), bundle, *login)
        finally:
            shutil.rmtree(target, ignore_errors=True)  # gigabytes: one copy at a time

    print(f"importing it into copies of the decade office ({runs} run(s))…", flush=True)
    imports = Measure("national weekly import")
    imports.ours, _ = _pair(runs, import_there)
    return National(json.loads((cache / "bench.json").read_text()), week, exported, imports)


@dataclass
class LongHistory:
    """Imports of the bundles holding one row's long history in one form (item 7): ``measure.ours``
    the large bundle's, ``measure.base`` the small one's (a tenth of the changes)."""

    form: str
    small: int
    large: int
    measure: Measure


def _long_histories(opts: argparse.Namespace, base: Path, root: Path, runs: int) -> list[LongHistory]:
    small, large = LINEAR_SIZES.get(opts.scale, LINEAR_DEFAULT)
    folder = base / f"long-history-{small}-{large}"
    print(f"importing bundles of {large:,} and {small:,} updates to one row into an empty office ({runs} run(s) "
          f"each; the bundles are made once, in {folder})…", flush=True)
    world, bundles = sync_linear.cached_bundles(folder, (small, large), schema=_schema())

    def importing(form: str, n: int) -> Any:
        def one(i: int) -> dict:
            target = root / "long-history-office"
            shutil.rmtree(target, ignore_errors=True)
            try:
                return run_child("import", _copy(world.office, target), bundles[(form, n)])
            finally:
                shutil.rmtree(target, ignore_errors=True)
        return one

    out = []
    for form in sync_linear.FORMS:
        m = Measure(f"{large:,} updates to one row ({form})")
        m.ours, m.base = _pair(runs, importing(form, large), importing(form, small))
        out.append(LongHistory(form, small, large, m))
    return out


def _demo_office(opts: argparse.Namespace, base: Path) -> tuple[Path, dict[str, Any]]:
    from srcdesk.paths import database_path

    folder = base / f"demo-office-{opts.scale}-seed{opts.seed}"
    print(f"measuring the change log in an office filled by 'srcdesk demo --scale {opts.scale}' (made once, in "
          f"{folder})…", flush=True)
    data, marker = sync_size.demo_office(folder, scale=opts.scale, seed=opts.seed, schema=_schema())
    return database_path(data), marker


def _linear_rows(linear: list[LongHistory]) -> list[tuple[str, ...]]:
    rows = []
    for h in linear:
        m = h.measure
        rows += [
            _ratio_row(f"{h.large:,} updates to one row ({h.form}) vs {h.small:,}", m.median(m.ours), m.median(m.base),
                       m.peak(m.ours), m.peak(m.base), goal=GOAL_LINEAR),
            _peak_row(f"  peak memory, {h.large:,} updates ({h.form})", m.peak(m.ours), m.peak(m.base)),
        ]
    return rows


def _gb(n: int) -> str:
    return f"{n / 2**30:.2f} GB" if n >= 2**30 else f"{n / 2**20:.1f} MB"


def _size_row(name: str, size: sync_size.LogSize) -> tuple[str, ...]:
    verdict = "met" if round(size.ratio, 2) <= sync_size.GOAL_LOG_RATIO else "MISSED"  # judged as printed
    return (name, _gb(size.used), _gb(size.without_log), f"{size.ratio:.2f}x", f"<= {sync_size.GOAL_LOG_RATIO:g}x",
            verdict, "")


def _size_line(label: str, size: sync_size.LogSize) -> str:
    return (f"  {label}: {size.changes:,} changes, {size.without_values:,} of them inserts stored without their "
            f"values; the log {_gb(size.log)} of {_gb(size.used)} in use ({_gb(size.file)} on disk)")


def _week_rows(label: str, exported: Measure, imports: Measure) -> list[tuple[str, ...]]:
    return [
        (f"weekly export ({exported.ours[0]['changes']:,} changes)", _s(exported.median(exported.ours)), "", "", "—",
         "", _mb(exported.peak(exported.ours))),
        (f"weekly import into {label}: apply", _s(imports.median(imports.ours)), "", "", "—", "",
         _mb(imports.peak(imports.ours))),
        ("  its automatic backup", _s(imports.median(imports.ours, "backup")), "", "", "—", "", ""),
        ("  total incl. backup", _s(statistics.median(r["seconds"] + r["backup"] for r in imports.ours)), "", "",
         "—", "", ""),
    ]


def _week_line(label: str, week: dict[str, int], result: dict[str, Any]) -> str:
    return (f"{label}: {week['sessions']} sessions, {week['register lines']} register lines, {week['people']} new "
            f"people -> {result['changes']:,} changes: {result['new']:,} new, {result['updated']:,} updated, "
            f"{result['unchanged']:,} unchanged, {result['conflicts']:,} conflicts, {result['waiting']:,} waiting")


def _report(opts: argparse.Namespace, marker: dict, exp: Measure, imp: Measure, wexp: Measure, wimp: Measure,
            week: dict[str, int], nat: National | None, linear: list[LongHistory],
            sizes: dict[str, sync_size.LogSize], demo: dict[str, Any]) -> None:
    e0, i0, w0 = exp.ours[0], imp.ours[0], wimp.ours[0]
    if e0["changes"] != exp.base[0]["changes"]:
        print(f"WARNING: the bundle holds {e0['changes']:,} changes but the baseline selected "
              f"{exp.base[0]['changes']:,} rows")
    rows = [
        _ratio_row(f"export --full ({e0['changes']:,} changes)", exp.median(exp.ours), exp.median(exp.base),
                   exp.peak(exp.ours), exp.peak(exp.base)),
        _ratio_row("import into empty office (apply)", imp.median(imp.ours), imp.median(imp.base),
                   imp.peak(imp.ours), imp.peak(imp.base)),
        ("  automatic backup before it", _s(imp.median(imp.ours, "backup")), "", "", "separate", "", ""),
        _peak_row("peak memory, export", exp.peak(exp.ours), exp.peak(exp.base)),
        _peak_row("peak memory, import", imp.peak(imp.ours), imp.peak(imp.base)),
        *_week_rows("the office from the import above", wexp, wimp),
    ]
    if nat is not None:
        rows += _week_rows(f"a decade office ({nat.marker['office_changes']:,} changes)", nat.export, nat.imports)
    rows += _linear_rows(linear)
    rows += [
        _size_row(f"database / without its change log: demo --scale {opts.scale}", sizes["demo"]),
        _size_row("  the establishment above", sizes["est"]),
        _size_row("  the office that imported it", sizes["office"]),
    ]
    print()
    print_table(rows)
    b = imp.base[0]
    print()
    print(f"memory: the srcdesk processes held {_mb(e0.get('start_mb'))} MB (export) and {_mb(i0.get('start_mb'))} MB "
          "(import) before starting, with Python, SQLAlchemy and srcdesk loaded and the data open")
    print(f"bundle: {e0['bytes'] / 2**20:.1f} MB on the stick; raw JSON lines {exp.base[0]['bytes'] / 2**20:.1f} MB")
    print(f"import: {i0['changes']:,} changes -> {i0['new']:,} new, {i0['updated']:,} updated, "
          f"{i0['unchanged']:,} unchanged, {i0['conflicts']:,} conflicts, {i0['waiting']:,} waiting; "
          f"baseline upserted {b['rows']:,} rows ({_s(b['tables'])}) and logged {b['changes']:,} changes "
          f"({_s(b['log'])}), commit {_s(b['commit'])}")
    print(_week_line("week", week, w0) + f"; that office held the establishment's {marker['records']:,} "
          f"{opts.scale} demo records")
    if nat is not None:
        m = nat.marker
        print(_week_line("week at a Perth PC set up from the decade office", nat.week, nat.imports.ours[0])
              + f" (setting that PC up, once: the office's --full bundle for Perth, {m['scope_changes']:,} changes, "
              f"exported in {m['office_export_s']:.0f} s and imported in {m['establishment_import_s']:.0f} s)")
    office = sizes["office"]
    print(f"logged: the office {office.changes:,} changes, {office.without_values:,} without their values (its "
          f"own included); the baseline copied {b['changes']:,}, {b['without_values']:,} without")
    for h in linear:
        r = h.measure.ours[0]
        print(f"{h.large:,} updates to one row ({h.form}): {r['changes']:,} changes -> {r['new']:,} new, "
              f"{r['updated']:,} updated, {r['conflicts']:,} conflicts, {r['waiting']:,} waiting")
    print("  each bundle: one person made at Perth, then N edits of their notes, logged without a base (b: null: "
          "each followed all before it, as PCs logged edits before bases) or chained (each names the edit before "
          "it, as PCs log them now), written by Perth's exporter; baseline: the same bundle with a tenth of the "
          "edits (linear ~10x, quadratic ~100x)")
    print("change log, measured in place with SQLite's dbstat (pages of change_log and its index; free pages left "
          "out of both):")
    print(_size_line(f"demo --scale {opts.scale} ({demo['records']:,} records)", sizes["demo"]))
    print(_size_line("the establishment", sizes["est"]))
    print(_size_line("the office that imported it", office))
    print(f"runs (medians printed): export {len(exp.ours)}, import {len(imp.ours)}, weekly import {len(wimp.ours)}"
          + (f", weekly import into the decade office {len(nat.imports.ours)}" if nat else "")
          + f", long histories {len(linear[0].measure.ours) if linear else 0}"
          + "; each in a fresh process, srcdesk and baseline alternating; peak MB: srcdesk / baseline")


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))
