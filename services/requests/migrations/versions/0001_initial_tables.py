"""initial tables

Revision ID: 0001
Revises:
Create Date: 2026-11-26 04:58:27.154937
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
        "idempotency_key",
        sa.Column("caller", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("body_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("caller", "key"),
    )
    op.create_table(
        "request",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("requesting_force", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("requesting_region", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("operation", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("priority", sa.Enum("P1", "P2", "P3", name="priority", native_enum=False, length=32), nullable=False),
        sa.Column("location_lat", sa.Float(), nullable=False),
        sa.Column("location_lon", sa.Float(), nullable=False),
        sa.Column("location_description", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("required_by", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("needs", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "SUBMITTED",
                "MATCHING",
                "PROPOSED",
                "APPROVED",
                "MOBILISED",
                "REJECTED",
                "UNFILLED",
                name="requeststatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("submitted_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_request_requesting_force"), ["requesting_force"], unique=False)
        batch_op.create_index(batch_op.f("ix_request_status"), ["status"], unique=False)

    op.create_table(
        "request_timeline",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "SUBMITTED",
                "MATCHING",
                "PROPOSED",
                "APPROVED",
                "MOBILISED",
                "REJECTED",
                "UNFILLED",
                name="requeststatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("event_type", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["request.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("request_timeline", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_request_timeline_request_id"), ["request_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("request_timeline", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_timeline_request_id"))

    op.drop_table("request_timeline")
    with op.batch_alter_table("request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_status"))
        batch_op.drop_index(batch_op.f("ix_request_requesting_force"))

    op.drop_table("request")
    drop_messaging_tables()
    op.drop_table("idempotency_key")
