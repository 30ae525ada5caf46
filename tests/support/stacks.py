"""A stack of real service processes on PostgreSQL (one database per service), and how tests load and read it.

Shared by the replicas test (tests/e2e/test_replicas.py) and the fault suite (tests/fault).
"""

import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from mutualaid.runner import Stack
from mutualaid.services import SERVICES
from shared.auth import Role
from shared.forces import forces
from tests.support.builders import SOON, bearer
from tests.support.infra import fresh_postgres_database

NATIONAL = bearer(Role.NATIONAL_COORDINATOR)
PARTITIONS = 3  # per topic: at least the replicas, or a replica holds no partition (and is never ready)


@contextlib.asynccontextmanager
async def stack_on_postgres(
    tmp_path: Path,
    postgres_server: str,
    kafka_servers: str | None,
    replicas: dict[str, int],
    env: dict[str, str] | None = None,
) -> AsyncIterator[Stack]:
    """Start every service (as many replicas as asked) on fresh databases of the server, against the given
    broker (None: an embedded broker of the stack's own, which stack.broker stops, pauses or restarts);
    every process is ready when this yields. `env` adds to or overrides the services' environment."""
    async with contextlib.AsyncExitStack() as databases:
        urls = {s: await databases.enter_async_context(fresh_postgres_database(postgres_server)) for s in SERVICES}
        stack = Stack(
            workdir=tmp_path,
            database_urls=urls,
            kafka_bootstrap_servers=kafka_servers,
            replicas=replicas,
            env={
                "KAFKA_NAMESPACE": f"stack{uuid.uuid4().hex[:8]}.",
                "KAFKA_TOPIC_PARTITIONS": str(PARTITIONS),
                "TASKING_PLANNING_SWEEP_S": "1",
                **(env or {}),
            },
        )
        await stack.start()  # every replica ready: each holds partitions of its group
        try:
            yield stack
        finally:
            await stack.stop()


def at_hq(force: str) -> dict[str, float]:
    return {"lat": forces()[force].hq_lat, "lon": forces()[force].hq_lon}


def psu_at_hq(force: str, readiness_minutes: int) -> dict[str, Any]:
    """A PUT /v1/units/{id} body: a PSU of the force at its headquarters, free from a day before SOON for 30 days."""
    return {
        "force": force,
        "capability": "PSU",
        "base": at_hq(force),
        "readiness_minutes": readiness_minutes,
        "available_from": (SOON - timedelta(days=1)).isoformat(),
        "available_until": (SOON + timedelta(days=30)).isoformat(),
    }


async def proposals(client: httpx.AsyncClient, stack: Stack, replica: str, status: str | None = None) -> list[Any]:
    """The proposals a tasking process lists (all, or those of one status), as a national coordinator sees them."""
    query = f"?status={status}" if status else ""
    response = await client.get(f"{stack.url(replica)}/v1/proposals{query}", headers=NATIONAL)
    items: list[Any] = response.json()["items"]
    return items


async def all_in(client: httpx.AsyncClient, stack: Stack, request_ids: list[str], wanted: set[str]) -> bool:
    """Whether every request's status is one of those wanted (read from the requests replicas in turn)."""
    replicas = stack.replicas_of("requests")
    for number, request_id in enumerate(request_ids):
        url = f"{stack.url(replicas[number % len(replicas)])}/v1/requests/{request_id}"
        if (await client.get(url, headers=NATIONAL)).json()["status"] not in wanted:
            return False
    return True


def no_unit_held_twice(items: list[Any]) -> None:
    """No unit in two live (pending or approved) proposals, and no request with two."""
    live = [p for p in items if p["status"] in ("PENDING", "APPROVED")]
    held = Counter(a["unit_id"] for p in live for a in p["allocations"])
    assert not [unit for unit, n in held.items() if n > 1], held.most_common(3)
    per_request = Counter(p["request_id"] for p in live)
    assert not [r for r, n in per_request.items() if n > 1], per_request.most_common(3)
