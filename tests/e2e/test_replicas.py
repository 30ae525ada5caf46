"""Replicas of the services, each service's replicas on one PostgreSQL database, against one broker.

What lets a service run as N replicas: its consumers form one group and split the partitions; its outbox
relays take turns (OutboxRelay.claim), so each row goes out once and an aggregate's events in order; its
inbox applies each event once; Idempotency-Keys, versions (If-Match) and row locks give one winner of a
race; one planning run at a time, taken over when its replica dies. The first test races each of those
on two replicas of every service, then looks for an effect had twice in the databases and on the topics,
and once more after every event was delivered a second time (as a relay that lost an ack, or a group
that rebalanced mid-batch, delivers it).
"""

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mutualaid.runner import Stack
from mutualaid.services import SERVICES
from shared.auth import Role
from shared.events import TOPICS, dead_letter_topic
from tests.support.builders import SOON, bearer
from tests.support.effects import (
    BOOKED_TWICE,
    PROPOSED_TWICE_IN_ONE_ROUND,
    consumed_within,
    inbox_applied_each_event_once,
    kafka_of,
    outbox_went_out_once_in_order,
    quiet,
    rows,
    table_counts,
)
from tests.support.kafka import Publisher, end_offsets, read_topic
from tests.support.replay import databases_reconcile
from tests.support.services import eventually
from tests.support.stacks import NATIONAL, all_in, at_hq, no_unit_held_twice, proposals, psu_at_hq, stack_on_postgres

pytestmark = pytest.mark.e2e

INTEGRATION = bearer(Role.INTEGRATION)
DONORS = ["staffordshire", "warwickshire", "west-mercia", "merseyside", "cheshire", "lancashire"]
HOSTS = ["west-midlands", "greater-manchester", "cumbria"]
SETTLED = {"MOBILISED", "PARTIALLY_FILLED", "UNFILLED"}
PLANNED = {"PROPOSED", "UNFILLED"}


@pytest.fixture
async def every_service_twice(tmp_path: Path, postgres_server: str, kafka_servers: str) -> AsyncIterator[Stack]:
    async with stack_on_postgres(tmp_path, postgres_server, kafka_servers, dict.fromkeys(SERVICES, 2)) as stack:
        yield stack


@pytest.fixture
async def tasking_twice(tmp_path: Path, postgres_server: str, kafka_servers: str) -> AsyncIterator[Stack]:
    async with stack_on_postgres(tmp_path, postgres_server, kafka_servers, {"tasking": 2}) as stack:
        yield stack


async def test_two_replicas_of_every_service_under_load_have_no_duplicate_effects(every_service_twice: Stack) -> None:
    stack, rng = every_service_twice, random.Random(11)
    async with httpx.AsyncClient(timeout=30) as client:
        units = await asyncio.gather(*(declare_on_each(client, stack, force) for force in DONORS for _ in range(3)))
        submitted, _ = await asyncio.gather(
            asyncio.gather(*(submit_spread(client, stack, n, rng.choice(HOSTS), rng.choice("123")) for n in range(24))),
            asyncio.gather(*(update_on_each(client, stack, unit) for unit in units)),
        )
        approvals = await approve_until_settled(client, stack, list(submitted))
        assert approvals[200] >= len(units) // 2, approvals
        assert approvals[409] >= 1, approvals  # the other replica's answer to an approval raced on both
        no_unit_held_twice(await proposals(client, stack, rng.choice(stack.replicas_of("tasking"))))
        await eventually(lambda: quiet(stack), timeout=30, interval=0.5)
        for service in SERVICES:
            await each_replica_consumed(client, stack, service)

    urls = stack.database_urls
    assert await rows(urls["requests"], "SELECT count(*) FROM request") == [(len(submitted),)]
    assert await rows(urls["availability"], BOOKED_TWICE) == []
    assert await rows(urls["tasking"], PROPOSED_TWICE_IN_ONE_ROUND) == []
    published = {topic: await read_topic(kafka_of(stack), topic) for topic in TOPICS}
    for service in SERVICES:
        await outbox_went_out_once_in_order(urls[service], published)
        await inbox_applied_each_event_once(urls[service], service, published)
    for topic in TOPICS:
        assert await read_topic(kafka_of(stack), dead_letter_topic(topic)) == []
    await databases_reconcile(availability=urls["availability"], tasking=urls["tasking"])

    before = await table_counts(stack)
    async with Publisher(kafka_of(stack)) as publisher:
        await publisher.again([record for records in published.values() for record in records])
    read_again = await consumed_within(stack, await end_offsets(kafka_of(stack), list(TOPICS)), seconds=30)
    assert await table_counts(stack) == before
    assert read_again, "the consumers did not get through the copies (an event applied twice fails, and is retried)"


async def test_killing_a_planning_replica_hands_planning_to_the_other(tasking_twice: Stack) -> None:
    stack = tasking_twice
    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(declare_on_each(client, stack, force) for force in DONORS for _ in range(2)))
        requests = await asyncio.gather(*(submit_spread(client, stack, 0, host, "2") for host in HOSTS * 3))
        await stack.kill_service("tasking")  # whatever it had taken in and not planned yet is left OPEN
        await eventually(lambda: all_in(client, stack, requests, PLANNED), timeout=60, interval=0.5)
        no_unit_held_twice(await proposals(client, stack, "tasking-2"))
        more = await asyncio.gather(*(submit_spread(client, stack, 0, host, "1") for host in HOSTS))
        await eventually(lambda: all_in(client, stack, more, PLANNED), timeout=60, interval=0.5)


async def declare_on_each(client: httpx.AsyncClient, stack: Stack, force: str) -> str:
    """Declare a new unit on every availability replica at once (If-None-Match: *): one 201, the others 412."""
    unit_id = f"{force}-psu-{uuid.uuid4().hex[:6]}"
    replicas = stack.replicas_of("availability")
    answers = await asyncio.gather(
        *(
            client.put(
                f"{stack.url(replica)}/v1/units/{unit_id}",
                json=psu_at_hq(force, 30),
                headers=INTEGRATION | {"If-None-Match": "*"},
            )
            for replica in replicas
        )
    )
    assert sorted(a.status_code for a in answers) == [201] + [412] * (len(replicas) - 1), [a.text for a in answers]
    return unit_id


async def update_on_each(client: httpx.AsyncClient, stack: Stack, unit_id: str) -> None:
    """Update a unit on every availability replica at once from version 1 (If-Match): one 200, the others 412."""
    force = unit_id.split("-psu-")[0]
    replicas = stack.replicas_of("availability")
    answers = await asyncio.gather(
        *(
            client.put(
                f"{stack.url(replica)}/v1/units/{unit_id}",
                json=psu_at_hq(force, 40 + number),
                headers=INTEGRATION | {"If-Match": '"1"'},
            )
            for number, replica in enumerate(replicas)
        )
    )
    assert sorted(a.status_code for a in answers) == [200] + [412] * (len(replicas) - 1), [a.text for a in answers]


async def submit_spread(client: httpx.AsyncClient, stack: Stack, number: int, force: str, priority: str) -> str:
    """Submit a one-PSU request of the force at priority P<priority> with an Idempotency-Key: by number, on one
    replica (0), on two at once (1), or on one and then again on the next (2). Every answer names the same
    request, and only one created it; returns its id."""
    body = {
        "requesting_force": force,
        "operation": f"Op {number}",
        "priority": f"P{priority}",
        "location": at_hq(force),
        "required_by": SOON.isoformat(),
        "end": (SOON + timedelta(days=2)).isoformat(),
        "needs": [{"capability": "PSU", "quantity": 1}],
    }
    headers = bearer(Role.OPERATOR, force=force) | {"Idempotency-Key": str(uuid.uuid4())}  # one caller per key
    replicas = stack.replicas_of("requests")
    first, then = replicas[number % len(replicas)], replicas[(number + 1) % len(replicas)]

    async def post(replica: str) -> httpx.Response:
        return await client.post(f"{stack.url(replica)}/v1/requests", json=body, headers=headers)

    if number % 3 == 0:
        answers = [await post(first)]
    elif number % 3 == 1:
        answers = list(await asyncio.gather(post(first), post(then)))
    else:
        answers = [await post(first), await post(then)]
    assert {answer.status_code for answer in answers} == {201}, [answer.text for answer in answers]
    assert len({answer.json()["id"] for answer in answers}) == 1, [answer.text for answer in answers]
    assert [answer.headers.get("Idempotent-Replayed") for answer in answers].count(None) == 1
    request_id: str = answers[0].json()["id"]
    return request_id


async def approve_until_settled(client: httpx.AsyncClient, stack: Stack, request_ids: list[str]) -> Counter[int]:
    """Approve each pending proposal on every tasking replica at once until every request settled; returns the
    answers' status codes (each race has at most one 200)."""
    answers: Counter[int] = Counter()
    replicas = stack.replicas_of("tasking")

    async def settled() -> bool:
        for proposal in await proposals(client, stack, replicas[answers.total() % len(replicas)], "PENDING"):
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
            assert [r.status_code for r in decided].count(200) <= 1, [r.text for r in decided]
            answers.update(response.status_code for response in decided)
        return await all_in(client, stack, request_ids, SETTLED)

    await eventually(settled, timeout=90, interval=0.3)
    return answers


async def each_replica_consumed(client: httpx.AsyncClient, stack: Stack, service: str) -> None:
    """Each replica holds partitions of the service's group now (it is ready) and applied events of the load."""
    for replica in stack.replicas_of(service):
        ready = await client.get(f"{stack.url(replica)}/readyz")
        assert ready.status_code == 200, (replica, ready.text)  # its consumers hold partitions
        metrics = text_string_to_metric_families((await client.get(f"{stack.url(replica)}/metrics")).text)
        applied = sum(
            sample.value
            for family in metrics
            for sample in family.samples
            if sample.name == "mutualaid_events_consumed_total" and sample.labels["outcome"] == "applied"
        )
        assert applied > 0, f"{replica} applied no event: its group gave it no partition"
