"""The command line on the ground: one writer at a time, errors in words (never SQL, parameters,
names or hashes), quiet in pipes, usage errors, control characters refused.

Most run ``srcdesk`` in a real process, as a person or a script would."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from srcdesk.cli import main
from srcdesk.errors import BUSY
from srcdesk.instance import IN_USE, lock_path
from srcdesk.paths import database_path, log_dir
from srcdesk.services.people import create_person
from srcdesk.services.setup import init_installation

ROOT = Path(__file__).resolve().parents[2]
PW = "password123"
NAME = ("Zebedee", "Quarriston")  # a person whose name must never appear in an error or a log
BAD_SELECT = "SELECT given_name FROM person WHERE given_name = :n AND no_such_column = 1"
BAD_INSERT = "INSERT INTO local_state (key, value) VALUES ('hlc', :v)"


def srcdesk(data: Path, *args: str, user: str | None = "ann", **kw) -> subprocess.CompletedProcess:  # noqa: ANN003
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SRCDESK_PASSWORD": PW, "SRCDESK_NEW_PASSWORD": "a-new-pass-1",
           "SRCDESK_BUSY_TIMEOUT_MS": "300", **kw.pop("env", {})}
    env.pop("SRCDESK_USER", None)
    who = ["--user", user] if user else []
    streams = {} if "stdout" in kw else {"capture_output": True}
    return subprocess.run([sys.executable, "-m", "srcdesk.cli", "--data-dir", str(data), *who, *args],
                          env=env, text=True, timeout=120, **streams, **kw)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """HMP Perth, administrator ann, with one person in it."""
    folder = tmp_path / "data"
    ctx = init_installation(folder, establishment="PER", office=False, admin_username="ann",
                            admin_name="Ann Admin", admin_password=PW)
    create_person(ctx, given_name=NAME[0], family_name=NAME[1])
    ctx.db.close()
    return folder


def password_hash(data: Path) -> str:
    con = sqlite3.connect(database_path(data))
    try:
        return con.execute("SELECT password_hash FROM app_user WHERE username = 'ann'").fetchone()[0]
    finally:
        con.close()


def logs_text(data: Path) -> str:
    folder = log_dir(data)
    return "".join(p.read_text(encoding="utf-8") for p in folder.rglob("*") if p.is_file()) if folder.exists() else ""


def assert_says_nothing_private(text: str, data: Path, *, traceback: bool = False) -> None:
    """No SQL statement, parameter, password hash or name. (A traceback shows lines of srcdesk's
    and the tests' source, which may hold SQL as code: only the statement as sent is checked.)"""
    statements = () if traceback else ("UPDATE ", "INSERT INTO", "SELECT ")
    for private in ("[SQL", "SQL:", "[parameters", "parameters:", *statements,
                    password_hash(data), "$argon2", *NAME):
        assert private not in text, f"{private!r} in:\n{text}"


def holder(script: str) -> subprocess.Popen:
    """A process that takes something, prints "held", and keeps it until killed."""
    proc = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


@pytest.fixture
def exclusive_lock(data: Path) -> Iterator[subprocess.Popen]:
    """Another process with the database locked for writing (``BEGIN EXCLUSIVE``)."""
    proc = holder(f"import sqlite3, time\ncon = sqlite3.connect({str(database_path(data))!r}, isolation_level=None)\n"
                  "con.execute('BEGIN EXCLUSIVE')\nprint('held', flush=True)\ntime.sleep(120)\n")
    yield proc
    proc.kill()
    proc.wait()


@pytest.fixture
def app_lock(data: Path) -> Iterator[subprocess.Popen]:
    """Another srcdesk process holding the data folder's lock (as the desktop app does while open)."""
    proc = holder(f"import time\nfrom pathlib import Path\nfrom srcdesk.instance import InstanceLock\n"
                  f"lock = InstanceLock(Path({str(data)!r}))\nlock.acquire()\nprint('held', flush=True)\n"
                  "time.sleep(120)\n")
    yield proc
    proc.kill()
    proc.wait()


# -- 1. errors in words ----------------------------------------------------------------------------

def test_passwd_on_a_locked_database_says_one_line(data: Path, exclusive_lock: subprocess.Popen) -> None:
    before = password_hash(data)
    done = srcdesk(data, "user", "passwd", "ann")
    assert done.returncode == 1, done
    assert done.stderr == f"srcdesk: {BUSY}\n" and done.stdout == ""
    assert_says_nothing_private(done.stderr, data)
    assert_says_nothing_private(logs_text(data), data, traceback=True)
    exclusive_lock.kill()
    exclusive_lock.wait()
    assert password_hash(data) == before  # nothing was half-saved
    assert srcdesk(data, "user", "passwd", "ann").returncode == 0  # and once it is free, it works


def test_adding_a_person_like_one_there_on_a_locked_database(data: Path, exclusive_lock: subprocess.Popen) -> None:
    done = srcdesk(data, "user", "add", "zebedee", "--name", " ".join(NAME))
    assert done.returncode == 1 and done.stderr == f"srcdesk: {BUSY}\n"
    assert_says_nothing_private(done.stderr, data)
    assert_says_nothing_private(logs_text(data), data, traceback=True)


def test_unexpected_database_errors_are_logged_without_sql_or_values(data: Path, capsys, monkeypatch) -> None:  # noqa: ANN001
    """Every unexpected-error path of the command line that carries SQL: a statement that fails
    (SQL and values in SQLAlchemy's message), a constraint broken with a person's name as a value,
    and an error raised inside a unit of work."""
    from sqlalchemy import text as sql

    from srcdesk.services import users

    def bad_statement(ctx, **_kw):  # noqa: ANN001, ANN202
        with ctx.read() as s:
            s.execute(sql(BAD_SELECT), {"n": NAME[0]})

    def broken_constraint(ctx, **_kw):  # noqa: ANN001, ANN202
        with ctx.write("user.add") as s:
            s.execute(sql(BAD_INSERT), {"v": " ".join(NAME)})

    monkeypatch.setenv("SRCDESK_PASSWORD", PW)
    for fake in (bad_statement, broken_constraint):
        monkeypatch.setattr(users, "list_users", fake)
        code = main(["--data-dir", str(data), "--user", "ann", "user", "list"])
        out, err = capsys.readouterr()
        assert code == 1 and err.startswith("srcdesk: unexpected error: ") and err.count("\n") == 1, err
        assert_says_nothing_private(out + err, data)
    log = logs_text(data)
    assert log.count(" command line\n") == 2 and "OperationalError" in log and "IntegrityError" in log
    assert_says_nothing_private(log, data, traceback=True)
    assert BAD_SELECT not in log and BAD_INSERT not in log  # the statements as sent


# -- 2. one writer at a time -----------------------------------------------------------------------

def test_a_command_that_writes_waits_for_the_app_then_says_why(data: Path, app_lock: subprocess.Popen) -> None:
    started = time.monotonic()
    done = srcdesk(data, "user", "add", "rita")
    waited = time.monotonic() - started
    assert done.returncode == 1 and done.stderr == f"srcdesk: {IN_USE}\n", done
    assert waited >= 4.5  # it waited a few seconds for the other one first
    # Commands that only read go ahead beside it.
    for command in (["user", "list"], ["keys", "show"], ["conflicts", "list"], ["bundle", "history"]):
        done = srcdesk(data, *command)
        assert done.returncode == 0, (command, done.stderr)
    for command in (["check"], ["clock", "check"]):
        done = srcdesk(data, *command, user=None)
        assert done.returncode == 0, (command, done.stderr)
    # The holder dies without letting go (a crash, a power cut): the next command proceeds.
    app_lock.send_signal(signal.SIGKILL)
    app_lock.wait()
    done = srcdesk(data, "user", "add", "rita")
    assert done.returncode == 0 and "Added rita" in done.stdout, done.stderr
    assert "rita" in srcdesk(data, "user", "list").stdout


def test_a_command_waits_while_another_finishes(data: Path, tmp_path: Path) -> None:
    """A lock held for a moment (another command) is waited for, not refused."""
    proc = holder(f"import time\nfrom pathlib import Path\nfrom srcdesk.instance import InstanceLock\n"
                  f"lock = InstanceLock(Path({str(data)!r}))\nlock.acquire()\nprint('held', flush=True)\n"
                  "time.sleep(1.5)\nlock.release()\ntime.sleep(60)\n")
    try:
        done = srcdesk(data, "user", "add", "rita")
        assert done.returncode == 0, done.stderr
    finally:
        proc.kill()
        proc.wait()


def test_init_leaves_no_folder_behind_when_refused(tmp_path: Path) -> None:
    done = srcdesk(tmp_path / "new", "init", "--office", "--admin", "phr", user=None, env={"SRCDESK_PASSWORD": "short"})
    assert done.returncode == 1 and not (tmp_path / "new").exists()
    done = srcdesk(tmp_path / "new", "init", "--office", "--admin", "phr", user=None)
    assert done.returncode == 0 and lock_path(tmp_path / "new").exists()


def test_the_stored_clock_never_moves_back(data: Path) -> None:
    """Two processes with one database and two clocks: one far ahead writes, then one behind it
    writes. The stored clock keeps the larger, and the one behind goes on from it."""
    from srcdesk.db import Database
    from srcdesk.services.base import Context, load_installation
    from srcdesk.services.users import authenticate

    def stored() -> int:
        con = sqlite3.connect(database_path(data))
        try:
            return int(con.execute("SELECT value FROM local_state WHERE key = 'hlc'").fetchone()[0])
        finally:
            con.close()

    behind = Database.open(data)  # this process: its clock is read now, and stays in memory
    try:
        ctx = Context(behind, load_installation(behind), authenticate(behind, "ann", PW))
        ahead_ms = int(time.time() * 1000) + 3_600_000  # the other process's PC is an hour ahead
        script = (f"from pathlib import Path\nfrom srcdesk.db import Database\n"
                  f"from srcdesk.services.base import Context, load_installation\n"
                  f"from srcdesk.services.people import create_person\nfrom srcdesk.services.users import authenticate\n"
                  f"db = Database.open(Path({str(data)!r}), wall_ms=lambda: {ahead_ms})\n"
                  f"ctx = Context(db, load_installation(db), authenticate(db, 'ann', {PW!r}))\n"
                  f"create_person(ctx, given_name='Ahead', family_name='Person')\nprint(db.clock.last)\n")
        other = subprocess.run([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": str(ROOT)},
                               capture_output=True, text=True, timeout=120, check=True)
        other_last = int(other.stdout.strip())
        assert stored() == other_last and behind.clock.last < other_last
        person = create_person(ctx, given_name="Behind", family_name="Person")
        assert stored() == behind.clock.last >= other_last  # not moved back to this process's clock
        later = create_person(ctx, given_name="Later", family_name="Person")
        assert later.created_hlc > other_last and person.created_hlc < later.created_hlc
    finally:
        behind.close()


# -- 11. pipes, usage, control characters ----------------------------------------------------------

def test_a_closed_pipe_ends_quietly(data: Path) -> None:
    """``srcdesk user list | head -0``: whoever reads stopped before the first line."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # closed before srcdesk writes anything: every write fails with EPIPE
    try:
        done = srcdesk(data, "user", "list", stdout=write_end, stderr=subprocess.PIPE)
    finally:
        os.close(write_end)
    assert done.returncode == 0 and done.stderr == "", done.stderr


def test_head_reads_one_line_and_srcdesk_stops_quietly(data: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SRCDESK_PASSWORD": PW}
    pipeline = (f"{sys.executable} -m srcdesk.cli --data-dir {data} --user ann user list | head -1 >/dev/null; "
                "echo ${PIPESTATUS[0]}")
    done = subprocess.run(["bash", "-c", pipeline], env=env, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "0" and "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


def test_control_characters_are_refused_in_names(data: Path) -> None:
    for name in ("Rita\x1b[2JRecorder", "Rita\u202eredrocer", "Rita\x01", "Rita\x9bm", "Rita\u2066x\u2069"):
        done = srcdesk(data, "user", "add", "rita", "--name", name)
        assert done.returncode == 1 and "control character" in done.stderr and done.stderr.count("\n") == 1
    assert "rita" not in srcdesk(data, "user", "list").stdout
    assert srcdesk(data, "user", "add", "rita", "--name", "Rita\tRecorder").returncode == 0  # a tab: a space
    assert "Rita Recorder" in srcdesk(data, "user", "list").stdout


def test_control_characters_in_services(tmp_path: Path) -> None:
    from srcdesk.errors import ValidationError
    from srcdesk.services.people import update_person

    ctx = init_installation(tmp_path / "d", establishment="PER", office=False, admin_username="ann",
                            admin_name="Ann Admin", admin_password=PW)
    try:
        for field, value in (("given_name", "Jo\u202eeoJ"), ("family_name", "Smith\x07"),
                             ("external_ref", "A1\x1b]0;x\x07"), ("notes", "line one\n\x1b[31mred")):
            with pytest.raises(ValidationError, match="control character") as refused:
                create_person(ctx, **{"given_name": "Jo", "family_name": "Smith", field: value})
            assert refused.value.field == field
        person = create_person(ctx, given_name="Jo", family_name="Smith", notes="line one\nline two\ttabbed")
        assert person.notes == "line one\nline two\ttabbed"  # multi-line text keeps its lines and tabs
        with pytest.raises(ValidationError, match="control character"):
            update_person(ctx, person.id, given_name="J\u2067o")
    finally:
        ctx.db.close()


def test_resolving_a_conflict_that_is_not_there(data: Path) -> None:
    done = srcdesk(data, "conflicts", "resolve", "999", "--keep")
    assert done.returncode == 1 and done.stderr == (
        "srcdesk: No such conflict (#999): it was settled already, or never existed.\n")


def test_advice_names_the_command(data: Path, tmp_path: Path) -> None:
    """What the command line prints names a command, not only where it is in the app."""
    (tmp_path / "usb").mkdir()
    done = srcdesk(data, "bundle", "export", "--to", str(tmp_path / "usb"))
    assert done.returncode == 1 and "'srcdesk keys enrol'" in done.stderr, done.stderr


def test_no_user_is_a_usage_error(data: Path) -> None:
    done = srcdesk(data, "user", "list", user=None)
    assert done.returncode == 2 and done.stderr.startswith("usage: srcdesk")
    assert "--user NAME or $SRCDESK_USER" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(("said", "sentence"), [
    ("database is locked", BUSY),
    ("database table is locked", BUSY),
    ("database or disk is full", "The disk that holds srcdesk's data is full"),
    ("attempt to write a readonly database", "read-only"),
    ("unable to open database file", "can't open its data file"),
    ("disk I/O error", "The disk failed"),
    ("database disk image is malformed", "damaged"),
])
def test_database_problems_in_words(said: str, sentence: str) -> None:
    """Bare, and wrapped by SQLAlchemy with a statement and a person's name as a parameter."""
    from sqlalchemy.exc import OperationalError

    from srcdesk.errors import DatabaseError, database_problem, user_message

    bare = sqlite3.OperationalError(said)
    wrapped = OperationalError("UPDATE person SET given_name=? WHERE id=?", (NAME[0], "p1"), bare)
    for error in (bare, wrapped):
        problem = database_problem(error)
        assert isinstance(problem, DatabaseError) and sentence in str(problem)
        assert user_message(error) == str(problem) and "\n" not in str(problem)
    assert database_problem(sqlite3.IntegrityError("UNIQUE constraint failed: person.id")) is None
    assert database_problem(OperationalError("SELECT 1", {}, sqlite3.OperationalError("no such column: x"))) is None
    assert user_message(wrapped) == str(database_problem(wrapped))
    other = OperationalError("SELECT x FROM person WHERE given_name = ?", (NAME[0],), sqlite3.OperationalError("no such column: x"))
    assert user_message(other) == "OperationalError: (sqlite3.OperationalError) no such column: x"
