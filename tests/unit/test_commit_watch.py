"""What a commit tells the rest of the app: the tables it wrote (read off the statements SQLite ran),
and whether another program committed (PRAGMA data_version)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from srcdesk.models import Base
from srcdesk.paths import database_path
from srcdesk.services.base import Context
from srcdesk.services.people import create_person
from srcdesk.services.users import add_user
from srcdesk.sync.capture import DataVersion, watch_commits


class Recorder:
    def __init__(self) -> None:
        self.before = 0
        self.commits: list[frozenset[str]] = []

    def before_commit(self) -> None:
        self.before += 1

    def committed(self, tables: frozenset[str]) -> None:
        self.commits.append(tables)


@pytest.fixture
def recorder() -> Recorder:
    found = Recorder()
    stop = watch_commits(found)
    yield found
    stop()


def test_a_commit_names_the_tables_it_wrote(ctx: Context, recorder: Recorder) -> None:
    create_person(ctx, given_name="Ada", family_name="Lovelace")
    assert len(recorder.commits) == 1
    assert {"person", "change_log"} <= recorder.commits[0]
    assert "session" not in recorder.commits[0]
    add_user(ctx, "bob", "Bob Recorder", "recorder", "password123")
    assert "app_user" in recorder.commits[-1] and "person" not in recorder.commits[-1]


def test_reads_and_failed_writes_name_nothing(ctx: Context, recorder: Recorder) -> None:
    from srcdesk.errors import ValidationError
    from srcdesk.services.people import search_people

    search_people(ctx, "Ada")
    with pytest.raises(ValidationError):
        create_person(ctx, given_name="", family_name="")
    assert recorder.commits == []


def test_data_version_tells_another_programs_commits_from_ours(ctx: Context, data_dir: Path) -> None:
    version = DataVersion(database_path(data_dir))
    try:
        assert version.poll() is False
        create_person(ctx, given_name="Ada", family_name="Lovelace")  # this program's own write
        assert version.poll() is False
        other = sqlite3.connect(database_path(data_dir))  # another program's connection
        other.execute("INSERT INTO local_state (key, value) VALUES ('elsewhere', '1')")
        other.commit()
        assert version.poll() is True
        assert version.poll() is False  # told once
        # Another program commits, then this one does before the next poll: still told.
        other.execute("UPDATE local_state SET value = '2' WHERE key = 'elsewhere'")
        other.commit()
        other.close()
        create_person(ctx, given_name="Grace", family_name="Hopper")
        assert version.poll() is True
    finally:
        version.close()
    assert version.poll() is False  # closed: says nothing, reads nothing


def test_every_table_has_its_topics() -> None:
    from srcdesk.ui.bus import TABLE_TOPICS, TOPICS, topics_of

    assert set(Base.metadata.tables) <= set(TABLE_TOPICS)
    assert all(topics <= TOPICS for topics in TABLE_TOPICS.values())
    assert topics_of({"person_transfer"}) == {"people"}
    assert topics_of({"no_such_table"}) == TOPICS  # unknown: everything may have changed


def test_data_version_opens_any_path(tmp_path: Path) -> None:
    """A path with spaces, "#" or "?" (a Windows profile folder may have them) is opened as a URI."""
    folder = tmp_path / "Jo Bloggs #1?"
    folder.mkdir()
    db = folder / "srcdesk.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (x)")
    version = DataVersion(db)
    try:
        with sqlite3.connect(db) as conn:
            conn.execute("INSERT INTO t VALUES (1)")
        assert version.poll() is True
    finally:
        version.close()


def test_only_a_watched_process_pays_for_tracing(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tracing costs about a microsecond a statement: with nobody watching commits (the command
    line) connections are not traced; once someone watches, the next transaction is, and names its
    tables (a watcher that came late misses nothing it was there for)."""
    from srcdesk.sync import capture
    from srcdesk.sync.capture import _TRACING

    monkeypatch.setattr(capture, "_watchers", [])  # as in a command: the app's data bus (kept for
    # the life of a process, so left by earlier page tests in this one) is not watching

    create_person(ctx, given_name="Ada", family_name="Lovelace")
    with ctx.db.engine.connect() as conn:
        assert conn.info.get(_TRACING) is False
    late = Recorder()
    stop = watch_commits(late)
    try:
        create_person(ctx, given_name="Grace", family_name="Hopper")
        assert late.commits and {"person", "change_log"} <= late.commits[-1]
        with ctx.db.engine.connect() as conn:
            assert conn.info.get(_TRACING) is True
    finally:
        stop()
    create_person(ctx, given_name="Mary", family_name="Somerville")
    with ctx.db.engine.connect() as conn:
        assert conn.info.get(_TRACING) is False
