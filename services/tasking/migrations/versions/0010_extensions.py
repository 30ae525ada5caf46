"""extensions: the ends a request had before each extension (its later tours start there)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tasking_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("extended_from", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("tasking_request", schema=None) as batch_op:
        batch_op.drop_column("extended_from")
