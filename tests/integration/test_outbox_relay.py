"""The outbox relay: a row is marked sent only after the broker acked it, and nothing is lost meanwhile."""

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlmodel import select

from services.requests.bootstrap import MIGRATIONS
from shared import db, migrations
from shared.broker import EmbeddedBroker, free_port
from shared.cloudevents import CloudEvent, new_event
from shared.events import TASKING_TOPIC, MatchingStarted
from shared.kafka import BrokerReplaced, OutboxRelay, ensure_topics
from shared.messaging import OutboxMessage, UnitOfWork
from shared.settings import CommonSettings
from tests.support.infra import fresh_postgres_database
from tests.support.kafka import Publisher, TopicProbe
from tests.support.services import eventually
from tests.support.tcp_proxy import tcp_proxy_to


async def test_events_wait_in_the_outbox_while_the_broker_is_away_counted_as_backlog_and_go_out_when_it_is_back(
    database_url: str, kafka: CommonSettings
) -> None:
    await migrations.upgrade(script_location=MIGRATIONS, database_url=database_url)
    engine = db.create_engine(database_url)
    sessions = db.session_factory(engine)
    nowhere = kafka.model_copy(update={"kafka_bootstrap_servers": f"127.0.0.1:{free_port()}"})
    service = f"relay-{uuid.uuid4().hex[:8]}"  # its own label of the process-wide gauge
    await ensure_topics(kafka, [TASKING_TOPIC])
    try:
        events = [new_event(MatchingStarted(request_id=f"r-outbox-{n}"), source="/test") for n in range(3)]
        async with UnitOfWork(sessions) as work:
            for event in events:
                work.publish(event, MatchingStarted.model_validate(event.data))
            await work.commit()

        unreachable = OutboxRelay(service=service, sessions=sessions, settings=nowhere)
        async with _running(unreachable):
            await eventually(lambda: _backlog_is(service, 3))  # what an operator sees while the broker is away
        assert [row.sent_at for row in await _rows(sessions)] == [None] * 3

        relay = OutboxRelay(service=service, sessions=sessions, settings=kafka)
        async with _running(relay), TopicProbe(kafka, TASKING_TOPIC) as probe:
            published = await probe.event("matching.started", request_id="r-outbox-2")
            await eventually(lambda: _all_sent(sessions))
            await eventually(lambda: _backlog_is(service, 0))
        assert published["id"] == events[2].id
    finally:
        await engine.dispose()


async def _backlog_is(service: str, rows: int) -> bool:
    return REGISTRY.get_sample_value("mutualaid_outbox_pending", {"service": service}) == rows


async def test_events_a_broker_came_back_without_are_sent_again_once_even_by_a_relay_that_never_met_the_old_broker(
    database_url: str, kafka: CommonSettings
) -> None:
    """The broker restarts empty while the service is down too: the relay of its next process never met the old
    broker, and the new broker's topic already holds an event (another replica's, or one sent meanwhile). The
    events the old broker acked still go out again, once."""
    await migrations.upgrade(script_location=MIGRATIONS, database_url=database_url)
    engine = db.create_engine(database_url)
    sessions = db.session_factory(engine)
    with EmbeddedBroker() as broker:
        settings = kafka.model_copy(update={"kafka_bootstrap_servers": broker.bootstrap_servers})
        await ensure_topics(settings, [TASKING_TOPIC])
        try:
            forgotten = await _written(sessions, "r-forgotten")
            async with _running(OutboxRelay(service="test", sessions=sessions, settings=settings)):
                await eventually(lambda: _all_sent(sessions))
            broker.stop()
            broker.start()  # the same port, nothing on it
            await ensure_topics(settings, [TASKING_TOPIC])
            async with Publisher(settings) as other:
                await other.event(*_matching_started("r-other"))
            again = OutboxRelay(service="test", sessions=sessions, settings=settings)  # the next process's relay
            async with _running(again), TopicProbe(settings, TASKING_TOPIC) as probe:
                published = await probe.event("matching.started", request_id="r-forgotten")
                await eventually(lambda: _all_sent(sessions))
                assert await again.refill_if_the_broker_forgot() == 0  # this broker acked it now
                await probe.drain(seconds=0.5)
            assert published["id"] == forgotten
            assert [json.loads(r.value)["id"] for r in probe.records].count(forgotten) == 1
        finally:
            await engine.dispose()


def _matching_started(request_id: str) -> tuple[CloudEvent, MatchingStarted]:
    data = MatchingStarted(request_id=request_id)
    return new_event(data, source="/test"), data


async def test_a_batch_sent_to_a_broker_that_restarted_empty_after_the_relays_check_loses_no_earlier_event(
    database_url: str, kafka: CommonSettings
) -> None:
    """The broker restarts empty (same address, new cluster id) after the relay last checked it, and the relay's
    producer, reconnecting by itself, takes the next batch there. That topic then holds something, yet not the
    events the old broker lost: they must go out again all the same."""
    await migrations.upgrade(script_location=MIGRATIONS, database_url=database_url)
    engine = db.create_engine(database_url)
    sessions = db.session_factory(engine)
    with EmbeddedBroker() as broker:
        settings = kafka.model_copy(
            update={"kafka_bootstrap_servers": broker.bootstrap_servers, "outbox_poll_interval_s": 3600.0}
        )  # the relay checks the broker when woken only: the test says when
        try:
            first, second = await _written(sessions, "r-before"), None
            relay = OutboxRelay(service="test", sessions=sessions, settings=settings)
            async with _kept_running(relay):
                await ensure_topics(settings, [TASKING_TOPIC])
                relay.wake()
                await eventually(lambda: _all_sent(sessions))
                broker.stop()
                broker.start()  # the same port, nothing on it
                await ensure_topics(settings, [TASKING_TOPIC])  # as the services set their topics up again
                second = await _written(sessions, "r-after")
                with contextlib.suppress(BrokerReplaced):
                    await relay.publish_pending()  # the batch right after a check the old broker passed
                relay.wake()
                async with TopicProbe(settings, TASKING_TOPIC) as probe:
                    await probe.event("matching.started", request_id="r-after")
                    await probe.event("matching.started", request_id="r-before")  # lost with the old broker
                await eventually(lambda: _all_sent(sessions))
            assert {json.loads(record.value)["id"] for record in probe.records} == {first, second}
        finally:
            await engine.dispose()


async def test_a_relay_that_first_reaches_another_broker_than_its_consumers_started_on_reports_it_replaced(
    database_url: str, kafka: CommonSettings
) -> None:
    """A service restarted while the broker was frozen: its consumers joined their groups on that broker as it came
    back, the relay (backing off) reached the broker only after it had been restarted empty. The consumers'
    positions went with the old broker: the relay must say the broker was replaced, so that they start again."""
    await migrations.upgrade(script_location=MIGRATIONS, database_url=database_url)
    engine = db.create_engine(database_url)
    try:
        relay = OutboxRelay(service="test", sessions=db.session_factory(engine), settings=kafka)
        relay.expect_cluster("mutualaid-the-broker-the-consumers-started-on")
        with pytest.raises(BrokerReplaced):
            await relay.run()
        await relay.stop()
    finally:
        await engine.dispose()


async def _written(sessions: db.SessionFactory, request_id: str) -> str:
    """Commit one matching.started event to the outbox (without waking a relay); returns its id."""
    data = MatchingStarted(request_id=request_id)
    event = new_event(data, source="/test")
    async with UnitOfWork(sessions) as work:
        work.publish(event, data)
        await work.commit()
    return event.id


@contextlib.asynccontextmanager
async def _running(relay: OutboxRelay) -> AsyncIterator["asyncio.Task[None]"]:
    task = asyncio.create_task(relay.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await relay.stop()


@contextlib.asynccontextmanager
async def _kept_running(relay: OutboxRelay) -> AsyncIterator[None]:
    """Run the relay, and run it again when it stops on BrokerReplaced, as a service's runtime does."""

    async def keep() -> None:
        while True:
            with contextlib.suppress(BrokerReplaced):
                await relay.run()

    async with _running_task(keep()):
        yield
    await relay.stop()


@contextlib.asynccontextmanager
async def _running_task(work: Coroutine[Any, Any, None]) -> AsyncIterator[None]:
    task = asyncio.create_task(work)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _rows(sessions: db.SessionFactory) -> list[OutboxMessage]:
    async with sessions() as session:
        return list((await session.exec(select(OutboxMessage))).all())


async def _all_sent(sessions: db.SessionFactory) -> bool:
    return all(row.sent_at is not None for row in await _rows(sessions))


async def test_a_second_relay_waits_while_another_replica_sends_so_events_keep_their_order(
    postgres_server: str, kafka: CommonSettings
) -> None:
    """Replicas share one PostgreSQL outbox. While one relay is part way through a batch, another must not
    send the rows after it (they would overtake the batch): it waits, then sends everything in order."""
    async with fresh_postgres_database(postgres_server) as database_url:
        await migrations.upgrade(script_location=MIGRATIONS, database_url=database_url)
        engine = db.create_engine(database_url)
        sessions = db.session_factory(engine)
        await ensure_topics(kafka, [TASKING_TOPIC])
        try:
            written = []
            async with UnitOfWork(sessions) as work:
                for _ in range(12):
                    data = MatchingStarted(request_id="r-ordered")
                    event = new_event(data, source="/test")
                    work.publish(event, data)
                    written.append(event.id)
                await work.commit()
            sending, waiting = (OutboxRelay(service="test", sessions=sessions, settings=kafka) for _ in range(2))
            async with TopicProbe(kafka, TASKING_TOPIC) as probe, sessions() as mid_batch:
                await sending.claim(mid_batch)  # the first replica has taken a batch and not yet sent it
                await mid_batch.exec(select(OutboxMessage).limit(4).with_for_update())
                async with _running(waiting):
                    with contextlib.suppress(TimeoutError):
                        await probe.wait_for(lambda _: True, timeout=2)
                    assert probe.records == []  # nothing overtook the batch
                    await mid_batch.commit()
                    await probe.wait_for(lambda record: json.loads(record.value)["id"] == written[-1])
            assert [json.loads(record.value)["id"] for record in probe.records] == written
        finally:
            await engine.dispose()


async def test_a_database_that_drops_the_relay_mid_batch_delays_its_events_and_loses_none(
    postgres_server: str, kafka: CommonSettings
) -> None:
    """The database goes away while the relay is reading a batch (its connection closed in the middle of a
    statement): the relay waits for it and then sends the rows; it does not stop publishing for good."""
    async with fresh_postgres_database(postgres_server) as database_url, tcp_proxy_to(database_url) as proxy:
        await migrations.upgrade(script_location=MIGRATIONS, database_url=database_url)
        engine, proxied = db.create_engine(database_url), db.create_engine(proxy.url_of(database_url))
        sessions = db.session_factory(engine)
        await ensure_topics(kafka, [TASKING_TOPIC])
        try:
            data = MatchingStarted(request_id="r-dropped")
            event = new_event(data, source="/test")
            relay = OutboxRelay(service="test", sessions=db.session_factory(proxied), settings=kafka)
            async with TopicProbe(kafka, TASKING_TOPIC) as probe, sessions() as other_replica:
                await relay.claim(other_replica)  # the relay's next batch waits in the middle of a statement
                async with UnitOfWork(sessions) as work:
                    work.publish(event, data)
                    await work.commit()
                async with _running(relay) as task:
                    await eventually(lambda: _waits_for_the_relay_lock(sessions))
                    await proxy.cut()
                    await other_replica.commit()
                    await asyncio.sleep(1)
                    await proxy.restore()
                    published = await probe.event("matching.started", request_id="r-dropped")
                    await eventually(lambda: _all_sent(sessions))
                    assert not task.done()
            assert published["id"] == event.id
        finally:
            await engine.dispose()
            await proxied.dispose()


async def _waits_for_the_relay_lock(sessions: db.SessionFactory) -> bool:
    async with sessions() as session:
        connection = await session.connection()
        waiting = await connection.execute(
            text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        )
        return bool(waiting.scalar_one())
