"""certificate verify: the issuers' keys and the certificates' statuses the office sends every PC

- ``certificate_issuer``: the public signing key of every installation the office has enrolled
  (id, role, establishment, name, key, when enrolled and revoked), so that any PC checks a
  certificate issued anywhere. Local, never synced, and apart from ``installation``: knowing a key
  to check certificates with never makes a PC trust that key's bundles.
- ``certificate_status``: every certificate the office knows was revoked or superseded (serial,
  key id, dates, who, why, the superseding serial; no name or person), so a PC that does not hold
  the certificate still says so.

Both start empty; the office's next bundle fills them.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 12:40:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'certificate_issuer',
        sa.Column('installation_id', sa.String(length=36), nullable=False),
        sa.Column('key_id', sa.String(length=16), nullable=False),
        sa.Column('role', sa.String(length=14), nullable=False),
        sa.Column('establishment_code', sa.String(length=8), nullable=True),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('signing_key', sa.String(length=80), nullable=False),
        sa.Column('enrolled_at', sa.DateTime(), nullable=True),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('installation_id', name=op.f('pk_certificate_issuer')),
    )
    op.create_index(op.f('ix_certificate_issuer_key_id'), 'certificate_issuer', ['key_id'])
    op.create_table(
        'certificate_status',
        sa.Column('serial', sa.String(length=40), nullable=False),
        sa.Column('key_id', sa.String(length=16), nullable=False),
        sa.Column('issued_on', sa.Date(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('status_on', sa.Date(), nullable=True),
        sa.Column('by_name', sa.String(length=120), nullable=True),
        sa.Column('by_role', sa.String(length=20), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('superseded_by', sa.String(length=40), nullable=True),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('serial', 'key_id', name=op.f('pk_certificate_status')),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table('certificate_status')
    op.drop_index(op.f('ix_certificate_issuer_key_id'), table_name='certificate_issuer')
    op.drop_table('certificate_issuer')
