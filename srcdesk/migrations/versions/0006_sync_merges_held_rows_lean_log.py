"""sync under real use: natural keys merge, held rows, a change log without a copy of every row

- Tables with a natural key (a register line per person and session, a programme per code, …)
  gain ``merged_into``: the same key made on two PCs is one record, and the other row stays as a
  tombstone naming it. The key is unique among rows not merged into another (a partial unique
  index instead of a UNIQUE constraint; the tables are copied to change it, with foreign keys
  off, as srcdesk.db runs every migration).
- ``certificate.serial`` is no longer unique: serials are now minted with the installation in
  them, and serials minted before could repeat across two PCs of one establishment.
- ``sync_waiting`` says why a record waits (``reason``) and which bundle brought it.
- ``change_log.fields`` (and ``user_id``) may be NULL: an insert whose values (and user) are still
  the row's own. Existing
  inserts of rows never changed since are stored that way now (checked value by value), so the
  log no longer holds a second copy of every row. The index by origin goes (nothing reads the
  log that way).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 23:00:00

"""
import json
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


# table -> (the unique constraint it had, the natural key)
NATURAL_KEYS = {
    'activity_type': ('uq_activity_type_code', ('code',)),
    'attendance': ('uq_attendance_session_id_person_id', ('session_id', 'person_id')),
    'attendance_role': ('uq_attendance_role_code', ('code',)),
    'attendance_status': ('uq_attendance_status_code', ('code',)),
    'establishment': ('uq_establishment_code', ('code',)),
    'milestone_definition': ('uq_milestone_definition_code', ('code',)),
    'milestone_evidence': ('uq_milestone_evidence_achievement_id_session_id', ('achievement_id', 'session_id')),
    'module': ('uq_module_programme_id_code', ('programme_id', 'code')),
    'organisation_link': ('uq_organisation_link_organisation_id_establishment_id',
                          ('organisation_id', 'establishment_id')),
    'plan_focus': ('uq_plan_focus_plan_year_id_establishment_id', ('plan_year_id', 'establishment_id')),
    'plan_year': ('uq_plan_year_code', ('code',)),
    'programme': ('uq_programme_code', ('code',)),
    'referral_stage': ('uq_referral_stage_referral_id_stage', ('referral_id', 'stage')),
    'session_facilitator': ('uq_session_facilitator_session_id_person_id', ('session_id', 'person_id')),
}

# Keys that start with a reference: that column gets a plain index too (see models.base.natural_key).
REFERENCE_FIRST = {'attendance', 'milestone_evidence', 'organisation_link', 'plan_focus', 'referral_stage',
                   'session_facilitator'}

SYNCABLE = (
    'activity_type', 'app_user', 'attendance', 'attendance_role', 'attendance_status', 'certificate',
    'community_organisation', 'establishment', 'initiative', 'milestone_achievement', 'milestone_definition',
    'milestone_evidence', 'module', 'organisation_link', 'person', 'person_transfer', 'plan_focus', 'plan_target',
    'plan_year', 'programme', 'recruit_cohort', 'referral', 'referral_stage', 'session', 'session_facilitator',
)
META = {'id', 'origin_id', 'created_hlc', 'created_by', 'updated_hlc', 'updated_by', 'password_hash'}


def upgrade() -> None:
    for table, (constraint, key) in NATURAL_KEYS.items():
        with op.batch_alter_table(table, recreate='always') as batch:
            batch.add_column(sa.Column('merged_into', sa.String(length=36), nullable=True))
            batch.drop_constraint(constraint, type_='unique')
        op.create_index(constraint, table, list(key), unique=True, sqlite_where=sa.text('merged_into IS NULL'))
        op.create_index(f'ix_{table}_merged_into', table, ['merged_into'],
                        sqlite_where=sa.text('merged_into IS NOT NULL'))
        if table in REFERENCE_FIRST:  # a partial index can't find a parent's children (foreign keys)
            op.create_index(f'ix_{table}_{key[0]}', table, [key[0]])
    with op.batch_alter_table('certificate', recreate='always') as batch:
        batch.drop_constraint('uq_certificate_serial', type_='unique')
    op.create_index('ix_certificate_serial', 'certificate', ['serial'])
    op.add_column('sync_waiting', sa.Column('reason', sa.Text(), nullable=True))
    op.add_column('sync_waiting', sa.Column('bundle_id', sa.String(length=36), nullable=True))
    op.drop_index('ix_change_log_origin', table_name='change_log')
    with op.batch_alter_table('change_log', recreate='always') as batch:
        batch.alter_column('fields', existing_type=sa.Text(), nullable=True)
    _lean_log(op.get_bind().connection.driver_connection)


def _lean_log(db) -> None:  # noqa: ANN001
    """Store without their values the inserts of rows never changed since (values compared)."""
    for table in SYNCABLE:
        columns = [(r[1], (r[2] or '').upper()) for r in db.execute(f'PRAGMA table_info({table})')]
        content = [name for name, _type in columns if name not in META]
        booleans = {name for name, type_ in columns if type_ == 'BOOLEAN'}
        rows = db.execute(
            f"SELECT c.seq, c.fields, {', '.join('r.' + c for c in content)} FROM change_log c "
            f"JOIN {table} r ON r.id = c.row_id AND r.created_hlc = c.hlc AND r.updated_hlc = c.hlc "
            "AND r.origin_id = c.origin_id AND r.created_by IS c.user_id "
            "WHERE c.table_name = ? AND c.op = 'insert' AND c.fields IS NOT NULL AND NOT EXISTS ("
            "SELECT 1 FROM change_log d WHERE d.table_name = c.table_name AND d.row_id = c.row_id AND d.seq <> c.seq)",
            (table,))
        same = []
        while True:
            batch = rows.fetchmany(5000)
            if not batch:
                break
            for seq, fields, *values in batch:
                row = {name: (bool(v) if name in booleans and v is not None else v)
                       for name, v in zip(content, values, strict=True)}
                logged = json.loads(fields)
                if 'merged_into' in row:
                    logged.setdefault('merged_into', None)  # a column new in this revision
                if logged == row:
                    same.append((seq,))
        rows.close()
        db.executemany('UPDATE change_log SET fields = NULL, user_id = NULL WHERE seq = ?', same)


def downgrade() -> None:
    db = op.get_bind().connection.driver_connection
    for table in SYNCABLE:  # every insert with its values again
        columns = [(r[1], (r[2] or '').upper()) for r in db.execute(f'PRAGMA table_info({table})')]
        content = [name for name, _type in columns if name not in META and name != 'merged_into']
        booleans = {name for name, type_ in columns if type_ == 'BOOLEAN'}
        rows = db.execute(
            f"SELECT c.seq, r.created_by, {', '.join('r.' + c for c in content)} FROM change_log c "
            f"JOIN {table} r ON r.id = c.row_id "
            "WHERE c.table_name = ? AND c.op = 'insert' AND c.fields IS NULL", (table,)).fetchall()
        db.executemany('UPDATE change_log SET fields = ?, user_id = ? WHERE seq = ?', [
            (json.dumps({n: (bool(v) if n in booleans and v is not None else v) for n, v in zip(content, values, strict=True)},
                        sort_keys=True, separators=(',', ':'), ensure_ascii=False), maker, seq)
            for seq, maker, *values in rows])
    with op.batch_alter_table('change_log', recreate='always') as batch:
        batch.alter_column('fields', existing_type=sa.Text(), nullable=False)
    op.create_index('ix_change_log_origin', 'change_log', ['origin_id', 'hlc'])
    op.drop_column('sync_waiting', 'bundle_id')
    op.drop_column('sync_waiting', 'reason')
    op.drop_index('ix_certificate_serial', table_name='certificate')
    with op.batch_alter_table('certificate', recreate='always') as batch:
        batch.create_unique_constraint('uq_certificate_serial', ['serial'])
    for table, (constraint, key) in NATURAL_KEYS.items():
        if table in REFERENCE_FIRST:
            op.drop_index(f'ix_{table}_{key[0]}', table_name=table)
        op.drop_index(f'ix_{table}_merged_into', table_name=table)
        op.drop_index(constraint, table_name=table)
        with op.batch_alter_table(table, recreate='always') as batch:
            batch.drop_column('merged_into')
            batch.create_unique_constraint(constraint, list(key))
