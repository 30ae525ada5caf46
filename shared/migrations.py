"""Alembic glue: each service's migrations/env.py calls run_env(); services call upgrade() at start."""

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from shared import messaging  # noqa: F401  (registers the outbox and inbox tables)
from shared.db import UTCDateTime, create_engine


def alembic_config(*, script_location: Path, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


async def upgrade(*, script_location: Path, database_url: str) -> None:
    """Bring the database to the newest migration (runs Alembic in a worker thread)."""
    config = alembic_config(script_location=script_location, database_url=database_url)
    await asyncio.to_thread(command.upgrade, config, "head")


MESSAGING_TABLES = frozenset({"outbox", "inbox"})


def create_messaging_tables() -> None:
    """The outbox and inbox every service has; called from each service's first migration."""
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=200), nullable=False),
        sa.Column("applied_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=200), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
    )
    op.create_index("ix_outbox_sent_at", "outbox", ["sent_at"])


def index_inbox_applied_at() -> None:
    """The index the purge of old inbox rows goes by (shared.retention); every service's inbox has it."""
    op.create_index("ix_inbox_applied_at", "inbox", ["applied_at"])


def drop_index_inbox_applied_at() -> None:
    op.drop_index("ix_inbox_applied_at", table_name="inbox")


def add_outbox_sent_to() -> None:
    """The cluster id of the broker that acked each outbox row (shared.kafka.OutboxRelay); every outbox has it."""
    with op.batch_alter_table("outbox") as batch:  # batch: SQLite alters a table by copying it
        batch.add_column(sa.Column("sent_to", sa.String(length=64), nullable=True))


def drop_outbox_sent_to() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("sent_to")


def drop_messaging_tables() -> None:
    op.drop_index("ix_outbox_sent_at", table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("inbox")


def include_only(tables: frozenset[str]) -> Callable[..., bool]:
    """An Alembic include_object filter: one service's tables out of the shared SQLModel metadata."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        table = obj if type_ == "table" else getattr(obj, "table", None)
        table_name = name if type_ == "table" else getattr(table, "name", None)
        return table_name in tables

    return include


def run_env(tables: frozenset[str]) -> None:
    """Body of every service's migrations/env.py (online mode over the async engine)."""
    url = context.config.get_main_option("sqlalchemy.url")
    options: dict[str, Any] = {
        "target_metadata": SQLModel.metadata,
        "include_object": include_only(tables | MESSAGING_TABLES),
        "render_as_batch": True,
        "compare_type": True,
    }
    if context.is_offline_mode():
        context.configure(url=url, literal_binds=True, **options)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_online(url or "", options))


async def _run_online(url: str, options: dict[str, Any]) -> None:
    engine = create_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(_run_migrations, options)
    await engine.dispose()


# Replicas starting together migrate one at a time: the first upgrades, the others find it done.
MIGRATION_LOCK_KEY = 2026_11_30_0002


def _run_migrations(connection: Connection, options: dict[str, Any]) -> None:
    context.configure(connection=connection, **options)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        context.run_migrations()
