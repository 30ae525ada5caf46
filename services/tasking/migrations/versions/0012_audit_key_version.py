"""audit key version: the audit trail is sealed with a keyed hash; entries written before are checked and sealed again

Each entry records the version of the key that sealed it (TASKING_AUDIT_KEYS). The entries already there
were chained by plain SHA-256: their chain is checked first (the upgrade stops, naming the entry, if it
does not hold, so that a trail changed before the upgrade is never laundered by it), then each is sealed
again under the current key and the head moves to the new last hash.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db
from services.tasking.audit import GENESIS, entry_hash, seal
from services.tasking.config import TaskingSettings

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BODY = ("seq", "at", "action", "request_id", "proposal_id", "actor", "role", "detail")
entries = sa.table(
    "audit_entry",
    sa.column("seq", sa.Integer()),
    sa.column("at", shared.db.UTCDateTime()),
    sa.column("action", sa.String()),
    sa.column("request_id", sa.String()),
    sa.column("proposal_id", sa.String()),
    sa.column("actor", sa.String()),
    sa.column("role", sa.String()),
    sa.column("detail", sa.JSON()),
    sa.column("previous_hash", sa.String()),
    sa.column("hash", sa.String()),
    sa.column("key_version", sa.Integer()),
)
head = sa.table("audit_head", sa.column("id", sa.Integer()), sa.column("hash", sa.String()))


def upgrade() -> None:
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_version", sa.Integer(), nullable=False, server_default="0"))
    connection = op.get_bind()
    keyring = TaskingSettings().audit_keyring()
    old, new = GENESIS, GENESIS
    for row in connection.execute(sa.select(entries).order_by(entries.c.seq)).mappings():
        body = {name: row[name] for name in BODY}
        if row["previous_hash"] != old or entry_hash(old, body, None) != row["hash"]:
            raise RuntimeError(
                f"audit entry {row['seq']} does not verify: the trail was changed before this upgrade; "
                "keep a copy of the database and investigate before upgrading"
            )
        old = row["hash"]
        version, sealed = seal(keyring, new, body)
        connection.execute(
            sa.update(entries)
            .where(entries.c.seq == row["seq"])
            .values(previous_hash=new, hash=sealed, key_version=version)
        )
        new = sealed
    connection.execute(sa.update(head).where(head.c.id == 1).values(hash=new))


def downgrade() -> None:
    # The keyed hashes stay: a downgraded service verifies them as plain SHA-256 and reports the trail broken.
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_column("key_version")
