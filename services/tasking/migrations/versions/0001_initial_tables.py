"""initial tables

Revision ID: 0001
Revises:
Create Date: 2026-11-26 04:58:29.605316
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
        "proposal",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "PENDING", "APPROVED", "REJECTED", "SUPERSEDED", name="proposalstatus", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("allocations", sa.JSON(), nullable=False),
        sa.Column("unfilled", sa.JSON(), nullable=False),
        sa.Column("planner", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("decided_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=False),
        sa.Column("superseded_by", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("proposal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_proposal_request_id"), ["request_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_proposal_status"), ["status"], unique=False)

    op.create_table(
        "tasking_request",
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("requesting_force", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("requesting_region", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("priority", sa.Enum("P1", "P2", "P3", name="priority", native_enum=False, length=32), nullable=False),
        sa.Column("location_lat", sa.Float(), nullable=False),
        sa.Column("location_lon", sa.Float(), nullable=False),
        sa.Column("required_by", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("needs", sa.JSON(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "OPEN",
                "PROPOSED",
                "APPROVED",
                "MOBILISED",
                "REJECTED",
                "UNFILLED",
                name="requeststate",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("received_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("request_id"),
    )
    op.create_table(
        "tasking_unit",
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
        sa.PrimaryKeyConstraint("unit_id"),
    )
    with op.batch_alter_table("tasking_unit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tasking_unit_capability"), ["capability"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasking_unit_force"), ["force"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tasking_unit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tasking_unit_force"))
        batch_op.drop_index(batch_op.f("ix_tasking_unit_capability"))

    op.drop_table("tasking_unit")
    op.drop_table("tasking_request")
    with op.batch_alter_table("proposal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proposal_status"))
        batch_op.drop_index(batch_op.f("ix_proposal_request_id"))

    op.drop_table("proposal")
    drop_messaging_tables()
