"""retention: the indexes the purge goes by, and when a planning run's inputs were purged

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db
from shared.migrations import drop_index_inbox_applied_at, index_inbox_applied_at


revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    index_inbox_applied_at()
    with op.batch_alter_table("planning_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("inputs_purged_at", shared.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_planning_run_inputs_purged_at_created_at", ["inputs_purged_at", "created_at"])


def downgrade() -> None:
    with op.batch_alter_table("planning_run", schema=None) as batch_op:
        batch_op.drop_index("ix_planning_run_inputs_purged_at_created_at")
        batch_op.drop_column("inputs_purged_at")
    drop_index_inbox_applied_at()
