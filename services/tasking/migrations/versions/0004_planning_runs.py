"""planning runs and request bookkeeping

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 05:50:09.835551
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import shared.db


revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "planning_run",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("priority", sa.Enum("P1", "P2", "P3", name="priority", native_enum=False, length=32), nullable=False),
        sa.Column("tier", sa.Enum("REGIONAL", "NATIONAL", name="tier", native_enum=False, length=32), nullable=False),
        sa.Column("planner", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("rule_set", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("proposal", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "tier",
                sa.Enum("REGIONAL", "NATIONAL", name="tier", native_enum=False, length=32),
                nullable=False,
                server_default="REGIONAL",
            )
        )
        batch_op.add_column(sa.Column("planning_run_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True))
        batch_op.create_index(batch_op.f("ix_proposal_planning_run_id"), ["planning_run_id"], unique=False)

    with op.batch_alter_table("tasking_request", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("correlation_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("committed", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("excluded_units", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("supersedes", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("tasking_request", schema=None) as batch_op:
        batch_op.drop_column("supersedes")
        batch_op.drop_column("excluded_units")
        batch_op.drop_column("committed")
        batch_op.drop_column("correlation_id")

    with op.batch_alter_table("proposal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proposal_planning_run_id"))
        batch_op.drop_column("planning_run_id")
        batch_op.drop_column("tier")

    op.drop_table("planning_run")
