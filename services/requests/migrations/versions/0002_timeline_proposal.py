"""the proposal each timeline entry is about

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 06:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("request_timeline", schema=None) as batch_op:
        batch_op.add_column(sa.Column("proposal_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))

    # Entries recorded before name no proposal.


def downgrade() -> None:
    with op.batch_alter_table("request_timeline", schema=None) as batch_op:
        batch_op.drop_column("proposal_id")
