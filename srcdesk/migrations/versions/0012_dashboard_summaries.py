"""dashboard summaries: counts by quarter and establishment, kept by triggers (local to this installation)

The tables, triggers and recount are described in :mod:`srcdesk.models.stats`. Only derived data:
no record changes, and they are made afresh here from the records.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 16:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from srcdesk.models.stats import TRIGGERS, create_triggers, rebuild

revision: str = '0012'
down_revision: Union[str, Sequence[str], None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'stat_attendance',
        sa.Column('quarter', sa.String(length=10), nullable=False),
        sa.Column('establishment_id', sa.String(length=36), nullable=False),
        sa.Column('person_id', sa.String(length=36), nullable=False),
        sa.Column('attended', sa.Integer(), nullable=False),
        sa.Column('first_date', sa.Date(), nullable=False),
        sa.Column('last_date', sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint('quarter', 'establishment_id', 'person_id', name=op.f('pk_stat_attendance')),
        sqlite_with_rowid=False,
    )
    op.create_index('ix_stat_attendance_person', 'stat_attendance', ['person_id', 'first_date'])
    op.create_table(
        'stat_count',
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('quarter', sa.String(length=10), nullable=False),
        sa.Column('establishment_id', sa.String(length=36), nullable=False),
        sa.Column('key', sa.String(length=36), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('kind', 'quarter', 'establishment_id', 'key', name=op.f('pk_stat_count')),
        sqlite_with_rowid=False,
    )
    op.create_table(
        'stat_achievement',
        sa.Column('achievement_id', sa.String(length=36), nullable=False),
        sa.Column('quarter', sa.String(length=10), nullable=False),
        sa.Column('establishment_id', sa.String(length=36), nullable=False),
        sa.Column('achieved_on', sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint('achievement_id', name=op.f('pk_stat_achievement')),
        sqlite_with_rowid=False,
    )
    op.create_index('ix_stat_achievement_quarter', 'stat_achievement', ['quarter'])
    op.create_index('ix_stat_achievement_day', 'stat_achievement', ['achieved_on', 'achievement_id'])
    op.create_index('ix_stat_achievement_establishment', 'stat_achievement',
                    ['establishment_id', 'achieved_on', 'achievement_id'])
    op.create_table(
        'stat_dirty',
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('quarter', sa.String(length=10), nullable=False),
        sa.Column('establishment_id', sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint('kind', 'quarter', 'establishment_id', name=op.f('pk_stat_dirty')),
        sqlite_with_rowid=False,
    )
    op.create_index('ix_milestone_achievement_achieved_on', 'milestone_achievement', ['achieved_on'])
    raw = op.get_bind().connection.driver_connection
    create_triggers(raw)
    rebuild(raw)


def downgrade() -> None:
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index('ix_stat_attendance_person', table_name='stat_attendance')
    op.drop_index('ix_milestone_achievement_achieved_on', table_name='milestone_achievement')
    for name in ('ix_stat_achievement_quarter', 'ix_stat_achievement_day', 'ix_stat_achievement_establishment'):
        op.drop_index(name, table_name='stat_achievement')
    for table in ('stat_dirty', 'stat_achievement', 'stat_count', 'stat_attendance'):
        op.drop_table(table)
