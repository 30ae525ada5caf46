"""The service-layer tier: the three services' real composition roots, handlers and databases, no broker.

Each service is built by its own bootstrap (create_app) on a migrated database, without starting
its lifespan, so no relay, consumer or planning loop runs. Events travel when a test says so:
`deliver()` takes each service's unsent outbox rows in order, marks them sent and hands each event
to the handler every subscribed service registered for its type, as the relay and consumers would.
HTTP goes through the real routes (httpx over ASGI). Decision logic is tested in milliseconds, and a
test decides exactly what has happened when.
"""

import contextlib
import importlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import Table, delete, update
from sqlmodel import SQLModel, col, select

from mutualaid.services import SERVICES, bootstrap, create_app, settings_for
from services.tasking.audit import GENESIS
from services.tasking.deps import TaskingDeps
from services.tasking.planning import run_planning
from shared import migrations
from shared.cloudevents import CloudEvent, EventData, parse
from shared.kafka import Handler
from shared.messaging import OutboxMessage, utcnow
from shared.service import ServiceRuntime
from tests.support.infra import fresh_postgres_database, migrated_template


@dataclass
class Node:
    """One service: its app, runtime and an HTTP client on its routes."""

    name: str
    app: FastAPI
    client: httpx.AsyncClient

    @property
    def runtime(self) -> ServiceRuntime:
        runtime: ServiceRuntime = self.app.state.runtime
        return runtime

    def handler(self, topic: str, event_type: str) -> Handler | None:
        for consumer in self.runtime.consumers:
            if topic in consumer.topics and event_type in consumer.handlers:
                return consumer.handlers[event_type]
        return None


@dataclass
class Harness:
    nodes: dict[str, Node]
    delivered: list[tuple[CloudEvent, EventData]]

    @property
    def tasking(self) -> TaskingDeps:
        deps: TaskingDeps = self.nodes["tasking"].app.state.deps
        return deps

    def client(self, service: str) -> httpx.AsyncClient:
        return self.nodes[service].client

    async def plan(self) -> int:
        """One planning run of tasking, as its scheduler would start it."""
        return await run_planning(self.tasking)

    async def deliver(self) -> int:
        """Deliver every event waiting in any outbox, and what those cause, until none is left; returns how many
        some service handled (audit checkpoints, which no service consumes, do not count)."""
        count = 0
        while batch := await self._take_outboxes():
            for event, data in batch:
                handlers = [node.handler(data.topic, event.type) for node in self.nodes.values()]
                for handler in filter(None, handlers):
                    await handler(event, data)
                self.delivered.append((event, data))
                count += any(handlers)
        return count

    async def _take_outboxes(self) -> list[tuple[CloudEvent, EventData]]:
        taken: list[tuple[CloudEvent, EventData]] = []
        for node in self.nodes.values():
            async with node.runtime.sessions() as session:
                query = (
                    select(OutboxMessage).where(col(OutboxMessage.sent_at).is_(None)).order_by(col(OutboxMessage.id))
                )
                rows = list((await session.exec(query)).all())
                if not rows:
                    continue
                await session.exec(
                    update(OutboxMessage)
                    .where(col(OutboxMessage.id).in_([r.id for r in rows]))
                    .values(sent_at=utcnow())
                )
                await session.commit()
            for row in rows:
                event, data = parse(row.payload.encode())
                assert data is not None, f"{node.name} published an event of unknown type {event.type}"
                taken.append((event, data))
        return taken

    async def empty(self) -> None:
        """Delete every row of every service (tables stay migrated) but the audit head, which starts the
        trail again: a fresh start for the next example."""
        for node in self.nodes.values():
            async with node.runtime.engine.begin() as connection:
                for table in reversed(own_tables(node.name)):
                    if table.name == "audit_head":
                        await connection.execute(update(table).values(seq=0, hash=GENESIS))
                    else:
                        await connection.execute(delete(table))
        self.delivered.clear()


@contextlib.asynccontextmanager
async def database_urls(kind: str, tmp_path: Path, postgres_server: str | None) -> AsyncIterator[dict[str, str]]:
    """An empty database of the kind for each service, migrated to the newest revision."""
    async with contextlib.AsyncExitStack() as stack:
        urls: dict[str, str] = {}
        for service in SERVICES:
            migrate = partial(migrations.upgrade, script_location=bootstrap(service).MIGRATIONS)
            if kind == "sqlite":
                urls[service] = f"sqlite+aiosqlite:///{tmp_path / service}.db"
                await migrate(database_url=urls[service])
            else:
                assert postgres_server is not None
                template = await migrated_template(postgres_server, service, migrate)
                fresh = fresh_postgres_database(postgres_server, template=template)
                urls[service] = await stack.enter_async_context(fresh)
        yield urls


@contextlib.asynccontextmanager
async def harness(urls: dict[str, str], **tasking: Any) -> AsyncIterator[Harness]:
    """The three services on the given databases; tasking settings (planner, ...) as keyword overrides."""
    nodes: dict[str, Node] = {}
    async with contextlib.AsyncExitStack() as stack:
        for service in SERVICES:
            overrides = tasking if service == "tasking" else {}
            app = create_app(service, settings_for(service, database_url=urls[service], **overrides))
            stack.push_async_callback(app.state.runtime.engine.dispose)
            transport = httpx.ASGITransport(app=app)
            client = await stack.enter_async_context(httpx.AsyncClient(transport=transport, base_url="http://test"))
            nodes[service] = Node(name=service, app=app, client=client)
        yield Harness(nodes=nodes, delivered=[])


def own_tables(service: str) -> list[Table]:
    """The service's tables (its own, outbox and inbox), each after the tables it refers to."""
    own = importlib.import_module(f"services.{service}.models").OWN_TABLES | migrations.MESSAGING_TABLES
    return [table for table in SQLModel.metadata.sorted_tables if table.name in own]
