"""Two tasking replicas on one PostgreSQL database and one broker, under concurrent submissions and approvals.

One planning run at a time across replicas (a transaction-level advisory lock), decisions checked
against versions: no unit proposed or approved twice, and when a replica is killed the other plans
what it had taken in.
"""

import asyncio
import contextlib
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from mutualaid.runner import Stack
from mutualaid.services import SERVICES
from shared.auth import Role
from shared.forces import forces
from tests.support.builders import SOON, bearer
from tests.support.infra import fresh_postgres_database
from tests.support.services import eventually

pytestmark = pytest.mark.e2e

INTEGRATION = bearer(Role.INTEGRATION)
NATIONAL = bearer(Role.NATIONAL_COORDINATOR)
DONORS = ["staffordshire", "warwickshire", "west-mercia", "merseyside", "cheshire", "lancashire"]
HOSTS = ["west-midlands", "greater-manchester", "cumbria"]
SETTLED = {"MOBILISED", "PARTIALLY_FILLED", "UNFILLED"}


@pytest.fixture
async def stack(tmp_path: Path, postgres_server: str, kafka_servers: str) -> AsyncIterator[Stack]:
    async with contextlib.AsyncExitStack() as databases:
        urls = {s: await databases.enter_async_context(fresh_postgres_database(postgres_server)) for s in SERVICES}
        stack = Stack(
            workdir=tmp_path,
            database_urls=urls,
            kafka_bootstrap_servers=kafka_servers,
            env={"KAFKA_NAMESPACE": f"replicas{uuid.uuid4().hex[:8]}.", "TASKING_PLANNING_SWEEP_S": "1"},
        )
        await stack.start()
        try:
            await stack.start_service("tasking", replica="tasking-2")
            yield stack
        finally:
            await stack.stop()


def at_hq(force: str) -> dict[str, float]:
    return {"lat": forces()[force].hq_lat, "lon": forces()[force].hq_lon}


async def declare(client: httpx.AsyncClient, stack: Stack, force: str) -> str:
    unit_id = f"{force}-psu-{uuid.uuid4().hex[:6]}"
    body = {
        "force": force,
        "capability": "PSU",
        "base": at_hq(force),
        "readiness_minutes": 30,
        "available_from": (SOON - timedelta(days=1)).isoformat(),
        "available_until": (SOON + timedelta(days=30)).isoformat(),
    }
    response = await client.put(f"{stack.url('availability')}/v1/units/{unit_id}", json=body, headers=INTEGRATION)
    assert response.status_code == 201, response.text
    return unit_id


async def submit(client: httpx.AsyncClient, stack: Stack, force: str, priority: str) -> str:
    body = {
        "requesting_force": force,
        "operation": f"Op {uuid.uuid4().hex[:6]}",
        "priority": priority,
        "location": at_hq(force),
        "required_by": SOON.isoformat(),
        "end": (SOON + timedelta(days=2)).isoformat(),
        "needs": [{"capability": "PSU", "quantity": 1}],
    }
    headers = bearer(Role.OPERATOR, force=force) | {"Idempotency-Key": str(uuid.uuid4())}
    response = await client.post(f"{stack.url('requests')}/v1/requests", json=body, headers=headers)
    assert response.status_code == 201, response.text
    request_id: str = response.json()["id"]
    return request_id


async def proposals(client: httpx.AsyncClient, stack: Stack, replica: str, status: str | None = None) -> list[Any]:
    query = f"?status={status}" if status else ""
    response = await client.get(f"{stack.url(replica)}/v1/proposals{query}", headers=NATIONAL)
    items: list[Any] = response.json()["items"]
    return items


async def approve_whatever_is_pending(client: httpx.AsyncClient, stack: Stack, replicas: list[str]) -> Counter[int]:
    """Approve each pending proposal on two replicas at once; returns the answers' status codes."""
    answers: Counter[int] = Counter()
    for proposal in await proposals(client, stack, replicas[0], "PENDING"):
        decided = await asyncio.gather(
            *(
                client.post(
                    f"{stack.url(replica)}/v1/proposals/{proposal['id']}/approve",
                    json={"reason": "load"},
                    headers=NATIONAL,
                )
                for replica in replicas
            )
        )
        answers.update(response.status_code for response in decided)
        assert [r.status_code for r in decided].count(200) <= 1, [r.text for r in decided]
    return answers


async def statuses(client: httpx.AsyncClient, stack: Stack, request_ids: list[str]) -> dict[str, str]:
    found = {}
    for request_id in request_ids:
        response = await client.get(f"{stack.url('requests')}/v1/requests/{request_id}", headers=NATIONAL)
        found[request_id] = response.json()["status"]
    return found


def no_unit_held_twice(items: list[Any]) -> None:
    live = [p for p in items if p["status"] in ("PENDING", "APPROVED")]
    held = Counter(a["unit_id"] for p in live for a in p["allocations"])
    assert not [unit for unit, n in held.items() if n > 1], held.most_common(3)
    per_request = Counter(p["request_id"] for p in live)
    assert not [r for r, n in per_request.items() if n > 1], per_request.most_common(3)


async def test_two_replicas_under_load_propose_and_approve_each_unit_once(stack: Stack) -> None:
    rng = random.Random(8)
    replicas = ["tasking", "tasking-2"]
    async with httpx.AsyncClient(timeout=30) as client:
        units = await asyncio.gather(*(declare(client, stack, force) for force in DONORS for _ in range(3)))
        requests = await asyncio.gather(
            *(submit(client, stack, rng.choice(HOSTS), rng.choice(["P1", "P2", "P3"])) for _ in range(24))
        )
        answers: Counter[int] = Counter()

        async def settled() -> bool:
            answers.update(await approve_whatever_is_pending(client, stack, replicas))
            return set((await statuses(client, stack, requests)).values()) <= SETTLED

        await eventually(settled, timeout=90, interval=0.3)
        assert answers[200] >= len(units) // 2, answers
        assert answers[409] >= 1, answers  # the second replica's answer to each approval raced on both
        for replica in replicas:
            items = await proposals(client, stack, replica)
            no_unit_held_twice(items)
            approved = Counter(a["unit_id"] for p in items if p["status"] == "APPROVED" for a in p["allocations"])
            assert set(approved) <= set(units)
            assert max(approved.values()) == 1


async def test_killing_a_planning_replica_hands_planning_to_the_other(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(declare(client, stack, force) for force in DONORS for _ in range(2)))
        requests = await asyncio.gather(*(submit(client, stack, host, "P2") for host in HOSTS * 3))
        await stack.kill_service("tasking")  # whatever it had taken in and not planned yet is left OPEN

        async def proposed() -> bool:
            found = await statuses(client, stack, requests)
            return all(status in ("PROPOSED", "UNFILLED") for status in found.values())

        await eventually(proposed, timeout=60, interval=0.5)
        no_unit_held_twice(await proposals(client, stack, "tasking-2"))
        more = await asyncio.gather(*(submit(client, stack, host, "P1") for host in HOSTS))
        await eventually(lambda: _all_planned(client, stack, more), timeout=60, interval=0.5)


async def _all_planned(client: httpx.AsyncClient, stack: Stack, request_ids: list[str]) -> bool:
    found = await statuses(client, stack, request_ids)
    return all(status in ("PROPOSED", "UNFILLED") for status in found.values())
