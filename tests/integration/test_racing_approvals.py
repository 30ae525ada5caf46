"""Two approvals racing for the same unit, handled by two availability instances on one PostgreSQL database."""

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiokafka import AIOKafkaProducer

from shared.auth import Role
from shared.cloudevents import encode, new_event
from shared.events import AVAILABILITY_TOPIC, TASKING_TOPIC, Allocation, TaskingApproved
from shared.settings import CommonSettings
from shared.vocabulary import Capability
from tests.support.builders import SOON, bearer, unit_body, unit_id
from tests.support.infra import fresh_postgres_database
from tests.support.kafka import TopicProbe
from tests.support.services import RunningService, eventually, running_service

ROUNDS = 8


@pytest.fixture
async def postgres_url(postgres_server: str) -> AsyncIterator[str]:
    async with fresh_postgres_database(postgres_server) as url:
        yield url


def approval(unit: str) -> TaskingApproved:
    return TaskingApproved(
        request_id=str(uuid.uuid4()),
        proposal_id=str(uuid.uuid4()),
        requesting_force="west-midlands",
        requesting_region="West Midlands",
        start=SOON,
        end=SOON + timedelta(days=1),
        allocations=[
            Allocation(unit_id=unit, force="staffordshire", capability=Capability.PSU, eta_minutes=60, distance_km=40)
        ],
        approved_by="coordinator",
    )


async def owned_partitions(first: RunningService, second: RunningService, topic: str) -> tuple[int, int]:
    """Wait until the two instances share the topic's partitions; one partition owned by each."""

    async def split() -> tuple[int, int] | None:
        owned = [
            sorted(tp.partition for tp in service.runtime.consumers[0].assignment() if tp.topic == topic)
            for service in (first, second)
        ]
        return (owned[0][0], owned[1][0]) if all(owned) else None

    result: tuple[int, int] = await eventually(split, timeout=30)
    return result


async def test_of_two_racing_approvals_for_one_unit_exactly_one_commits(
    postgres_url: str, kafka: CommonSettings
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        first = await stack.enter_async_context(running_service("availability", database_url=postgres_url, kafka=kafka))
        second = await stack.enter_async_context(
            running_service("availability", database_url=postgres_url, kafka=kafka)
        )
        topic = kafka.namespaced(TASKING_TOPIC)
        partitions = await owned_partitions(first, second, topic)

        manager = bearer(Role.RESOURCE_MANAGER, force="staffordshire")
        units = [unit_id("race") for _ in range(ROUNDS)]
        for unit in units:
            assert (await first.client.put(f"/v1/units/{unit}", json=unit_body(), headers=manager)).status_code == 201

        producer = AIOKafkaProducer(bootstrap_servers=kafka.kafka_bootstrap_servers, enable_idempotence=False)
        await producer.start()
        stack.push_async_callback(producer.stop)
        approvals = [(approval(unit), approval(unit)) for unit in units]
        sends = []
        for one, other in approvals:  # each pair goes to partitions of different instances: they race
            for data, partition in ((one, partitions[0]), (other, partitions[1])):
                value = encode(new_event(data, source="/test/tasking"))
                sends.append(await producer.send(topic, value=value, key=data.request_id.encode(), partition=partition))
        await asyncio.gather(*sends)

        probe = await stack.enter_async_context(TopicProbe(kafka, AVAILABILITY_TOPIC))
        outcomes: Counter[str] = Counter()
        for one, other in approvals:
            for data in (one, other):
                event = await probe.wait_for_event(("units.committed", "commit.rejected"), request_id=data.request_id)
                outcomes[event["type"].split(".")[-2]] += 1
            committed_to = (await first.client.get(f"/v1/units/{one.allocations[0].unit_id}", headers=manager)).json()
            assert committed_to["status"] == "COMMITTED"
            assert committed_to["committed_to"] in (one.request_id, other.request_id)
        assert outcomes == {"committed": ROUNDS, "rejected": ROUNDS}
