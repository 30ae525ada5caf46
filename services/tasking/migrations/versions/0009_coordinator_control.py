"""coordinator control: units an approval leaves out, and the lending forces' answers

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("proposal", schema=None) as batch_op:
        batch_op.add_column(sa.Column("passed_over", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("donor_responses", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("proposal", schema=None) as batch_op:
        batch_op.drop_column("donor_responses")
        batch_op.drop_column("passed_over")
