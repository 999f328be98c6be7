"""Identifiers: time-ordered UUIDs made where a record is created."""

from __future__ import annotations

import uuid_utils


def new_id() -> str:
    """A new uuid7 (RFC 9562) as its canonical 36-character string.

    uuid7 keys sort by creation time, so SQLite appends to the end of its B-tree
    instead of splitting pages at random (random uuid4 keys make inserts ~2.5x slower).
    """
    return str(uuid_utils.uuid7())
