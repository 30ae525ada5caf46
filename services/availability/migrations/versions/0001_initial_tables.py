"""initial tables

Revision ID: 0001
Revises:
Create Date: 2026-11-26 04:58:28.393079
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import shared.db
from shared.migrations import create_messaging_tables, drop_messaging_tables


revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_messaging_tables()
    op.create_table(
        "unit",
        sa.Column("unit_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("force", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("region", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column(
            "capability",
            sa.Enum("PSU", "CTSFO", "AFO", "CBRN_T1", "CBRN_T2", name="capability", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("base_lat", sa.Float(), nullable=False),
        sa.Column("base_lon", sa.Float(), nullable=False),
        sa.Column("base_description", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("readiness_minutes", sa.Integer(), nullable=False),
        sa.Column("available_from", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("available_until", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "AVAILABLE", "COMMITTED", "UNAVAILABLE", "WITHDRAWN", name="unitstatus", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("committed_to", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("unit_id"),
    )
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_unit_capability"), ["capability"], unique=False)
        batch_op.create_index(batch_op.f("ix_unit_force"), ["force"], unique=False)
        batch_op.create_index(batch_op.f("ix_unit_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unit_status"))
        batch_op.drop_index(batch_op.f("ix_unit_force"))
        batch_op.drop_index(batch_op.f("ix_unit_capability"))

    op.drop_table("unit")
    drop_messaging_tables()
