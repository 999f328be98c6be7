"""One app-wide "data changed" signal, so every view refreshes itself after a write.

Nobody announces a database write by hand: the capture layer tells the bus which tables each
transaction wrote once it has committed (:func:`srcdesk.sync.capture.watch_commits`), whichever
service wrote them, and the bus turns the tables into topics. Writes by another process (a CLI
import while the app is open) are found by :class:`ExternalChanges`, which polls SQLite's
``PRAGMA data_version`` in the background and announces every topic.

Each view listens for the topics it shows::

    data_bus().changed.connect(self._on_changed)   # receives a frozenset of topics

Topics are plain words; the ones in use are listed in :data:`TOPICS`. Only what is not in the
database is announced by hand (``data_bus().announce("settings")`` for this PC's settings).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from ..sync.capture import DataVersion, watch_commits
from .tasks import run_task

log = logging.getLogger(__name__)

TOPICS = frozenset({
    "people",       # person details, consent, transfers, plans, referrals
    "sessions",     # sessions, facilitators, cohorts
    "attendance",   # registers
    "ladder",       # milestone achievements, their evidence, certificates
    "catalogue",    # establishments, programmes, modules, activity types, statuses, roles, ladder rules
    "users",        # user accounts
    "settings",     # local settings of this PC (idle lock): not in the database, announced by hand
    "sync",         # bundles written or imported, trusted installations, sync conflicts
})

# What each table of the database is about. A table missing here is announced as every topic
# (a test keeps this complete); the change log and the clock's state are nobody's view.
TABLE_TOPICS: dict[str, frozenset[str]] = {
    **dict.fromkeys(("person", "person_transfer", "person_search_word", "plan_year", "plan_focus",
                     "plan_target", "referral", "referral_stage"), frozenset({"people"})),
    **dict.fromkeys(("session", "session_facilitator", "recruit_cohort"), frozenset({"sessions"})),
    "attendance": frozenset({"attendance"}),
    **dict.fromkeys(("milestone_achievement", "milestone_evidence", "certificate"), frozenset({"ladder"})),
    **dict.fromkeys(("establishment", "programme", "module", "activity_type", "attendance_status",
                     "attendance_role", "milestone_definition", "initiative", "community_organisation",
                     "organisation_link"), frozenset({"catalogue"})),
    "app_user": frozenset({"users"}),
    **dict.fromkeys(("installation", "bundle_record", "sync_conflict", "sync_waiting", "sync_sent_scope"),
                    frozenset({"sync"})),
    **dict.fromkeys(("change_log", "local_state", "alembic_version"), frozenset()),
}


def topics_of(tables: frozenset[str] | set[str]) -> frozenset[str]:
    """The topics a write to ``tables`` changes."""
    found: set[str] = set()
    for table in tables:
        found |= TABLE_TOPICS.get(table, TOPICS)
    return frozenset(found)


class DataBus(QObject):
    changed = Signal(object)  # frozenset[str] of topics
    _written = Signal(object)  # committing thread -> UI thread (queued): frozenset[str] of tables

    def __init__(self) -> None:
        super().__init__()
        self._written.connect(self._tables_written, Qt.ConnectionType.QueuedConnection)
        self._stop_watching = watch_commits(self)

    def announce(self, *topics: str) -> None:
        unknown = set(topics) - TOPICS
        if unknown:
            raise ValueError(f"unknown data topics: {sorted(unknown)}")
        self.changed.emit(frozenset(topics))

    def announce_all(self) -> None:
        self.changed.emit(TOPICS)

    # -- srcdesk.sync.capture.CommitWatcher (called on the committing thread) ----------------

    def before_commit(self) -> None:
        pass

    def committed(self, tables: frozenset[str]) -> None:
        try:
            self._written.emit(tables)
        except RuntimeError:  # the bus was deleted with the application
            self._stop_watching()

    @Slot(object)
    def _tables_written(self, tables: frozenset[str]) -> None:
        topics = topics_of(tables)
        if topics:
            self.changed.emit(topics)


_bus: DataBus | None = None


def data_bus() -> DataBus:
    """The application's bus (created on first use, in the UI thread)."""
    global _bus
    if _bus is None:
        _bus = DataBus()
    return _bus


class ExternalChanges(QObject):
    """Polls the database every ``interval_ms`` in the background for commits by another process,
    and announces every topic when it finds one."""

    def __init__(self, path: Path, parent: QObject | None = None, *, interval_ms: int = 2000) -> None:
        super().__init__(parent)
        self._path = path
        self._version: DataVersion | None = None
        self._busy = False
        self._closed = False
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        data_bus()  # the bus watches this process's own commits from now on
        self.timer.start()

    @Slot()
    def _tick(self) -> None:
        if self._busy or self._closed:
            return
        self._busy = True
        run_task(_poll, self._path, self._version, owner=self, on_done=self._polled,
                 name="look for changes by another program")

    def _polled(self, outcome: tuple[DataVersion, bool] | None, error: BaseException | None) -> None:
        self._busy = False
        if error is not None:
            log.warning("couldn't look for changes by another program: %s", type(error).__name__)
            return
        self._version, changed = outcome
        if self._closed:
            run_task(self._version.close, name="stop looking for changes")
            return
        if changed:
            data_bus().announce_all()

    def stop(self) -> None:
        self.timer.stop()
        self._closed = True
        if self._version is not None and not self._busy:
            version, self._version = self._version, None
            run_task(version.close, name="stop looking for changes")


def _poll(path: Path, version: DataVersion | None) -> tuple[DataVersion, bool]:
    if version is None:
        return DataVersion(path), False  # changes from now on
    return version, version.poll()
