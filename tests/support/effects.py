"""What a running stack on PostgreSQL did, read from its databases and topics: to find an effect had twice.

Read-only: each query opens its own connection; topics are read without a consumer group.
"""

import asyncio
import functools
from collections import Counter, defaultdict
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from mutualaid.runner import Stack
from mutualaid.services import SERVICES, create_app, settings_for
from shared.cloudevents import CloudEvent
from shared.kafka import EventConsumer
from shared.service import ServiceRuntime
from shared.settings import CommonSettings
from tests.support.kafka import group_caught_up

BOOKED_TWICE = """
    SELECT a.unit_id FROM booking a JOIN booking b
      ON a.unit_id = b.unit_id AND a.id < b.id AND a.start < b."end" AND b.start < a."end"
"""
PROPOSED_TWICE_IN_ONE_ROUND = """
    SELECT request_id, planning_run_id, tier FROM proposal GROUP BY request_id, planning_run_id, tier
    HAVING count(*) > 1
"""


async def rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    """The rows a query returns, as tuples."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return [tuple(row) for row in await connection.execute(text(sql))]
    finally:
        await engine.dispose()


async def table_counts(stack: Stack) -> dict[str, int]:
    """Rows in each table of each service's database ({"requests.request_timeline": 61, ...}): what an event
    applied a second time would add to."""
    counts = {}
    for service, url in stack.database_urls.items():
        tables = await rows(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        for (table,) in tables:
            counts[f"{service}.{table}"] = (await rows(url, f'SELECT count(*) FROM "{table}"'))[0][0]  # noqa: S608
    return counts


def kafka_of(stack: Stack) -> CommonSettings:
    """The stack's broker and namespace."""
    return CommonSettings(
        kafka_bootstrap_servers=stack.kafka_bootstrap_servers, kafka_namespace=stack.env["KAFKA_NAMESPACE"]
    )


@functools.cache
def consumer_of(service: str) -> EventConsumer:
    """The service's consumer group (its topics and handlers), from its real composition root; nothing is started."""
    settings = settings_for(service, database_url="sqlite+aiosqlite://", port=1)
    runtime: ServiceRuntime = create_app(service, settings).state.runtime
    [consumer] = runtime.consumers
    return consumer


async def quiet(stack: Stack) -> bool:
    """Nothing in flight: every outbox row sent and every consumer group's offsets at the end of its topics."""
    for url in stack.database_urls.values():
        if await rows(url, "SELECT count(*) FROM outbox WHERE sent_at IS NULL") != [(0,)]:
            return False
    return await consumed(stack)


async def consumed(stack: Stack, ends: dict[TopicPartition, int] | None = None) -> bool:
    """Every service's consumer group has committed its topics up to `ends` (default: where they end now)."""
    kafka = kafka_of(stack)
    groups = [consumer_of(service) for service in SERVICES]
    return all([await group_caught_up(kafka, group.group_id, group.topics, ends=ends) for group in groups])


async def consumed_within(stack: Stack, ends: dict[TopicPartition, int], *, seconds: float) -> bool:
    """Whether every consumer group committed its topics up to `ends` within the time (polled every 0.5 s)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await consumed(stack, ends):
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.5)
    return True


async def outbox_went_out_once_in_order(url: str, published: dict[str, list[ConsumerRecord]]) -> None:
    """Every outbox row is on its topic exactly once, and each key's events in the order they were written.

    `published`: each topic (named as in code) with its records, partition by partition in offset order."""
    outbox = await rows(url, "SELECT topic, key, event_id FROM outbox ORDER BY id")
    for topic in {topic for topic, _, _ in outbox}:
        written: dict[str, list[str]] = defaultdict(list)
        for _, key, event_id in (row for row in outbox if row[0] == topic):
            written[key].append(event_id)
        sent: dict[str, list[str]] = defaultdict(list)
        for record in published[topic]:
            sent[record.key.decode()].append(CloudEvent.model_validate_json(record.value).id)
        duplicated = [event_id for ids in sent.values() for event_id, n in Counter(ids).items() if n > 1]
        assert duplicated == [], f"{len(duplicated)} event(s) sent twice on {topic}"
        out_of_order = [key for key in written if sent.get(key) != written[key]]
        assert out_of_order == [], f"{topic}: events of {out_of_order[:3]} not sent once each in written order"


async def inbox_applied_each_event_once(url: str, service: str, published: dict[str, list[ConsumerRecord]]) -> None:
    """The service's inbox holds every event its group handles, from the topics it reads, once."""
    consumer = consumer_of(service)
    handled = {
        event.id
        for topic in consumer.topics
        for event in (CloudEvent.model_validate_json(record.value) for record in published[topic])
        if event.type in consumer.handlers
    }
    inbox = Counter(event_id for (event_id,) in await rows(url, "SELECT event_id FROM inbox"))
    missing, foreign = handled - set(inbox), set(inbox) - handled
    assert not missing, f"{service}: {len(missing)} of {len(handled)} events it handles are not in its inbox"
    assert not foreign, f"{service}: {len(foreign)} inbox entries name no event on the topics it reads"
    assert set(inbox.values()) <= {1}, f"{service}: an event is in its inbox twice"
