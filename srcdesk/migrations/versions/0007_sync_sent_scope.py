"""sync: what the office remembers of each establishment PC's scope

- ``sync_sent_scope``: per establishment PC, what the office remembers of the scope it was last sent
  (the people in it, which of them were at the establishment, and the records waiting at the
  office), so a row that enters its scope later is sent with its whole history. Empty after the
  upgrade: the next bundle for each PC resends, once, the history of every person in its scope
  and their register lines elsewhere.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 10:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'sync_sent_scope',
        sa.Column('recipient_id', sa.String(length=36), nullable=False),
        sa.Column('kind', sa.String(length=48), nullable=False),
        sa.Column('row_id', sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint('recipient_id', 'kind', 'row_id', name=op.f('pk_sync_sent_scope')),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table('sync_sent_scope')
