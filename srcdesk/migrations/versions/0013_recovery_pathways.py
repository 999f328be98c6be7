"""recovery pathways: initiatives mapped (who runs them, meeting pattern, review due, sessions that
belong to one), community organisations' offer, the Early Release to Residential Rehabilitation
Protocol's stages and follow-up, and the liberation record

Stages and statuses recorded before this revision are renamed to the protocol's words:
referred -> identified, approved -> release approved, placement confirmed -> placement offered,
released -> admitted, handed over -> completed; an initiative "active" is "running"; a referral's
``handover_on`` is its ``closed_on``. The change log's copies of those values are renamed alike, so
what the log says a row holds stays what it holds (``srcdesk check``), and bundles made from the log
carry only values this srcdesk knows. (Bundles from an older srcdesk are read the same way:
:data:`srcdesk.sync.bundle.LEGACY`.) A referral's status is not worked out again from its stages:
that would be a change no log records.

The dashboard summaries' triggers are dropped while the session table is copied and made again.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 18:30:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from srcdesk.models.stats import TRIGGERS, create_triggers


revision: str = '0013'
down_revision: Union[str, Sequence[str], None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

STAGES = (("referred", "identified"), ("approved", "release_approved"),
          ("placement_confirmed", "placement_offered"), ("released", "admitted"), ("handed_over", "completed"))


def _drop_triggers() -> None:
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")


def upgrade() -> None:
    with op.batch_alter_table('initiative', schema=None) as batch_op:
        batch_op.add_column(sa.Column('run_by', sa.String(length=16), nullable=False, server_default='sps'))
        batch_op.add_column(sa.Column('meeting_pattern', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('ended_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('notes', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('review_due_on', sa.Date(), nullable=True))
    with op.batch_alter_table('initiative', schema=None) as batch_op:
        batch_op.alter_column('run_by', server_default=None)
    op.execute("UPDATE initiative SET status = 'running' WHERE status = 'active'")
    op.execute("UPDATE change_log SET fields = json_set(fields, '$.status', 'running') "
               "WHERE table_name = 'initiative' AND json_extract(fields, '$.status') = 'active'")

    # Copying the session table (foreign keys off: srcdesk.db._migrate) would trip on the dashboard
    # summaries' triggers that name it: they are dropped first and made again after (no record
    # changes, so the summaries stay true).
    _drop_triggers()
    with op.batch_alter_table('session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('initiative_id', sa.String(length=36), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_session_initiative_id_initiative'), 'initiative',
                                    ['initiative_id'], ['id'], deferrable=True, initially='DEFERRED')
        batch_op.create_index(batch_op.f('ix_session_initiative_id'), ['initiative_id'], unique=False)
    create_triggers(op.get_bind().connection.driver_connection)

    with op.batch_alter_table('community_organisation', schema=None) as batch_op:
        batch_op.alter_column('kind', existing_type=sa.String(length=12), type_=sa.String(length=20),
                              existing_nullable=False)
        batch_op.add_column(sa.Column('offers', sa.Text(), nullable=True))

    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.alter_column('status', existing_type=sa.String(length=12), type_=sa.String(length=16),
                              existing_nullable=False)
        batch_op.add_column(sa.Column('closed_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('close_reason', sa.Text(), nullable=True))
    op.execute("UPDATE referral SET closed_on = handover_on")
    op.execute("UPDATE change_log SET fields = json_remove(json_set(fields, '$.closed_on', "
               "json_extract(fields, '$.handover_on')), '$.handover_on') "
               "WHERE table_name = 'referral' AND json_type(fields, '$.handover_on') IS NOT NULL")
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.drop_column('handover_on')
    for old, new in STAGES:
        op.execute(f"UPDATE referral_stage SET stage = '{new}' WHERE stage = '{old}'")
        op.execute(f"UPDATE change_log SET fields = json_set(fields, '$.stage', '{new}') "
                   f"WHERE table_name = 'referral_stage' AND json_extract(fields, '$.stage') = '{old}'")

    with op.batch_alter_table('referral_stage', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recorded_by', sa.String(length=36), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_referral_stage_recorded_by_app_user'), 'app_user',
                                    ['recorded_by'], ['id'], deferrable=True, initially='DEFERRED')
    op.execute("UPDATE referral_stage SET recorded_by = created_by "
               "WHERE created_by IN (SELECT id FROM app_user)")

    op.create_table(
        'liberation_record',
        sa.Column('person_id', sa.String(length=36), nullable=False),
        sa.Column('establishment_id', sa.String(length=36), nullable=True),
        sa.Column('made_on', sa.Date(), nullable=False),
        sa.Column('made_by', sa.String(length=36), nullable=True),
        sa.Column('area', sa.String(length=120), nullable=True),
        sa.Column('consent_on', sa.Date(), nullable=False),
        sa.Column('own_words', sa.Text(), nullable=True),
        sa.Column('content', sa.Text(), nullable=False),
        sa.Column('printed_count', sa.Integer(), nullable=False),
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('origin_id', sa.String(length=36), nullable=False),
        sa.Column('created_hlc', sa.BigInteger(), nullable=False),
        sa.Column('created_by', sa.String(length=36), nullable=True),
        sa.Column('updated_hlc', sa.BigInteger(), nullable=False),
        sa.Column('updated_by', sa.String(length=36), nullable=True),
        sa.Column('deleted_hlc', sa.BigInteger(), nullable=True),
        sa.Column('deleted_by', sa.String(length=36), nullable=True),
        sa.Column('deleted_reason', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['establishment_id'], ['establishment.id'],
                                name=op.f('fk_liberation_record_establishment_id_establishment'),
                                initially='DEFERRED', deferrable=True),
        sa.ForeignKeyConstraint(['made_by'], ['app_user.id'], name=op.f('fk_liberation_record_made_by_app_user'),
                                initially='DEFERRED', deferrable=True),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_liberation_record_person_id_person'),
                                initially='DEFERRED', deferrable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_liberation_record')),
    )
    op.create_index(op.f('ix_liberation_record_person_id'), 'liberation_record', ['person_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_liberation_record_person_id'), table_name='liberation_record')
    op.drop_table('liberation_record')
    with op.batch_alter_table('referral_stage', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_referral_stage_recorded_by_app_user'), type_='foreignkey')
        batch_op.drop_column('recorded_by')
    for old, new in STAGES:
        op.execute(f"UPDATE referral_stage SET stage = '{old}' WHERE stage = '{new}'")
        op.execute(f"UPDATE change_log SET fields = json_set(fields, '$.stage', '{old}') "
                   f"WHERE table_name = 'referral_stage' AND json_extract(fields, '$.stage') = '{new}'")
    op.execute("DELETE FROM referral_stage WHERE stage NOT IN ('referred', 'assessed', 'approved', "
               "'placement_confirmed', 'released', 'handed_over')")
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.add_column(sa.Column('handover_on', sa.Date(), nullable=True))
    op.execute("UPDATE referral SET handover_on = closed_on WHERE status = 'completed'")
    op.execute("UPDATE change_log SET fields = json_remove(json_set(fields, '$.handover_on', "
               "json_extract(fields, '$.closed_on')), '$.closed_on', '$.close_reason') "
               "WHERE table_name = 'referral' AND json_type(fields, '$.closed_on') IS NOT NULL")
    op.execute("UPDATE referral SET status = 'open' WHERE status = 'in_placement'")
    op.execute("UPDATE referral SET status = 'withdrawn' WHERE status IN ('declined', 'left_placement')")
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.drop_column('close_reason')
        batch_op.drop_column('closed_on')
        batch_op.alter_column('status', existing_type=sa.String(length=16), type_=sa.String(length=12),
                              existing_nullable=False)
    with op.batch_alter_table('community_organisation', schema=None) as batch_op:
        batch_op.drop_column('offers')
        batch_op.alter_column('kind', existing_type=sa.String(length=20), type_=sa.String(length=12),
                              existing_nullable=False)
    _drop_triggers()
    with op.batch_alter_table('session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_initiative_id'))
        batch_op.drop_constraint(batch_op.f('fk_session_initiative_id_initiative'), type_='foreignkey')
        batch_op.drop_column('initiative_id')
    create_triggers(op.get_bind().connection.driver_connection)
    op.execute("UPDATE initiative SET status = 'active' WHERE status = 'running'")
    op.execute("UPDATE change_log SET fields = json_set(fields, '$.status', 'active') "
               "WHERE table_name = 'initiative' AND json_extract(fields, '$.status') = 'running'")
    with op.batch_alter_table('initiative', schema=None) as batch_op:
        batch_op.drop_column('review_due_on')
        batch_op.drop_column('notes')
        batch_op.drop_column('ended_on')
        batch_op.drop_column('meeting_pattern')
        batch_op.drop_column('run_by')
