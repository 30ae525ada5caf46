"""unit windows and lending scope, force reserves

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 05:33:19.515869
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import shared.db


revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tasking_policy",
        sa.Column("force", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("reserve", sa.JSON(), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("force"),
    )
    with op.batch_alter_table("tasking_unit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("windows", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(
            sa.Column(
                "scope",
                sa.Enum("FORCE", "REGION", "NATIONAL", name="lendingscope", native_enum=False, length=32),
                nullable=False,
                server_default="NATIONAL",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("tasking_unit", schema=None) as batch_op:
        batch_op.drop_column("scope")
        batch_op.drop_column("windows")
    op.drop_table("tasking_policy")
