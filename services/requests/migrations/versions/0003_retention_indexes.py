"""retention: indexes the purge of old inbox rows and idempotency keys goes by

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 00:00:00
"""

from collections.abc import Sequence

from alembic import op

from shared.migrations import drop_index_inbox_applied_at, index_inbox_applied_at


revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    index_inbox_applied_at()
    op.create_index("ix_idempotency_key_created_at", "idempotency_key", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_key_created_at", table_name="idempotency_key")
    drop_index_inbox_applied_at()
