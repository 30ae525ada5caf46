"""The runtime every service composes in its bootstrap: database, outbox relay, consumers, lifespan."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Depends, FastAPI, Request
from sqlalchemy.exc import SQLAlchemyError

from shared import db, migrations
from shared.auth import TokenVerifier
from shared.edge import install_edge, route_guards
from shared.events import TOPICS, dead_letter_topic
from shared.forces import forces
from shared.kafka import BatchHandler, BrokerReplaced, EventConsumer, Handler, OutboxRelay, ensure_topics
from shared.messaging import UnitOfWork
from shared.refusals import recorder
from shared.retention import Purger, Retention, inbox_retention, outbox_retention
from shared.settings import ServiceSettings
from shared.web import (
    RefusalHook,
    document_problems,
    install_observability,
    install_operational_routes,
    install_problem_handlers,
)

log = logging.getLogger(__name__)

READINESS_TIMEOUT_S = 1.5


class ServiceRuntime:
    """Owns one service's engine, relay and consumers, started and stopped by the app's lifespan."""

    def __init__(self, settings: ServiceSettings, *, migrations_dir: Path) -> None:
        self.settings = settings
        self.name = settings.service_name
        self._migrations_dir = migrations_dir
        self.engine = db.create_engine(settings.database_url)
        self.sessions = db.session_factory(self.engine)
        self.relay = OutboxRelay(service=self.name, sessions=self.sessions, settings=settings)
        self.purger = Purger(
            service=self.name,
            sessions=self.sessions,
            interval_s=settings.purge_interval_s,
            batch_size=settings.purge_batch_size,
            pause_s=settings.purge_pause_ms / 1000,
        )
        self.retain(outbox_retention(timedelta(hours=settings.outbox_retention_hours)))
        self.retain(inbox_retention(timedelta(hours=settings.inbox_retention_hours)))
        self.consumers: list[EventConsumer] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._kafka: asyncio.Task[None] | None = None
        self._background: dict[str, Callable[[], Coroutine[Any, Any, None]]] = {}

    def uow(self) -> UnitOfWork:
        """A new unit of work whose commit wakes the outbox relay."""
        return UnitOfWork(self.sessions, on_commit=self.relay.wake)

    def consume(
        self,
        *,
        topics: list[str],
        handlers: dict[str, Handler],
        group: str | None = None,
        batch_handlers: dict[str, BatchHandler] | None = None,
    ) -> None:
        """Register a consumer group for topics; each event type has one handler, and may have a batch handler
        for a run of them (shared.kafka.EventConsumer)."""
        self.consumers.append(
            EventConsumer(
                service=self.name,
                group_id=group or f"mutualaid.{self.name}",
                topics=topics,
                handlers=handlers,
                settings=self.settings,
                batch_handlers=batch_handlers,
            )
        )

    def retain(self, retention: Retention) -> None:
        """Purge these rows once past their time (the purge loop runs with the service)."""
        self.purger.retentions.append(retention)

    def background(self, name: str, run: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """A service-specific loop started with the service and cancelled when it stops."""
        self._background[name] = run

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: FastAPI) -> AsyncIterator[None]:
        forces()  # load and check the reference data before taking traffic
        await migrations.upgrade(script_location=self._migrations_dir, database_url=self.settings.database_url)
        self._kafka = asyncio.create_task(self._run_kafka(), name=f"{self.name}-kafka")
        self._tasks = [self._kafka, asyncio.create_task(self.purger.run(), name=f"{self.name}-purge")]
        self._tasks += [
            asyncio.create_task(run(), name=f"{self.name}-{name}") for name, run in self._background.items()
        ]
        try:
            yield
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self.relay.stop()
            for consumer in self.consumers:
                await consumer.stop()
            await self.engine.dispose()

    async def _run_kafka(self) -> None:
        """Set up topics, then run the relay and consumers; HTTP keeps working while the broker is away.

        When another broker answers (a memory broker restarted empty), topics and consumers are set up
        afresh: the old consumers' positions and pending commits belong to topics that no longer exist.
        Any other failure of the relay or a consumer is logged and they start again (readiness is false meanwhile).
        """
        replaced = False
        while True:
            await self._start_consumers(from_beginning=replaced)
            try:
                async with asyncio.TaskGroup() as group:
                    group.create_task(self.relay.run())
                    for consumer in self.consumers:
                        group.create_task(consumer.run())
            except* BrokerReplaced as group:
                log.warning("%s: %s; setting up topics and consumers again", self.name, group.exceptions[0])
                replaced = True
            except* Exception as group:
                # A bug or an error nobody foresaw must not leave the service up without a relay or consumers.
                log.error("%s: the relay or a consumer stopped; starting them again", self.name, exc_info=group)
                await asyncio.sleep(1)
            for consumer in self.consumers:
                await consumer.stop()

    async def _start_consumers(self, *, from_beginning: bool) -> None:
        backoff = 0.2
        while True:
            try:
                cluster = await ensure_topics(self.settings, [*TOPICS, *map(dead_letter_topic, TOPICS)])
                for consumer in self.consumers:
                    await consumer.start(from_beginning=from_beginning)
                # The relay may reach the broker later than the consumers (it backs off up to 5 s): if another
                # broker answers it by then, the consumers' positions are gone with the first (BrokerReplaced).
                self.relay.expect_cluster(cluster)
                return
            except (KafkaError, OSError) as error:
                log.warning("%s cannot reach Kafka yet (%s); retrying in %.1fs", self.name, error, backoff)
                for consumer in self.consumers:
                    await consumer.stop()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def readiness(self) -> dict[str, bool]:
        """Each check bounded by READINESS_TIMEOUT_S: a frozen database or broker makes it false, never a hang."""
        return {
            "database": await self._database_answers(),
            "broker": self.relay.in_contact(),
            "consumers": self._consuming(),
        }

    async def _database_answers(self) -> bool:
        try:
            async with asyncio.timeout(READINESS_TIMEOUT_S):
                await db.ping(self.engine)
        except (SQLAlchemyError, OSError, TimeoutError):
            return False
        return True

    def _consuming(self) -> bool:
        """The consumer loops run and every consumer's group has given it partitions."""
        running = self._kafka is not None and not self._kafka.done()
        return running and all(consumer.assignment() for consumer in self.consumers)


def build_app(
    runtime: ServiceRuntime,
    *,
    title: str,
    description: str,
    routers: list[APIRouter],
    on_refused: RefusalHook | None = None,
) -> FastAPI:
    """A service's FastAPI app: its routes, problem+json errors (documented in its OpenAPI), the input guards,
    limits and security headers (shared.edge), health, readiness, metrics, correlation ids, access logs and
    (tracing on) server spans. Every 403 is counted; on_refused records the first of each caller on each
    resource, bounded (shared.refusals; without it, a warning line)."""
    app = FastAPI(title=title, version="1.0.0", description=description, lifespan=runtime.lifespan)
    app.state.runtime = runtime
    app.state.tokens = TokenVerifier.from_settings(runtime.settings)
    install_problem_handlers(app, on_refused=recorder(runtime.name, on_refused))
    install_edge(app, settings=runtime.settings)
    install_operational_routes(app, service=runtime.name, readiness=runtime.readiness)
    guards = route_guards(runtime.settings)
    for router in routers:
        app.include_router(router, dependencies=guards)
    install_observability(app)
    document_problems(app, routers)
    return app


async def runtime_of(request: Request) -> ServiceRuntime:
    """FastAPI dependency: the runtime of the app serving the request."""
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


Runtime = Annotated[ServiceRuntime, Depends(runtime_of)]
