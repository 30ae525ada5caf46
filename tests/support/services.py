"""Run one service in-process, through its real composition root, lifespan, broker and database."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from mutualaid.services import create_app, settings_for
from shared.service import ServiceRuntime
from shared.settings import CommonSettings, ServiceSettings


@dataclass
class RunningService:
    app: FastAPI
    client: httpx.AsyncClient
    runtime: ServiceRuntime
    settings: ServiceSettings


@contextlib.asynccontextmanager
async def running_service(
    name: str, *, database_url: str, kafka: CommonSettings, **overrides: Any
) -> AsyncIterator[RunningService]:
    """Start the service's lifespan (migrations, relay, consumers) and wait until its consumers are assigned."""
    settings = settings_for(
        name,
        database_url=database_url,
        kafka_bootstrap_servers=kafka.kafka_bootstrap_servers,
        kafka_namespace=kafka.kafka_namespace,
        **overrides,
    )
    app = create_app(name, settings)
    async with app.router.lifespan_context(app):
        runtime: ServiceRuntime = app.state.runtime
        async with asyncio.timeout(30):
            for consumer in runtime.consumers:
                await consumer.assigned.wait()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield RunningService(app=app, client=client, runtime=runtime, settings=settings)


async def eventually(check: Any, *, timeout: float = 20.0, interval: float = 0.05) -> Any:
    """Poll an async check until it returns a truthy value; fail with the last value after the timeout."""
    last: Any = None
    try:
        async with asyncio.timeout(timeout):
            while True:
                last = await check()
                if last:
                    return last
                await asyncio.sleep(interval)
    except TimeoutError:
        raise AssertionError(f"condition not met within {timeout}s; last value: {last!r}") from None
