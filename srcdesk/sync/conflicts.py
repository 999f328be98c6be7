"""The conflict queue's storage: what the fold of a row says, kept in ``sync_conflict``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from .changelog import canonical_json
from .fold import Conflict


def store_conflicts(dbapi: Any, table: str, row_id: str, conflicts: Sequence[Conflict], now: dt.datetime) -> int:
    """Make the queue hold exactly ``conflicts`` for this row (keeping when each was first seen).
    Returns how many are new."""
    wanted = {(c.field, c.loser.hlc, c.loser.origin): c for c in conflicts}
    cur = dbapi.execute(
        "SELECT field, loser_hlc, loser_origin FROM sync_conflict WHERE table_name = ? AND row_id = ?", (table, row_id))
    try:
        held = {(f, h, o) for f, h, o in cur.fetchall()}
    finally:
        cur.close()  # on this thread, now: never finalised later by the garbage collector
    if not held and not wanted:
        return 0
    gone = held - wanted.keys()
    if gone:
        dbapi.executemany(
            "DELETE FROM sync_conflict WHERE table_name = ? AND row_id = ? AND field = ? AND loser_hlc = ? "
            "AND loser_origin = ?", [(table, row_id, *key) for key in gone]).close()
    added = [c for key, c in wanted.items() if key not in held]
    if added:
        dbapi.executemany(
            "INSERT INTO sync_conflict (table_name, row_id, field, winner_hlc, winner_origin, winner_user, "
            "winner_value, loser_hlc, loser_origin, loser_user, loser_value, detected_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(table, row_id, c.field, c.winner.hlc, c.winner.origin, c.winner.user,
              canonical_json({"v": c.winner_value}), c.loser.hlc, c.loser.origin, c.loser.user,
              canonical_json({"v": c.loser_value}), now.isoformat(sep=" ")) for c in added],
        ).close()
    # Another winner may have taken over for a conflict still held: keep the winner current.
    for key in held & wanted.keys():
        c = wanted[key]
        dbapi.execute(
            "UPDATE sync_conflict SET winner_hlc = ?, winner_origin = ?, winner_user = ?, winner_value = ? "
            "WHERE table_name = ? AND row_id = ? AND field = ? AND loser_hlc = ? AND loser_origin = ?",
            (c.winner.hlc, c.winner.origin, c.winner.user, canonical_json({"v": c.winner_value}),
             table, row_id, *key),
        ).close()
    return len(added)
