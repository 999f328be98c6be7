"""What an establishment is entitled to: the rows the office sends it.

Its own people and sessions (with everyone on their registers and facilitating them), people
transferred in or out with their history (attendance, the sessions it was at, milestones and
their evidence, certificates, referrals), and the shared reference data (the estate,
programmes, attendance codes, the ladder, community organisations, the workplan, accounts'
names). Not other establishments' people.

The scope is built as a temporary table ``temp.sync_scope(table_name, row_id, fresh)`` on the
caller's connection; ``fresh`` marks the history of people transferred in since the last
bundle, whose every change is sent again (they are new to the establishment).
"""

from __future__ import annotations

from typing import Any

from ..models import SYNCABLE_TABLES

# Shared by every installation: every row goes everywhere.
SHARED_TABLES = (
    "activity_type", "app_user", "attendance_role", "attendance_status", "community_organisation", "establishment",
    "milestone_definition", "module", "organisation_link", "plan_focus", "plan_target", "plan_year", "programme",
    "recruit_cohort",
)

# (table, SELECT of row ids [, SELECT of fresh row ids]) for the per-person and per-establishment tables.
# :e is the establishment id; temp.sync_fresh holds the people transferred in since the last bundle.
_SCOPED = (
    ("person", "SELECT id FROM temp.sync_person", "SELECT id FROM temp.sync_fresh"),
    ("person_transfer", "SELECT id FROM person_transfer WHERE person_id IN (SELECT id FROM temp.sync_person)",
     "SELECT id FROM person_transfer WHERE person_id IN (SELECT id FROM temp.sync_fresh)"),
    ("session",
     "SELECT id FROM session WHERE establishment_id = :e "
     "UNION SELECT session_id FROM attendance WHERE person_id IN (SELECT id FROM temp.sync_person_now) "
     "UNION SELECT v.session_id FROM milestone_evidence v JOIN milestone_achievement a ON a.id = v.achievement_id "
     "WHERE a.person_id IN (SELECT id FROM temp.sync_person)",
     "SELECT session_id FROM attendance WHERE person_id IN (SELECT id FROM temp.sync_fresh) "
     "UNION SELECT v.session_id FROM milestone_evidence v JOIN milestone_achievement a ON a.id = v.achievement_id "
     "WHERE a.person_id IN (SELECT id FROM temp.sync_fresh)"),
    ("attendance",
     "SELECT a.id FROM attendance a JOIN session s ON s.id = a.session_id WHERE s.establishment_id = :e "
     "UNION SELECT id FROM attendance WHERE person_id IN (SELECT id FROM temp.sync_person_now)",
     "SELECT id FROM attendance WHERE person_id IN (SELECT id FROM temp.sync_fresh)"),
    ("session_facilitator",
     "SELECT f.id FROM session_facilitator f JOIN session s ON s.id = f.session_id WHERE s.establishment_id = :e",
     None),
    ("milestone_achievement",
     "SELECT id FROM milestone_achievement WHERE person_id IN (SELECT id FROM temp.sync_person)",
     "SELECT id FROM milestone_achievement WHERE person_id IN (SELECT id FROM temp.sync_fresh)"),
    ("milestone_evidence",
     "SELECT v.id FROM milestone_evidence v JOIN milestone_achievement a ON a.id = v.achievement_id "
     "WHERE a.person_id IN (SELECT id FROM temp.sync_person)",
     "SELECT v.id FROM milestone_evidence v JOIN milestone_achievement a ON a.id = v.achievement_id "
     "WHERE a.person_id IN (SELECT id FROM temp.sync_fresh)"),
    ("certificate", "SELECT id FROM certificate WHERE person_id IN (SELECT id FROM temp.sync_person)",
     "SELECT id FROM certificate WHERE person_id IN (SELECT id FROM temp.sync_fresh)"),
    ("referral", "SELECT id FROM referral WHERE person_id IN (SELECT id FROM temp.sync_person)",
     "SELECT id FROM referral WHERE person_id IN (SELECT id FROM temp.sync_fresh)"),
    ("referral_stage",
     "SELECT g.id FROM referral_stage g JOIN referral r ON r.id = g.referral_id "
     "WHERE r.person_id IN (SELECT id FROM temp.sync_person)",
     "SELECT g.id FROM referral_stage g JOIN referral r ON r.id = g.referral_id "
     "WHERE r.person_id IN (SELECT id FROM temp.sync_fresh)"),
    ("initiative", "SELECT id FROM initiative WHERE establishment_id = :e", None),
)

_covered = set(SHARED_TABLES) | {t for t, *_ in _SCOPED}
if _covered != SYNCABLE_TABLES:  # a new syncable table must say who may see it
    raise RuntimeError(f"sync scope does not cover: {sorted(SYNCABLE_TABLES ^ _covered)}")


def build_scope(dbapi: Any, establishment_id: str, *, fresh_since: int | None = None,
                recipient_id: str | None = None, top: int | None = None) -> None:
    """Fill ``temp.sync_scope`` with the rows ``establishment_id`` is entitled to.

    ``fresh_since``: change-log seq of the last bundle sent; people whose transfer *to* the
    establishment was logged after it (and not made by the recipient itself) are fresh.
    """
    drop_scope(dbapi)
    e = {"e": establishment_id}
    dbapi.execute("CREATE TEMP TABLE sync_person_now (id TEXT PRIMARY KEY) WITHOUT ROWID")
    dbapi.execute("INSERT INTO temp.sync_person_now SELECT id FROM person WHERE establishment_id = :e", e)
    dbapi.execute("CREATE TEMP TABLE sync_person (id TEXT PRIMARY KEY) WITHOUT ROWID")
    dbapi.execute(
        "INSERT INTO temp.sync_person SELECT id FROM temp.sync_person_now "
        "UNION SELECT person_id FROM person_transfer WHERE from_establishment_id = :e OR to_establishment_id = :e "
        "UNION SELECT f.person_id FROM session_facilitator f JOIN session s ON s.id = f.session_id "
        "WHERE s.establishment_id = :e "
        "UNION SELECT a.person_id FROM attendance a JOIN session s ON s.id = a.session_id WHERE s.establishment_id = :e "
        "UNION SELECT person_id FROM app_user WHERE person_id IS NOT NULL", e)
    dbapi.execute("CREATE TEMP TABLE sync_fresh (id TEXT PRIMARY KEY) WITHOUT ROWID")
    if fresh_since is not None:
        dbapi.execute(
            "INSERT OR IGNORE INTO temp.sync_fresh SELECT t.person_id FROM change_log c "
            "JOIN person_transfer t ON t.id = c.row_id WHERE c.table_name = 'person_transfer' AND c.seq > :since "
            "AND c.seq <= :top AND c.origin_id != :r AND t.to_establishment_id = :e "
            "AND t.person_id IN (SELECT id FROM temp.sync_person)",
            {**e, "since": fresh_since, "top": top if top is not None else 2**62, "r": recipient_id or ""})
    dbapi.execute(
        "CREATE TEMP TABLE sync_scope (table_name TEXT, row_id TEXT, fresh INTEGER, "
        "PRIMARY KEY (table_name, row_id)) WITHOUT ROWID")
    for table in SHARED_TABLES:
        dbapi.execute(f"INSERT INTO temp.sync_scope SELECT '{table}', id, 0 FROM {table}")
    for table, rows, fresh in _SCOPED:
        dbapi.execute(f"INSERT OR IGNORE INTO temp.sync_scope SELECT '{table}', *, 0 FROM ({rows})", e)
        if fresh is not None and fresh_since is not None:
            dbapi.execute(
                f"INSERT INTO temp.sync_scope SELECT '{table}', *, 1 FROM ({fresh}) WHERE true "
                "ON CONFLICT (table_name, row_id) DO UPDATE SET fresh = 1", e)


def drop_scope(dbapi: Any) -> None:
    for name in ("sync_scope", "sync_fresh", "sync_person", "sync_person_now"):
        dbapi.execute(f"DROP TABLE IF EXISTS temp.{name}")
