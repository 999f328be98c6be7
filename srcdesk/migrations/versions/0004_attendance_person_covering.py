"""attendance person index covers status, role and deletion; reference-data usage indexes

The ladder reads every counted attendance of the people at an establishment (about 90,000
rows at decade scale) and a person's page reads their history. With status, role and the
tombstone in the index, neither visits the attendance rows themselves: the first count of an
establishment's ladder at decade scale went from 1.8–4.2 s to well under a second.

Indexes on ``milestone_achievement.definition_id`` and ``certificate.programme_id`` /
``module_id`` let the Programmes page say whether a level, programme or module is in use
(retire, don't delete) without scanning those tables.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 18:50:00

"""
from typing import Sequence, Union

from alembic import op


revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


USAGE_INDEXES = (
    ("milestone_achievement", "definition_id"),
    ("certificate", "programme_id"),
    ("certificate", "module_id"),
)


def upgrade() -> None:
    with op.batch_alter_table("attendance") as batch:
        batch.drop_index("ix_attendance_person")
        batch.create_index("ix_attendance_person",
                           ["person_id", "session_id", "status_id", "role_id", "deleted_hlc"])
    for table, column in USAGE_INDEXES:
        op.create_index(f"ix_{table}_{column}", table, [column])


def downgrade() -> None:
    for table, column in USAGE_INDEXES:
        op.drop_index(f"ix_{table}_{column}", table_name=table)
    with op.batch_alter_table("attendance") as batch:
        batch.drop_index("ix_attendance_person")
        batch.create_index("ix_attendance_person", ["person_id", "session_id"])
