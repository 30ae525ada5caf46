"""bookings: a unit is lent for an interval, and may hold several that do not overlap

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 20:00:00

A unit COMMITTED before this migration becomes AVAILABLE with a booking for its request, from
the migration for 8 weeks (the longest mutual aid lasts): the period it was committed for was
not recorded. Its stand-down releases it as before.
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import sqlmodel
from alembic import op

import shared.db


revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    booking = op.create_table(
        "booking",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("proposal_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("host_force", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("start", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_booking_unit_id"), "booking", ["unit_id"], unique=False)
    op.create_index(op.f("ix_booking_request_id"), "booking", ["request_id"], unique=False)
    op.create_index(op.f("ix_booking_host_force"), "booking", ["host_force"], unique=False)
    unit = sa.table("unit", sa.column("unit_id"), sa.column("status"), sa.column("committed_to"))
    connection = op.get_bind()
    now = datetime.now(UTC)
    committed = connection.execute(sa.select(unit.c.unit_id, unit.c.committed_to).where(unit.c.status == "COMMITTED"))
    rows = [
        {"unit_id": unit_id, "request_id": request_id or "", "proposal_id": "", "host_force": "",
         "start": now, "end": now + timedelta(weeks=8), "created_at": now}
        for unit_id, request_id in committed
    ]  # fmt: skip
    if rows:
        op.bulk_insert(booking, rows)
    connection.execute(sa.update(unit).where(unit.c.status == "COMMITTED").values(status="AVAILABLE"))
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.drop_column("committed_to")


def downgrade() -> None:
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("committed_to", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True))
    op.drop_index(op.f("ix_booking_host_force"), table_name="booking")
    op.drop_index(op.f("ix_booking_request_id"), table_name="booking")
    op.drop_index(op.f("ix_booking_unit_id"), table_name="booking")
    op.drop_table("booking")
