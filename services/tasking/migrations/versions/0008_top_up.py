"""open requests stay open: a short request is planned again when capacity appears

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 22:00:00

Requests left UNFILLED by earlier versions are marked short, so the next capacity tops them up.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tasking_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("short", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("top_up", sa.Boolean(), nullable=False, server_default=sa.false()))
    request = sa.table("tasking_request", sa.column("state"), sa.column("short"))
    op.get_bind().execute(sa.update(request).where(request.c.state == "UNFILLED").values(short=True))


def downgrade() -> None:
    with op.batch_alter_table("tasking_request", schema=None) as batch_op:
        batch_op.drop_column("top_up")
        batch_op.drop_column("short")
