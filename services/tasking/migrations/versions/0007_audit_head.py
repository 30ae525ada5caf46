"""the audit trail's head row: appends queue on it instead of colliding on the next sequence number

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64


def upgrade() -> None:
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    entry = sa.table("audit_entry", sa.column("seq"), sa.column("hash"))
    newest = op.get_bind().execute(sa.select(entry.c.seq, entry.c.hash).order_by(entry.c.seq.desc()).limit(1)).first()
    op.bulk_insert(head, [{"id": 1, "seq": newest[0] if newest else 0, "hash": newest[1] if newest else GENESIS}])


def downgrade() -> None:
    op.drop_table("audit_head")
