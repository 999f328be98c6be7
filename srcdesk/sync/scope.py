"""What an establishment is entitled to: the rows the office sends it, and which of them are new to it.

**The scope.** Its own people and sessions (with everyone on their registers and facilitating
them), people transferred in or out with their history (attendance, the sessions it was at,
milestones and their evidence, certificates, referrals), and the shared reference data (the
estate, programmes, attendance codes, the ladder, community organisations, the workplan,
accounts' names). Not other establishments' people. :func:`build_scope` builds it as a temporary
table ``temp.sync_scope(table_name, row_id, fresh)`` on the caller's connection.

**Rows new to a recipient.** The office sends a recipient the changes logged since its last
bundle (a watermark), so a row that *enters* the scope later, with changes logged before that,
would never reach it: someone now at Barlinnie put on the register of an older Perth session
makes that session Barlinnie's, but the session's own changes were logged long ago. Such rows are
marked ``fresh`` (:func:`mark_fresh`) and every change of theirs is sent again.

To know what is new without keeping one row per recipient and record, the office remembers per
recipient only the **people** in the scope, and which of them were at the establishment, plus
the records that were **waiting** at the office (:func:`scope_memory`, table
``sync_sent_scope``; a few thousand rows per establishment PC at decade scale). Every other
row's place in the scope follows from those people and from **anchor** columns
(:data:`ANCHORS`: the person, session, milestone or establishment a row names), its own and its
parent's (a register line is Perth's because its session is). So a row enters the scope only if

1. its person is new to the scope (their transfers, milestones and evidence, certificates,
   referrals), or new at the establishment (their register lines elsewhere);
2. an anchor of it or of its parent was written since the watermark: a change whose fields or
   base name the column, a creation (which names them all, and may bring changes logged before
   it that waited for it), or a deletion (which names every column: a value it overwrote can
   come back);
3. it was waiting at the office when the last bundle was made (it reached its table since, with
   changes logged before the watermark); or
4. it is another establishment's session, named by a register line or milestone evidence that
   is new to the scope by 1-3 (a session is in another's scope only through those).

Of those, rows with no change before the watermark from another installation need nothing more
(their changes are new anyway); and a record made on two PCs goes with the rows merged into it.
See ``docs/bundle-format.md`` ("Scope: what each bundle holds").
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..models import NATURAL_KEYS, SYNCABLE_TABLES

# Shared by every installation: every row goes everywhere.
SHARED_TABLES = (
    "activity_type", "app_user", "attendance_role", "attendance_status", "certificate_design", "community_organisation",
    "establishment",
    "milestone_definition", "module", "organisation_link", "plan_focus", "plan_target", "plan_year", "programme",
    "recruit_cohort",
)

# The per-person and per-establishment tables, and the columns of a row that decide (with the
# people in the scope) whether it is in an establishment's scope, or bring another row into it.
ANCHORS: dict[str, tuple[str, ...]] = {
    "attendance": ("person_id", "session_id"),
    "certificate": ("person_id",),
    "initiative": ("establishment_id",),
    "liberation_record": ("person_id",),
    "milestone_achievement": ("person_id",),
    "milestone_evidence": ("achievement_id", "session_id"),
    "person": (),  # in the scope by being one of its people
    "person_transfer": ("person_id",),
    "referral": ("person_id",),
    "referral_stage": ("referral_id",),
    "session": ("establishment_id",),
    "session_facilitator": ("session_id",),
}

# (parent table, child table, the child's column naming it): a child's place in the scope
# follows its parent's anchor (a register line is Perth's because its session is).
CHILDREN = (
    ("milestone_achievement", "milestone_evidence", "achievement_id"),
    ("referral", "referral_stage", "referral_id"),
    ("session", "attendance", "session_id"),
    ("session", "session_facilitator", "session_id"),
)

# What sync_sent_scope remembers per recipient (``kind``): people in the scope, split into those
# at the establishment (``here``) and the others (``person``), and records waiting at the office
# (``waiting:<table>``).
HERE, PERSON, WAITING = "here", "person", "waiting:"

_covered = set(SHARED_TABLES) | set(ANCHORS)
if _covered != SYNCABLE_TABLES:  # a new syncable table must say who may see it
    raise RuntimeError(f"sync scope does not cover: {sorted(SYNCABLE_TABLES ^ _covered)}")

_TEMP = ("sync_scope", "sync_fresh", "sync_moved", "sync_new_person", "sync_new_here", "sync_person",
         "sync_person_now", "sync_own_session")


def _where_in(table: str, column: str, source: str, select: str = "id") -> str:
    """A SELECT of ``select`` from the rows of ``table`` whose ``column`` is among ``source``'s
    (every such column is indexed)."""
    return f"SELECT {select} FROM {table} WHERE {column} IN ({source})"


def _temp(dbapi: Any, name: str, select: str, params: dict[str, Any] | None = None) -> None:
    dbapi.execute(f"CREATE TEMP TABLE {name} (id TEXT PRIMARY KEY) WITHOUT ROWID")
    dbapi.execute(f"INSERT OR IGNORE INTO temp.{name} {select}", params or {})


def _add(dbapi: Any, into: str, table: str, select: str, params: dict[str, Any] | None = None) -> None:
    dbapi.execute(f"INSERT OR IGNORE INTO temp.{into} (table_name, row_id) SELECT '{table}', id FROM ({select})",
                  params or {})


_OWN = "SELECT id FROM temp.sync_own_session"
_PEOPLE = "SELECT id FROM temp.sync_person"
_NOW = "SELECT id FROM temp.sync_person_now"


def build_scope(dbapi: Any, establishment_id: str) -> None:
    """Fill ``temp.sync_scope`` with the rows ``establishment_id`` is entitled to (``fresh`` 0).

    Also left for the caller: ``temp.sync_person`` (the people in the scope),
    ``temp.sync_person_now`` (those at the establishment) and ``temp.sync_own_session`` (its
    sessions). :func:`drop_scope` drops them all."""
    drop_scope(dbapi)
    e = {"e": establishment_id}
    _temp(dbapi, "sync_person_now", "SELECT id FROM person WHERE establishment_id = :e", e)
    _temp(dbapi, "sync_own_session", "SELECT id FROM session WHERE establishment_id = :e", e)
    _temp(dbapi, "sync_person",
          f"{_NOW} "
          "UNION SELECT person_id FROM person_transfer WHERE from_establishment_id = :e OR to_establishment_id = :e "
          f"UNION SELECT * FROM ({_where_in('session_facilitator', 'session_id', _OWN, 'person_id')}) "
          f"UNION SELECT * FROM ({_where_in('attendance', 'session_id', _OWN, 'person_id')}) "
          "UNION SELECT person_id FROM app_user WHERE person_id IS NOT NULL", e)
    dbapi.execute(
        "CREATE TEMP TABLE sync_scope (table_name TEXT, row_id TEXT, fresh INTEGER NOT NULL DEFAULT 0, "
        "PRIMARY KEY (table_name, row_id)) WITHOUT ROWID")
    for table in SHARED_TABLES:
        _add(dbapi, "sync_scope", table, f"SELECT id FROM {table}")
    _add(dbapi, "sync_scope", "person", _PEOPLE)
    for table in ("person_transfer", "milestone_achievement", "certificate", "referral", "liberation_record"):
        _add(dbapi, "sync_scope", table, _where_in(table, "person_id", _PEOPLE))
    achievements = _where_in("milestone_achievement", "person_id", _PEOPLE)
    _add(dbapi, "sync_scope", "milestone_evidence", _where_in("milestone_evidence", "achievement_id", achievements))
    _add(dbapi, "sync_scope", "referral_stage",
         _where_in("referral_stage", "referral_id", _where_in("referral", "person_id", _PEOPLE)))
    _add(dbapi, "sync_scope", "session", _OWN)
    _add(dbapi, "sync_scope", "session", _where_in("attendance", "person_id", _NOW, "session_id AS id"))
    _add(dbapi, "sync_scope", "session",
         _where_in("milestone_evidence", "achievement_id", achievements, "session_id AS id"))
    _add(dbapi, "sync_scope", "attendance", _where_in("attendance", "session_id", _OWN))
    _add(dbapi, "sync_scope", "attendance", _where_in("attendance", "person_id", _NOW))
    _add(dbapi, "sync_scope", "session_facilitator", _where_in("session_facilitator", "session_id", _OWN))
    _add(dbapi, "sync_scope", "initiative", "SELECT id FROM initiative WHERE establishment_id = :e", e)


def drop_scope(dbapi: Any) -> None:
    for name in _TEMP:
        dbapi.execute(f"DROP TABLE IF EXISTS temp.{name}")


# -- what a recipient was sent ------------------------------------------------------------------


def scope_memory(dbapi: Any) -> set[tuple[str, str]]:
    """What to remember of the scope :func:`build_scope` just built, as (kind, row id): its people
    (those at the establishment apart) and the records waiting at this installation (not in their
    tables yet, or held)."""
    memory = {(HERE, r[0]) for r in _rows(dbapi, f"{_NOW}")}
    memory |= {(PERSON, r[0]) for r in _rows(dbapi, f"{_PEOPLE} EXCEPT {_NOW}")}
    memory |= {(WAITING + t, r) for t, r in _rows(dbapi, "SELECT table_name, row_id FROM sync_waiting")}
    return memory


def remembered(dbapi: Any, recipient_id: str) -> set[tuple[str, str]]:
    """What :func:`remember` stored for ``recipient_id`` (empty: never sent, or sent before srcdesk
    remembered; every person's history and every register line elsewhere is then new to it, once)."""
    return set(_rows(dbapi, "SELECT kind, row_id FROM sync_sent_scope WHERE recipient_id = ?", (recipient_id,)))


def remember(dbapi: Any, recipient_id: str, before: set[tuple[str, str]], after: set[tuple[str, str]]) -> None:
    """Make ``recipient_id``'s memory ``after``, where it was ``before`` (as :func:`remembered`
    read it in the export's snapshot; the caller's transaction makes sure nobody changed it since)."""
    gone, added = before - after, after - before
    if gone:
        dbapi.executemany("DELETE FROM sync_sent_scope WHERE recipient_id = ? AND kind = ? AND row_id = ?",
                          [(recipient_id, k, r) for k, r in sorted(gone)])
    if added:
        dbapi.executemany("INSERT INTO sync_sent_scope (recipient_id, kind, row_id) VALUES (?, ?, ?)",
                          [(recipient_id, k, r) for k, r in sorted(added)])


def _rows(dbapi: Any, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
    cur = dbapi.execute(sql, tuple(params))
    try:
        return cur.fetchall()
    finally:
        cur.close()


# -- rows new to a recipient --------------------------------------------------------------------


def _anchor_written(table: str) -> str:
    """SQL: change ``c`` names one of ``table``'s anchors in its fields or its base."""
    return " OR ".join(f"json_type(c.{part}, '$.{col}') IS NOT NULL"
                       for col in ANCHORS[table] for part in ("fields", "base"))


_MOVED = " OR ".join(f"(c.table_name = '{t}' AND (c.op = 'delete' OR {_anchor_written(t)}))"
                     for t in sorted(ANCHORS) if ANCHORS[t])


def mark_fresh(dbapi: Any, establishment_id: str, recipient_id: str, *, watermark: int, top: int) -> int:
    """Mark ``fresh`` the rows of ``temp.sync_scope`` (built by :func:`build_scope`) that are new
    to ``recipient_id`` since it was sent the change log up to ``watermark``, from what it was
    sent (``sync_sent_scope``, read in the same snapshot). ``top`` is the top of the log the
    bundle covers. Returns how many rows are fresh."""
    p = {"e": establishment_id, "r": recipient_id, "wm": watermark, "top": top}
    sent = "SELECT row_id FROM main.sync_sent_scope WHERE recipient_id = :r AND kind "
    for name in ("sync_fresh", "sync_moved"):
        dbapi.execute(f"CREATE TEMP TABLE {name} (table_name TEXT, row_id TEXT, PRIMARY KEY (table_name, row_id)) "
                      "WITHOUT ROWID")
    # 1. A person new to the scope brings everything about them; a person new at the
    #    establishment brings their registers elsewhere.
    _temp(dbapi, "sync_new_person", f"{_PEOPLE} EXCEPT {sent} IN ('{HERE}', '{PERSON}')", p)
    _temp(dbapi, "sync_new_here", f"{_NOW} EXCEPT {sent} = '{HERE}'", p)
    new_people = "SELECT id FROM temp.sync_new_person"
    _add(dbapi, "sync_fresh", "person", new_people)
    for table in ("person_transfer", "milestone_achievement", "certificate", "referral", "liberation_record"):
        _add(dbapi, "sync_fresh", table, _where_in(table, "person_id", new_people))
    _add(dbapi, "sync_fresh", "milestone_evidence", _where_in(
        "milestone_evidence", "achievement_id", _where_in("milestone_achievement", "person_id", new_people)))
    _add(dbapi, "sync_fresh", "referral_stage", _where_in(
        "referral_stage", "referral_id", _where_in("referral", "person_id", new_people)))
    _add(dbapi, "sync_fresh", "attendance",
         f"SELECT id FROM attendance WHERE person_id IN (SELECT id FROM temp.sync_new_here) AND session_id NOT IN ({_OWN})")
    # 2. An anchor written since the watermark (or a creation: changes logged before it may have
    #    waited for it), what was waiting here when the last bundle was made, and their children.
    dbapi.execute(
        "INSERT OR IGNORE INTO temp.sync_moved SELECT c.table_name, c.row_id FROM change_log c "
        f"WHERE c.seq > :wm AND c.seq <= :top AND (c.op = 'insert' OR {_MOVED})", p)
    dbapi.execute(
        "INSERT OR IGNORE INTO temp.sync_moved SELECT substr(kind, :n), row_id FROM main.sync_sent_scope "
        "WHERE recipient_id = :r AND kind > 'waiting:' AND kind < 'waiting;'", {**p, "n": len(WAITING) + 1})
    dbapi.execute("INSERT OR IGNORE INTO temp.sync_fresh SELECT table_name, row_id FROM temp.sync_moved")
    for parent, child, column in CHILDREN:
        _add(dbapi, "sync_fresh", child, _where_in(
            child, column, f"SELECT row_id FROM temp.sync_moved WHERE table_name = '{parent}'"))
    # 3. Another establishment's session comes into the scope only through a register line or a
    #    milestone's evidence that is new to it (above): their sessions.
    for table in ("attendance", "milestone_evidence"):
        _add(dbapi, "sync_fresh", "session",
             f"SELECT x.session_id AS id FROM temp.sync_fresh f JOIN temp.sync_scope s USING (table_name, row_id) "
             f"JOIN {table} x ON x.id = f.row_id WHERE f.table_name = '{table}' AND x.session_id NOT IN ({_OWN})")
    # A record made on two PCs is folded from its own changes and those of the rows merged into
    # it: those go with it (and with them, the rows merged into them).
    for _ in range(10):
        before = dbapi.total_changes
        for table in sorted(NATURAL_KEYS):
            _add(dbapi, "sync_fresh", table, f"SELECT id FROM {table} WHERE merged_into IS NOT NULL AND merged_into IN "
                                             f"(SELECT row_id FROM temp.sync_fresh WHERE table_name = '{table}')")
        if dbapi.total_changes == before:
            break
    # Only rows in the scope, and only those with a change before the watermark that the
    # recipient did not make: the rest of their changes are new, and sent anyway.
    dbapi.execute(
        "UPDATE temp.sync_scope SET fresh = 1 WHERE (table_name, row_id) IN ("
        "SELECT f.table_name, f.row_id FROM temp.sync_fresh f WHERE EXISTS (SELECT 1 FROM change_log d "
        "WHERE d.table_name = f.table_name AND d.row_id = f.row_id AND d.seq <= :wm AND d.origin_id != :r))", p)
    return _rows(dbapi, "SELECT count(*) FROM temp.sync_scope WHERE fresh = 1")[0][0]
