"""Each service's Alembic migrations build exactly the tables its models declare, on both databases."""

import asyncio
import importlib
import json
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from mutualaid.audit import verify_database
from mutualaid.services import SERVICES, bootstrap
from services.tasking import audit_store
from services.tasking.audit import GENESIS, Verdict, entry_hash
from services.tasking.config import TaskingSettings
from shared import db, migrations


@pytest.mark.parametrize("service", SERVICES)
async def test_migrations_match_the_models(service: str, database_url: str) -> None:
    module = bootstrap(service)
    await migrations.upgrade(script_location=module.MIGRATIONS, database_url=database_url)
    tables = importlib.import_module(f"services.{service}.models").OWN_TABLES
    include = migrations.include_only(tables | migrations.MESSAGING_TABLES)

    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(
            connection, opts={"include_object": include, "compare_type": True, "target_metadata": SQLModel.metadata}
        )
        return list(compare_metadata(context, SQLModel.metadata))

    engine = db.create_engine(database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(differences) == []
    finally:
        await engine.dispose()


async def unkeyed_trail(database_url: str, length: int, *, changed: int | None = None) -> None:
    """The tasking database at migration 0011 with a trail of `length` entries chained by plain SHA-256, as
    tasking wrote them before keys; entry `changed` altered afterwards."""
    config = migrations.alembic_config(script_location=bootstrap("tasking").MIGRATIONS, database_url=database_url)
    await asyncio.to_thread(command.upgrade, config, "0011")
    table = sa.table("audit_entry", *(sa.column(name) for name in (*audit_store.BODY_FIELDS, "previous_hash", "hash")))
    rows, previous = [], GENESIS
    for seq in range(1, length + 1):
        body = {
            "seq": seq, "at": datetime(2026, 11, 1, 9, seq, tzinfo=UTC), "action": "refused", "request_id": None,
            "proposal_id": None, "actor": "operator-1", "role": "operator", "detail": {"path": f"/v1/x/{seq}"},
        }  # fmt: skip
        digest = entry_hash(previous, body, None)
        rows.append({**body, "detail": json.dumps(body["detail"]), "previous_hash": previous, "hash": digest})
        previous = digest
    if changed is not None:
        rows[changed - 1]["actor"] = "someone-else"
    engine = db.create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(table.insert().values(rows))
            await connection.execute(
                sa.text("UPDATE audit_head SET seq = :seq, hash = :hash"), {"seq": length, "hash": previous}
            )
    finally:
        await engine.dispose()


async def test_the_upgrade_seals_an_unkeyed_trail_under_the_audit_key(database_url: str) -> None:
    await unkeyed_trail(database_url, 5)
    await migrations.upgrade(script_location=bootstrap("tasking").MIGRATIONS, database_url=database_url)
    assert await verify_database(database_url) == Verdict(True, 5)
    engine = db.create_engine(database_url)
    try:
        async with engine.connect() as connection:
            versions = (await connection.execute(sa.text("SELECT DISTINCT key_version FROM audit_entry"))).all()
    finally:
        await engine.dispose()
    assert versions == [(TaskingSettings().audit_keyring().current,)]


async def test_the_upgrade_refuses_a_trail_changed_before_it(database_url: str) -> None:
    await unkeyed_trail(database_url, 5, changed=3)
    with pytest.raises(RuntimeError, match="audit entry 3 does not verify"):
        await migrations.upgrade(script_location=bootstrap("tasking").MIGRATIONS, database_url=database_url)
