"""/readyz tells the truth about a service's database and broker; /healthz only says the process answers."""

import asyncio
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx
import pytest

from mutualaid.runner import Stack
from mutualaid.services import SERVICES
from shared.broker import free_port
from tests.support.infra import fresh_postgres_database
from tests.support.services import eventually
from tests.support.tcp_proxy import tcp_proxy_to

pytestmark = pytest.mark.e2e


async def readiness(stack: Stack, services: Iterable[str] = SERVICES) -> dict[str, tuple[int, Any]]:
    async with httpx.AsyncClient(timeout=5) as client:
        answers = {service: await client.get(f"{stack.url(service)}/readyz") for service in services}
    return {service: (answer.status_code, answer.json()["checks"]) for service, answer in answers.items()}


async def all_answer(stack: Stack, status: int, services: Iterable[str] = SERVICES) -> dict[str, Any] | None:
    answers = await readiness(stack, services)
    return answers if all(code == status for code, _ in answers.values()) else None


async def healthz(stack: Stack) -> set[int]:
    async with httpx.AsyncClient(timeout=5) as client:
        return {(await client.get(f"{stack.url(service)}/healthz")).status_code for service in SERVICES}


async def test_readyz_is_503_while_the_broker_is_frozen_or_the_database_unreachable_and_200_after(
    tmp_path: Path, postgres_server: str
) -> None:
    async with fresh_postgres_database(postgres_server) as database, tcp_proxy_to(database) as proxy:
        stack = Stack(workdir=tmp_path, broker_port=free_port(), database_urls={"requests": proxy.url_of(database)})
        await stack.start()
        assert stack.broker is not None
        try:
            stack.broker.pause()
            frozen = time.monotonic()
            answers = await eventually(lambda: all_answer(stack, 503), timeout=10, interval=0.2)
            print(f"\nevery /readyz 503 {time.monotonic() - frozen:.1f}s after the broker froze")
            assert {checks["broker"] for _, checks in answers.values()} == {False}
            assert await healthz(stack) == {200}
            stack.broker.resume()
            resumed = time.monotonic()
            await eventually(lambda: all_answer(stack, 200), timeout=30, interval=0.2)
            print(f"every /readyz 200 {time.monotonic() - resumed:.1f}s after it resumed")

            await proxy.cut()
            cut = time.monotonic()
            answers = await eventually(lambda: all_answer(stack, 503, ["requests"]), timeout=10, interval=0.2)
            print(f"requests /readyz 503 {time.monotonic() - cut:.1f}s after its database became unreachable")
            assert answers["requests"][1]["database"] is False
            assert await healthz(stack) == {200}
            await asyncio.sleep(3)  # long enough for the relay and the consumers to meet the outage too
            await proxy.restore()
            await eventually(lambda: all_answer(stack, 200), timeout=30, interval=0.2)
        finally:
            stack.broker.resume()
            await stack.stop()
