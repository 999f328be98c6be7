"""certificates: frozen content, signed codes, completion rules, the certificate design

- ``certificate``: ``establishment_id`` (who issued it; none at the office), ``award_code`` (the
  programme's, module's or level's code), ``content`` (the printed content, frozen at issue, as
  canonical JSON), ``code`` (the signed text of its QR code), ``batch_id`` (certificates issued
  together), ``status_changed_on``/``status_changed_by`` (when and by whom it was revoked or
  superseded). Certificates issued before keep them empty and print from their columns.
- ``programme.completion_rule``, ``module.completion_rule``: JSON rules of completion.
- ``certificate_design``: logos, signatories and footer, kept at the office and sent to every PC.

Only columns are added to ``programme``/``module``/``certificate`` (no table is copied), so no
child row is touched.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 12:30:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # ADD COLUMN keeps every row in place (batch mode would copy the parent tables).
    op.add_column('programme', sa.Column('completion_rule', sa.Text(), nullable=True))
    op.add_column('module', sa.Column('completion_rule', sa.Text(), nullable=True))
    op.add_column('certificate', sa.Column('establishment_id', sa.String(length=36), nullable=True))
    op.add_column('certificate', sa.Column('award_code', sa.String(length=30), nullable=True))
    op.add_column('certificate', sa.Column('content', sa.Text(), nullable=True))
    op.add_column('certificate', sa.Column('code', sa.String(length=400), nullable=True))
    op.add_column('certificate', sa.Column('batch_id', sa.String(length=36), nullable=True))
    op.add_column('certificate', sa.Column('status_changed_on', sa.Date(), nullable=True))
    op.add_column('certificate', sa.Column('status_changed_by', sa.String(length=36), nullable=True))
    op.create_index(op.f('ix_certificate_batch_id'), 'certificate', ['batch_id'])
    op.create_table('certificate_design',
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('merged_into', sa.String(length=36), nullable=True),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('origin_id', sa.String(length=36), nullable=False),
    sa.Column('created_hlc', sa.BigInteger(), nullable=False),
    sa.Column('created_by', sa.String(length=36), nullable=True),
    sa.Column('updated_hlc', sa.BigInteger(), nullable=False),
    sa.Column('updated_by', sa.String(length=36), nullable=True),
    sa.Column('deleted_hlc', sa.BigInteger(), nullable=True),
    sa.Column('deleted_by', sa.String(length=36), nullable=True),
    sa.Column('deleted_reason', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_design')),
    )
    op.create_index('uq_certificate_design_key', 'certificate_design', ['key'], unique=True,
                    sqlite_where=sa.text('merged_into IS NULL'), postgresql_where=sa.text('merged_into IS NULL'))
    op.create_index('ix_certificate_design_merged_into', 'certificate_design', ['merged_into'],
                    sqlite_where=sa.text('merged_into IS NOT NULL'), postgresql_where=sa.text('merged_into IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_certificate_design_merged_into', table_name='certificate_design')
    op.drop_index('uq_certificate_design_key', table_name='certificate_design')
    op.drop_table('certificate_design')
    op.drop_index(op.f('ix_certificate_batch_id'), table_name='certificate')
    with op.batch_alter_table('certificate') as batch_op:
        for column in ('status_changed_by', 'status_changed_on', 'batch_id', 'code', 'content', 'award_code',
                       'establishment_id'):
            batch_op.drop_column(column)
    with op.batch_alter_table('module') as batch_op:
        batch_op.drop_column('completion_rule')
    with op.batch_alter_table('programme') as batch_op:
        batch_op.drop_column('completion_rule')
