"""request: an incident reference, an external reference unique per requesting force, a contact and a cost
recovery category, for integrators (issue 13); all optional, so earlier requests stay as they are

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("request", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("incident_reference", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True)
        )
        batch_op.add_column(
            sa.Column("external_reference", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True)
        )
        batch_op.add_column(sa.Column("contact", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "cost_recovery",
                sa.Enum("SPONTANEOUS", "PLANNED", "SPECIALIST", name="costrecovery", native_enum=False, length=32),
                nullable=True,
            )
        )
        batch_op.create_unique_constraint("uq_request_external_reference", ["requesting_force", "external_reference"])


def downgrade() -> None:
    with op.batch_alter_table("request", schema=None) as batch_op:
        batch_op.drop_constraint("uq_request_external_reference", type_="unique")
        batch_op.drop_column("cost_recovery")
        batch_op.drop_column("contact")
        batch_op.drop_column("external_reference")
        batch_op.drop_column("incident_reference")
