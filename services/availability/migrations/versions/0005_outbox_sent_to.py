"""outbox: the cluster id of the broker that acked each row, so that a broker that comes back empty gets every row again

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 00:00:00
"""

from collections.abc import Sequence

from shared.migrations import add_outbox_sent_to, drop_outbox_sent_to

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_outbox_sent_to()


def downgrade() -> None:
    drop_outbox_sent_to()
