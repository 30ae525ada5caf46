"""Where the tests get a Kafka-protocol broker and PostgreSQL from.

Order, for each: the environment variable if set (and it must answer: no silent fallback),
then Testcontainers where a Docker engine answers, then the embedded broker / the local server.
"""

import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator

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
async def fresh_postgres_database(server_url: str) -> AsyncIterator[str]:
    """A new, empty database on the server for one test; dropped afterwards."""
    name = f"mutualaid_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_asyncpg_dsn(server_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
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
