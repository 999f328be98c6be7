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
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal, Slot

from ..sync.capture import DataVersion, watch_commits

log = logging.getLogger(__name__)

TOPICS = frozenset({
    "people",       # person details, consent, transfers, plans, referrals
    "sessions",     # sessions, facilitators, cohorts
    "attendance",   # registers
    "ladder",       # milestone achievements, their evidence, certificates
    "catalogue",    # establishments, programmes, modules, activity types, statuses, roles, ladder rules
    "users",        # user accounts
    "settings",     # local settings of this PC (idle lock, announced by hand), the certificates' design
    "sync",         # bundles written or imported, trusted installations, sync conflicts
})

# What each table of the database is about. A table missing here is announced as every topic
# (a test keeps this complete); the change log and the clock's state are nobody's view.
TABLE_TOPICS: dict[str, frozenset[str]] = {
    **dict.fromkeys(("person", "person_transfer", "person_search_word", "plan_year", "plan_focus",
                     "plan_target", "referral", "referral_stage", "liberation_record"), frozenset({"people"})),
    **dict.fromkeys(("session", "session_facilitator", "recruit_cohort"), frozenset({"sessions"})),
    "attendance": frozenset({"attendance"}),
    **dict.fromkeys(("milestone_achievement", "milestone_evidence", "certificate", "certificate_status"),
                    frozenset({"ladder"})),
    **dict.fromkeys(("establishment", "programme", "module", "activity_type", "attendance_status",
                     "attendance_role", "milestone_definition", "initiative", "community_organisation",
                     "organisation_link"), frozenset({"catalogue"})),
    "certificate_design": frozenset({"ladder", "settings"}),
    "app_user": frozenset({"users"}),
    **dict.fromkeys(("installation", "bundle_record", "sync_conflict", "sync_waiting", "sync_sent_scope",
                     "certificate_issuer"),
                    frozenset({"sync"})),
    **dict.fromkeys(("change_log", "local_state", "alembic_version"), frozenset()),
    # The dashboard's summaries change only with the records they count (whose topics are said);
    # the export record is shown by no view (`srcdesk export log`).
    **dict.fromkeys(("stat_attendance", "stat_count", "stat_achievement", "stat_dirty", "export_record"),
                    frozenset()),
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
    _external = Signal()  # ExternalChanges' thread -> UI thread (queued): another program wrote

    def __init__(self) -> None:
        super().__init__()
        self._written.connect(self._tables_written, Qt.ConnectionType.QueuedConnection)
        self._external.connect(self.announce_all, Qt.ConnectionType.QueuedConnection)
        self._stop_watching = watch_commits(self)

    def announce(self, *topics: str) -> None:
        unknown = set(topics) - TOPICS
        if unknown:
            raise ValueError(f"unknown data topics: {sorted(unknown)}")
        self.changed.emit(frozenset(topics))

    @Slot()
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


class ExternalChanges:
    """Polls the database every ``interval_ms`` for commits by another process, on a thread of its
    own (never the UI thread, and never a task the UI waits for), and has the bus announce every
    topic when it finds one. :meth:`stop` ends it."""

    def __init__(self, path: Path, *, interval_ms: int = 2000) -> None:
        self.bus = data_bus()  # made here, on the UI thread; it watches this process's own commits
        self._stop = threading.Event()
        self.ready = threading.Event()  # set once it is watching (for tests)
        self._thread = threading.Thread(target=self._run, args=(path, interval_ms / 1000),
                                        name="srcdesk-external-changes", daemon=True)
        self._thread.start()

    def _run(self, path: Path, interval: float) -> None:
        try:
            version = DataVersion(path)
        except Exception as exc:  # noqa: BLE001 - without it, only this program's writes refresh the views
            log.warning("can't look for changes by another program: %s", type(exc).__name__)
            return
        self.ready.set()
        try:
            while not self._stop.wait(interval):
                try:
                    changed = version.poll()
                except Exception as exc:  # noqa: BLE001 - try again next time
                    log.warning("couldn't look for changes by another program: %s", type(exc).__name__)
                    continue
                if changed:
                    try:
                        self.bus._external.emit()  # noqa: SLF001 - queued to the UI thread
                    except RuntimeError:  # the application has ended
                        return
        finally:
            version.close()

    def stop(self) -> None:
        self._stop.set()
