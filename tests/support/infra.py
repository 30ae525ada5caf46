"""Where the tests get a Kafka-protocol broker and PostgreSQL from.

Order, for each: the environment variable if set (and it must answer: no silent fallback),
then Testcontainers where a Docker engine answers, then the embedded broker / the local server.
"""

import asyncio
import atexit
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import asyncpg
from sqlalchemy.engine import make_url

from shared.broker import EmbeddedBroker

LOCAL_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:  # no engine, no socket, no client: all mean "not here"
        return False


def _answers(host_port: str) -> bool:
    host, _, port = host_port.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=3):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def kafka_bootstrap_servers() -> Iterator[str]:
    given = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if given:
        first = given.split(",")[0]
        if not _answers(first):
            raise RuntimeError(f"KAFKA_BOOTSTRAP_SERVERS={given} is set but {first} does not answer")
        yield given
    elif docker_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer() as kafka:
            yield kafka.get_bootstrap_server()
    else:
        with EmbeddedBroker() as broker:
            yield broker.bootstrap_servers


@contextlib.contextmanager
def postgres_server_url() -> Iterator[str]:
    """A URL (asyncpg driver) of a server on which the tests may create and drop databases."""
    given = os.environ.get("DATABASE_URL")
    if given:
        yield str(make_url(given).set(drivername="postgresql+asyncpg"))
    elif docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver="asyncpg") as postgres:
            yield postgres.get_connection_url()
    else:
        yield LOCAL_POSTGRES


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextlib.asynccontextmanager
async def fresh_postgres_database(server_url: str, *, template: str | None = None) -> AsyncIterator[str]:
    """A new database on the server for one test, empty or a copy of a template database; dropped afterwards."""
    name = f"mutualaid_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_asyncpg_dsn(server_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    finally:
        await admin.close()
    try:
        yield str(make_url(server_url).set(database=name))
    finally:
        admin = await asyncpg.connect(_asyncpg_dsn(server_url))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


_templates: dict[tuple[str, str], str] = {}  # (server, service) -> this process's migrated template database


async def migrated_template(server_url: str, service: str, migrate: Callable[..., Awaitable[None]]) -> str:
    """A database of this test process migrated once by `migrate(database_url=...)`, for copies (CREATE DATABASE
    ... TEMPLATE):
    copying a migrated database takes milliseconds where migrating a new one takes seconds. Dropped at exit."""
    key = (server_url, service)
    if key not in _templates:
        name = f"mutualaid_template_{service}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        admin = await asyncpg.connect(_asyncpg_dsn(server_url))
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        await migrate(database_url=str(make_url(server_url).set(database=name)))
        _templates[key] = name
        atexit.register(_drop_template, server_url, name)
    return _templates[key]


def _drop_template(server_url: str, name: str) -> None:
    async def drop() -> None:
        admin = await asyncpg.connect(_asyncpg_dsn(server_url))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()

    with contextlib.suppress(Exception):  # the server may be gone at exit: nothing else to do
        asyncio.run(drop())
