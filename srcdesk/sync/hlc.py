"""Hybrid logical clock.

A timestamp is one 64-bit integer: milliseconds since the Unix epoch shifted left by 16
bits, plus a 16-bit counter. It never goes backwards on one installation (even if the
PC's clock does), stays close to wall-clock time, and orders causally related changes
between installations once a remote timestamp has been observed. Ties between
installations are broken by origin id (see sync merge).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable

COUNTER_BITS = 16


def pack(ms: int, counter: int = 0) -> int:
    return (ms << COUNTER_BITS) | counter


def physical_ms(hlc: int) -> int:
    return hlc >> COUNTER_BITS


def to_datetime(hlc: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(physical_ms(hlc) / 1000, tz=dt.UTC)


def format_hlc(hlc: int) -> str:
    """Readable form, e.g. ``2026-11-27T16:30:00.123Z/0004``."""
    stamp = to_datetime(hlc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    return f"{stamp}Z/{hlc & 0xFFFF:04d}"


class HybridClock:
    def __init__(self, last: int = 0, wall_ms: Callable[[], int] | None = None) -> None:
        self._last = last
        self._wall_ms = wall_ms or (lambda: time.time_ns() // 1_000_000)
        self._lock = threading.Lock()

    @property
    def last(self) -> int:
        return self._last

    def now(self) -> int:
        """A timestamp greater than every one issued or observed before."""
        return self.reserve(1)

    def reserve(self, count: int) -> int:
        """Reserve ``count`` consecutive timestamps; returns the first."""
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            wall = pack(self._wall_ms())
            first = wall if wall > self._last else self._last + 1
            self._last = first + count - 1
            return first

    def rewind(self, to: int) -> None:
        """Start again from ``to``, even below where it was: only a clock repair does this, after
        re-stamping this PC's changes that were ahead (srcdesk.sync.restamp). In place, so every
        session holding this clock follows."""
        with self._lock:
            self._last = to

    def observe(self, remote: int) -> None:
        """Take a timestamp seen in another installation's change into account."""
        with self._lock:
            if remote > self._last:
                self._last = remote
