"""the read model keeps each unit's declared status and its bookings

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 20:30:00

A unit read as COMMITTED before bookings existed was declared AVAILABLE; its booking arrives with
the next event about it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ("AVAILABLE", "COMMITTED", "UNAVAILABLE", "WITHDRAWN")


def upgrade() -> None:
    with op.batch_alter_table("tasking_unit", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "declared",
                sa.Enum(*STATUSES, name="unitstatus", native_enum=False, length=32),
                nullable=False,
                server_default="AVAILABLE",
            )
        )
        batch_op.add_column(sa.Column("bookings", sa.JSON(), nullable=False, server_default="[]"))
    unit = sa.table("tasking_unit", sa.column("status"), sa.column("declared"))
    op.get_bind().execute(sa.update(unit).where(unit.c.status != "COMMITTED").values(declared=unit.c.status))


def downgrade() -> None:
    with op.batch_alter_table("tasking_unit", schema=None) as batch_op:
        batch_op.drop_column("bookings")
        batch_op.drop_column("declared")
