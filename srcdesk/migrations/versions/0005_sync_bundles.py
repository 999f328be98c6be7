"""sync: keys and trust on installation, bundle records, conflict queue, change bases

- ``installation`` gains the public identity of each known installation (minisign key line, age
  recipient, the office's recovery recipient, fingerprint), enrolment and revocation, and the
  change-log watermark of what it has been sent.
- ``change_log.base``: the versions a change overwrote, so the merge tells a sequential edit from
  a concurrent one.
- ``bundle_record``: bundles written and imported (seq per origin and recipient: gaps, replays).
- ``sync_conflict``: concurrent values that lost the merge, waiting for a person.
- ``sync_waiting``: records whose references have not arrived yet (bundles imported out of order).
- ``app_user``: usernames are unique per installation (accounts from other installations travel
  in bundles but sign in only where they were made).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 20:10:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


INSTALLATION_COLUMNS = (
    ('signing_key', sa.String(length=80)),
    ('age_recipient', sa.String(length=100)),
    ('recovery_recipient', sa.String(length=100)),
    ('fingerprint', sa.String(length=100)),
    ('enrolled_at', sa.DateTime()),
    ('enrolled_by', sa.String(length=36)),
    ('revoked_at', sa.DateTime()),
    ('revoked_after_seq', sa.Integer()),
    ('revoked_reason', sa.Text()),
    ('revoked_by', sa.String(length=36)),
)


REFERENCE_INDEXES = (
    ('milestone_evidence', 'session_id'),
    ('certificate', 'achievement_id'),
    ('certificate', 'supersedes_id'),
    ('milestone_achievement', 'superseded_by_id'),
    ('app_user', 'person_id'),
    ('session', 'recruit_cohort_id'),
    ('referral', 'organisation_id'),
)


def upgrade() -> None:
    with op.batch_alter_table('installation') as batch:
        for name, type_ in INSTALLATION_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
        batch.add_column(sa.Column('sent_watermark', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('change_log', sa.Column('base', sa.Text(), nullable=True))
    op.create_table(
        'bundle_record',
        sa.Column('bundle_id', sa.String(length=36), nullable=False),
        sa.Column('direction', sa.String(length=8), nullable=False),
        sa.Column('origin_id', sa.String(length=36), nullable=False),
        sa.Column('recipient_id', sa.String(length=36), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('recorded_at', sa.DateTime(), nullable=False),
        sa.Column('file_name', sa.String(length=200), nullable=False),
        sa.Column('full', sa.Boolean(), nullable=False),
        sa.Column('schema', sa.String(length=20), nullable=False),
        sa.Column('changes', sa.Integer(), nullable=False),
        sa.Column('watermark', sa.Integer(), nullable=True),
        sa.Column('counts', sa.Text(), nullable=False),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('user_id', sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint('bundle_id', name=op.f('pk_bundle_record')),
        sa.UniqueConstraint('origin_id', 'recipient_id', 'seq', name=op.f('uq_bundle_record_origin_id_recipient_id_seq')),
    )
    op.create_table(
        'sync_conflict',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('table_name', sa.String(length=40), nullable=False),
        sa.Column('row_id', sa.String(length=36), nullable=False),
        sa.Column('field', sa.String(length=60), nullable=False),
        sa.Column('winner_hlc', sa.BigInteger(), nullable=False),
        sa.Column('winner_origin', sa.String(length=36), nullable=False),
        sa.Column('winner_user', sa.String(length=36), nullable=True),
        sa.Column('winner_value', sa.Text(), nullable=False),
        sa.Column('loser_hlc', sa.BigInteger(), nullable=False),
        sa.Column('loser_origin', sa.String(length=36), nullable=False),
        sa.Column('loser_user', sa.String(length=36), nullable=True),
        sa.Column('loser_value', sa.Text(), nullable=False),
        sa.Column('detected_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_conflict')),
        sa.UniqueConstraint('table_name', 'row_id', 'field', 'loser_hlc', 'loser_origin',
                            name=op.f('uq_sync_conflict_table_name_row_id_field_loser_hlc_loser_origin')),
    )
    op.create_index('ix_sync_conflict_detected', 'sync_conflict', ['detected_at'])
    op.create_table(
        'sync_waiting',
        sa.Column('table_name', sa.String(length=40), nullable=False),
        sa.Column('row_id', sa.String(length=36), nullable=False),
        sa.Column('since', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('table_name', 'row_id', name=op.f('pk_sync_waiting')),
    )
    # A merge inserts a bundle's rows in any order with foreign keys checked at commit; while a
    # reference is pending, SQLite looks up children by these columns on every parent insert.
    for table, column in REFERENCE_INDEXES:
        op.create_index(f'ix_{table}_{column}', table, [column])
    # Recreated by batch mode: srcdesk.db runs migrations with foreign keys off and checks them
    # all before committing, as SQLite's ALTER TABLE procedure asks.
    with op.batch_alter_table('app_user') as batch:
        batch.drop_constraint('uq_app_user_username', type_='unique')
        batch.create_unique_constraint('uq_app_user_origin_id_username', ['origin_id', 'username'])


def downgrade() -> None:
    with op.batch_alter_table('app_user') as batch:
        batch.drop_constraint('uq_app_user_origin_id_username', type_='unique')
        batch.create_unique_constraint('uq_app_user_username', ['username'])
    for table, column in REFERENCE_INDEXES:
        op.drop_index(f'ix_{table}_{column}', table_name=table)
    op.drop_table('sync_waiting')
    op.drop_index('ix_sync_conflict_detected', table_name='sync_conflict')
    op.drop_table('sync_conflict')
    op.drop_table('bundle_record')
    op.drop_column('change_log', 'base')
    with op.batch_alter_table('installation') as batch:
        batch.drop_column('sent_watermark')
        for name, _type in reversed(INSTALLATION_COLUMNS):
            batch.drop_column(name)
