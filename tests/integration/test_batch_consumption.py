"""A consumer applies a run of events of one type in one transaction, each once, on SQLite and PostgreSQL.

The records are handed to the service's own consumer (EventConsumer.process) as one fetch would return them,
so that the run is the same every time; dead letters go to the real broker.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from aiokafka.structs import ConsumerRecord
from sqlalchemy import event as sa_event
from sqlmodel import col, func, select

from services.requests.models import TimelineEntry
from services.tasking.models import RequestView
from shared.auth import Role
from shared.cloudevents import CloudEvent, encode, new_event
from shared.events import REQUESTS_TOPIC, TASKING_TOPIC, ProposalCreated, RequestSubmitted, dead_letter_topic
from shared.messaging import InboxEntry, OutboxMessage
from shared.settings import CommonSettings
from tests.support.builders import bearer, request_body
from tests.support.kafka import TopicProbe
from tests.support.services import RunningService, running_service


@pytest.fixture
async def service(database_url: str, kafka: CommonSettings) -> AsyncIterator[RunningService]:
    async with running_service("tasking", database_url=database_url, kafka=kafka) as running:
        yield running


def submitted(request_id: str | None = None) -> tuple[CloudEvent, RequestSubmitted]:
    body = request_body() | {"request_id": request_id or str(uuid.uuid4())}
    data = RequestSubmitted.model_validate(body | {"requesting_region": "West Midlands", "submitted_by": "op"})
    return new_event(data, source="/test/requests"), data


def fetched(
    kafka: CommonSettings, events: list[CloudEvent], topic: str = REQUESTS_TOPIC
) -> list[ConsumerRecord[bytes, bytes]]:
    """The events as consecutive records of one partition of the topic."""
    topic = kafka.namespaced(topic)
    return [
        ConsumerRecord(topic, 0, offset, 0, 0, b"k", encode(event), None, 1, len(encode(event)), [])
        for offset, event in enumerate(events)
    ]


@contextmanager
def commits_by_this_task(service: RunningService) -> Iterator[list[int]]:
    """Counts the transactions the calling task commits on the service's engine (its planning and relay aside)."""
    counted: list[int] = []
    me = asyncio.current_task()

    def commit(_connection: Any) -> None:
        if asyncio.current_task() is me:
            counted.append(1)

    engine = service.runtime.engine.sync_engine
    sa_event.listen(engine, "commit", commit)
    try:
        yield counted
    finally:
        sa_event.remove(engine, "commit", commit)


async def taken_in(service: RunningService, request_ids: list[str]) -> dict[str, int]:
    """What tasking holds of these requests: rows, inbox entries for their events and matching.started rows."""
    async with service.runtime.sessions() as session:
        views = select(func.count()).select_from(RequestView).where(col(RequestView.request_id).in_(request_ids))
        inbox = (
            select(func.count()).select_from(InboxEntry).where(col(InboxEntry.event_type).like("%request.submitted%"))
        )
        started = (
            select(func.count())
            .select_from(OutboxMessage)
            .where(col(OutboxMessage.event_type).like("%matching.started%"))
        )
        return {
            "requests": (await session.exec(views)).one(),
            "inbox": (await session.exec(inbox)).one(),
            "matching.started": (await session.exec(started)).one(),
        }


async def test_a_run_of_submissions_is_applied_in_one_transaction_each_once_though_one_comes_twice(
    service: RunningService, kafka: CommonSettings
) -> None:
    run = [submitted() for _ in range(4)]
    events = [event for event, _ in run]
    consumer = service.runtime.consumers[0]

    with commits_by_this_task(service) as commits:
        await consumer.process(fetched(kafka, [*events[:2], events[0], *events[2:]]))

    assert len(commits) == 1
    ids = [data.request_id for _, data in run]
    assert await taken_in(service, ids) == {"requests": 4, "inbox": 4, "matching.started": 4}
    await consumer.process(fetched(kafka, events))  # delivered again: nothing changes
    assert await taken_in(service, ids) == {"requests": 4, "inbox": 4, "matching.started": 4}


async def test_a_poison_event_in_a_run_is_dead_lettered_alone_and_the_rest_applied_once(
    service: RunningService, kafka: CommonSettings
) -> None:
    (first, first_data), (last, last_data) = submitted(), submitted()
    poison, _ = submitted(first_data.request_id)  # another event for a request already taken in: cannot be stored
    consumer = service.runtime.consumers[0]

    async with TopicProbe(kafka, dead_letter_topic(REQUESTS_TOPIC)) as dlq:
        await consumer.process(fetched(kafka, [first, poison, last]))
        parked = await dlq.wait_for(lambda record: poison.id.encode() in record.value)

    assert dict(parked.headers)["dlq-reason"].decode().startswith("handler failed: IntegrityError")
    ids = [first_data.request_id, last_data.request_id]
    assert await taken_in(service, ids) == {"requests": 2, "inbox": 2, "matching.started": 2}
    async with service.runtime.sessions() as session:
        assert await session.get(InboxEntry, ("tasking", poison.id)) is None


async def test_a_run_of_proposals_moves_each_request_once_in_one_transaction(
    database_url: str, kafka: CommonSettings
) -> None:
    async with running_service("requests", database_url=database_url, kafka=kafka) as requests:
        operator = bearer(Role.OPERATOR, force="west-midlands")
        posted = [await requests.client.post("/v1/requests", json=request_body(), headers=operator) for _ in range(3)]
        ids = [str(response.json()["id"]) for response in posted]
        proposals = [new_event(proposal_created(rid, f"p{n}"), source="/test/tasking") for n, rid in enumerate(ids)]
        consumer = requests.runtime.consumers[0]

        with commits_by_this_task(requests) as commits:
            await consumer.process(fetched(kafka, [*proposals, proposals[1]], TASKING_TOPIC))

        assert len(commits) == 1
        details = [(await requests.client.get(f"/v1/requests/{rid}", headers=operator)).json() for rid in ids]
        assert [detail["status"] for detail in details] == ["PROPOSED"] * 3
        async with requests.runtime.sessions() as session:
            entries = select(TimelineEntry.request_id).where(col(TimelineEntry.event_type) == "proposal.created")
            assert sorted((await session.exec(entries)).all()) == sorted(ids)


def proposal_created(request_id: str, proposal_id: str) -> ProposalCreated:
    return ProposalCreated(request_id=request_id, proposal_id=proposal_id, allocations=[], unfilled=[], planner="t")
