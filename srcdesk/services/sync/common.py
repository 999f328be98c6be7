"""What the sync services share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

MAX_SEQ_JUMP = 10_000

Progress = Callable[[int, int, str], None]


def now() -> dt.datetime:
    """UTC now, naive (as stored)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
