"""export record: who exported what, when (local to this installation)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 15:30:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'export_record',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('exported_at', sa.DateTime(), nullable=False),
        sa.Column('user_id', sa.String(length=36), nullable=True),
        sa.Column('user_name', sa.String(length=120), nullable=False),
        sa.Column('what', sa.String(length=40), nullable=False),
        sa.Column('personal', sa.Boolean(), nullable=False),
        sa.Column('file_format', sa.String(length=8), nullable=False),
        sa.Column('filters', sa.Text(), nullable=False),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.Column('file_name', sa.String(length=260), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_export_record')),
    )
    op.create_index(op.f('ix_export_record_exported_at'), 'export_record', ['exported_at'])


def downgrade() -> None:
    op.drop_index(op.f('ix_export_record_exported_at'), table_name='export_record')
    op.drop_table('export_record')
