"""Each service's Alembic migrations build exactly the tables its models declare, on both databases."""

import importlib

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from mutualaid.services import SERVICES, bootstrap
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
