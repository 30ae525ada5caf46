"""retention: the index the purge of old inbox rows goes by

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 00:00:00
"""

from collections.abc import Sequence

from shared.migrations import drop_index_inbox_applied_at, index_inbox_applied_at


revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    index_inbox_applied_at()


def downgrade() -> None:
    drop_index_inbox_applied_at()
