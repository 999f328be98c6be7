"""One app-wide "data changed" signal, so every view refreshes itself after a write.

A write (always through a service, in a background task) announces what it touched::

    data_bus().announce("people")              # after create/update/transfer of a person
    data_bus().announce("sessions", "attendance")

and each view listens for the topics it shows::

    data_bus().changed.connect(self._on_changed)   # receives a frozenset of topics

Topics are plain words; the ones in use are listed in :data:`TOPICS`.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

TOPICS = frozenset({
    "people",       # person details, consent, transfers
    "sessions",     # sessions, facilitators, cohorts
    "attendance",   # registers
    "ladder",       # milestone achievements and their evidence
    "catalogue",    # programmes, modules, activity types, statuses, roles, ladder rules
    "users",        # user accounts
    "settings",     # local settings (idle lock)
    "sync",         # bundles written or imported, trusted installations, sync conflicts
})


class DataBus(QObject):
    changed = Signal(object)  # frozenset[str] of topics

    def announce(self, *topics: str) -> None:
        unknown = set(topics) - TOPICS
        if unknown:
            raise ValueError(f"unknown data topics: {sorted(unknown)}")
        self.changed.emit(frozenset(topics))


_bus: DataBus | None = None


def data_bus() -> DataBus:
    """The application's bus (created on first use, in the UI thread)."""
    global _bus
    if _bus is None:
        _bus = DataBus()
    return _bus
