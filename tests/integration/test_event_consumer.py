"""Stopping a Kafka consumer: aiokafka's stop can raise a CancelledError nobody asked for (aio-libs/aiokafka#647),
which would end the task that stops it (a service's Kafka task, the relay's probe) as if it were cancelled."""

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.broker import EmbeddedBroker
from shared.kafka import stop_consumer
from shared.settings import CommonSettings


async def test_a_consumer_stopped_right_after_it_started_does_not_cancel_its_caller(kafka: CommonSettings) -> None:
    for _ in range(5):  # without a group, aiokafka's stop awaits a task it cancelled before it ever ran
        consumer = AIOKafkaConsumer(bootstrap_servers=kafka.kafka_bootstrap_servers, enable_auto_commit=False)
        await consumer.start()
        await stop_consumer(consumer)
        await asyncio.sleep(0)  # the caller carries on: it was not cancelled
    current = asyncio.current_task()
    assert current is not None
    assert not current.cancelling()


async def test_a_caller_cancelled_while_it_stops_a_consumer_is_still_cancelled(kafka: CommonSettings) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.kafka_bootstrap_servers, group_id=f"{kafka.kafka_namespace}g")
    await consumer.start()
    stopping = asyncio.create_task(stop_consumer(consumer))
    await asyncio.sleep(0)  # inside the stop
    stopping.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stopping
    await stop_consumer(consumer)


async def test_a_consumer_stopped_while_its_broker_is_gone_stops_without_raising() -> None:
    with EmbeddedBroker() as broker:
        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
        await admin.start()
        await admin.create_topics([NewTopic("gone", num_partitions=3, replication_factor=1)])
        await admin.close()
        consumer = AIOKafkaConsumer(
            "gone", bootstrap_servers=broker.bootstrap_servers, group_id="g", enable_auto_commit=False
        )
        await consumer.start()
        await consumer.getmany(timeout_ms=2000)  # assigned, its fetches going
        broker.stop()  # SIGKILL: the fetches fail and are retried while the consumer is stopped
        await asyncio.sleep(2)
        await stop_consumer(consumer)
    current = asyncio.current_task()
    assert current is not None
    assert not current.cancelling()
