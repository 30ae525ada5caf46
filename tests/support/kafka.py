"""Test-side Kafka: read what a service published, and deliver events (or junk) to it."""

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from shared.cloudevents import CONTENT_TYPE, CloudEvent, EventData, encode
from shared.settings import CommonSettings


class TopicProbe:
    """Reads a topic from the beginning and waits for records that match."""

    def __init__(self, settings: CommonSettings, topic: str) -> None:
        self.topic = settings.namespaced(topic)
        self._consumer = AIOKafkaConsumer(
            self.topic,
            bootstrap_servers=settings.kafka_bootstrap_servers,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            fetch_max_wait_ms=50,
        )
        self.records: list[ConsumerRecord] = []

    async def __aenter__(self) -> "TopicProbe":
        await self._consumer.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._consumer.stop()

    async def wait_for(self, match: Callable[[ConsumerRecord], bool], *, timeout: float = 20.0) -> ConsumerRecord:
        """The first record (already seen or new) that matches, or TimeoutError."""
        seen = 0
        async with asyncio.timeout(timeout):
            while True:
                for record in self.records[seen:]:
                    if match(record):
                        return record
                seen = len(self.records)
                batch = await self._consumer.getmany(timeout_ms=200)
                for records in batch.values():
                    self.records.extend(records)

    async def event(
        self,
        event_type: str,
        *,
        timeout: float = 20.0,
        where: Callable[[dict[str, Any]], bool] = lambda _: True,
        **data: Any,
    ) -> dict[str, Any]:
        """The first CloudEvent of a short type whose data has the given values (and passes `where`)."""
        return await self.wait_for_event((event_type,), timeout=timeout, where=where, **data)

    async def wait_for_event(
        self,
        event_types: tuple[str, ...],
        *,
        timeout: float = 20.0,
        where: Callable[[dict[str, Any]], bool] = lambda _: True,
        **data: Any,
    ) -> dict[str, Any]:
        """The first CloudEvent of any of the short types whose data has the given values (and passes `where`)."""

        def match(record: ConsumerRecord) -> bool:
            try:
                event = json.loads(record.value)
            except (TypeError, ValueError):
                return False
            return bool(
                any(event.get("type", "").endswith(f".{t}.v1") for t in event_types)
                and all(event["data"].get(key) == value for key, value in data.items())
                and where(event["data"])
            )

        parsed: dict[str, Any] = json.loads((await self.wait_for(match, timeout=timeout)).value)
        return parsed

    async def drain(self, *, seconds: float = 1.0) -> None:
        """Read everything that arrives within a short time."""
        deadline = asyncio.get_running_loop().time() + seconds
        while asyncio.get_running_loop().time() < deadline:
            batch = await self._consumer.getmany(timeout_ms=100)
            for records in batch.values():
                self.records.extend(records)


class Publisher:
    """Delivers events (or raw bytes) to a topic as another service would."""

    def __init__(self, settings: CommonSettings) -> None:
        self._settings = settings
        self._producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_idempotence=False)

    async def __aenter__(self) -> "Publisher":
        await self._producer.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._producer.stop()

    async def event(self, event: CloudEvent, data: EventData) -> None:
        await self.raw(data.topic, encode(event), key=data.subject())

    async def again(self, records: list[ConsumerRecord]) -> None:
        """Deliver records read from topics once more, as they were (topic, key, value, headers), in their order."""
        acks = [await self._producer.send(r.topic, value=r.value, key=r.key, headers=list(r.headers)) for r in records]
        await asyncio.gather(*acks)

    async def raw(self, topic: str, value: bytes, *, key: str = "k") -> None:
        await self._producer.send_and_wait(
            self._settings.namespaced(topic),
            value=value,
            key=key.encode(),
            headers=[("content-type", CONTENT_TYPE.encode())],
        )


async def read_topic(settings: CommonSettings, topic: str) -> list[ConsumerRecord]:
    """Every record the topic (named as in code) holds now: partition by partition, each in offset order."""
    name = settings.namespaced(topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await _partitions(consumer, name)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: dict[TopicPartition, list[ConsumerRecord]] = {partition: [] for partition in partitions}
        while [p for p in partitions if await consumer.position(p) < ends[p]]:
            for partition, batch in (await consumer.getmany(timeout_ms=200)).items():
                records[partition].extend(batch)
        return [record for partition in partitions for record in records[partition]]
    finally:
        await consumer.stop()


async def end_offsets(settings: CommonSettings, topics: list[str]) -> dict[TopicPartition, int]:
    """Where each partition of the topics (named as in code) ends now."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [p for topic in topics for p in await _partitions(consumer, settings.namespaced(topic))]
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        return ends
    finally:
        await consumer.stop()


async def group_caught_up(
    settings: CommonSettings, group: str, topics: list[str], *, ends: dict[TopicPartition, int] | None = None
) -> bool:
    """Whether the consumer group (named as in code) has committed every partition of the topics up to `ends`
    (by default, where each partition ends now)."""
    ends = ends or await end_offsets(settings, topics)
    names = {settings.namespaced(topic) for topic in topics}
    peek = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=settings.namespaced(group),
        enable_auto_commit=False,
    )
    await peek.start()  # never subscribes, so it does not join the group: it only reads the group's offsets
    try:
        partitions = [partition for partition in ends if partition.topic in names]
        committed = [await peek.committed(partition) or 0 for partition in partitions]
        return all(offset >= ends[partition] for offset, partition in zip(committed, partitions, strict=True))
    finally:
        await peek.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    await consumer.topics()  # loads the cluster's metadata
    return [TopicPartition(topic, number) for number in sorted(consumer.partitions_for_topic(topic) or ())]
