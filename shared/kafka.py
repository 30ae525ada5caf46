"""The Kafka adapter on aiokafka: topic set-up, the outbox relay and the event consumer loop."""

import asyncio
import contextlib
import json
import logging
import time
import zlib
from collections.abc import Awaitable, Callable, Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.consumer.fetcher import Fetcher
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from aiokafka.protocol.metadata import MetadataRequest
from sqlalchemy import func, or_, update
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from shared import tracing
from shared.cloudevents import CONTENT_TYPE, CloudEvent, EventData, InvalidEvent, parse
from shared.correlation import correlated
from shared.db import CONFLICTS, SessionFactory, advisory_xact_lock, is_unavailable
from shared.events import dead_letter_topic
from shared.messaging import OutboxMessage, utcnow
from shared.metrics import CONSUMER_LAG, EVENTS_CONSUMED, EVENTS_PUBLISHED, OUTBOX_PENDING
from shared.settings import CommonSettings

log = logging.getLogger(__name__)

TOPIC_EXISTS = 36
CONFLICT_ATTEMPTS = 10  # racing decisions and planning runs on one request: each retry reads the winner's state
DB_RETRY_S = 0.5  # how soon the relay and the consumers try the database again after it dropped them
PROBE_TIMEOUT_S = 1.5  # a frozen broker accepts connections and never answers: a metadata request must give up


def create_producer(settings: CommonSettings) -> AIOKafkaProducer:
    """A producer without idempotence or transactions (Tansu refuses InitProducerId); acks from all replicas."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        acks="all",
        enable_idempotence=False,
        linger_ms=0,
        request_timeout_ms=10000,
    )


async def ensure_topics(settings: CommonSettings, topics: list[str], *, partitions: int | None = None) -> str | None:
    """Create the topics if they do not exist yet; returns the cluster id of the broker that answered."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        cluster: str | None = (await admin.describe_cluster()).get("cluster_id")
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(settings.namespaced(topic), partitions or settings.kafka_topic_partitions, 1)
            for topic in topics
            if settings.namespaced(topic) not in existing
        ]
        if wanted:
            response = await admin.create_topics(wanted)
            for topic, code, message in response.topic_errors:
                if code not in (0, TOPIC_EXISTS):
                    raise KafkaError(f"could not create topic {topic}: {code} {message}")
        return cluster
    finally:
        await admin.close()


async def stop_consumer(consumer: AIOKafkaConsumer) -> None:
    """Stop an aiokafka consumer; a CancelledError its stop raises of itself is logged, not passed on.

    aiokafka's stop can raise CancelledError although nobody cancelled the caller (aio-libs/aiokafka#647:
    it awaits a task it has just cancelled, e.g. when stopped right after it started), leaving its fetcher
    and connections open. Passed on, that would end the caller as if cancelled: a service's Kafka task would
    stop without a word. So the rest of the stop is done here; a caller that is itself being cancelled
    (Task.cancelling()) is still cancelled, and the stop carries on without it.
    """
    stopping = asyncio.ensure_future(consumer.stop())
    try:
        await asyncio.shield(stopping)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise  # the stop goes on by itself: a half-stopped consumer would keep its fetcher and connections
        log.warning("stopping a Kafka consumer raised CancelledError of itself (aiokafka#647); finishing the stop")
        # What stop() skipped after its coordinator raised (aiokafka 0.14): the fetcher's and the client's tasks.
        if consumer._fetcher is not None:
            await _close_fetcher(consumer._fetcher)
        await consumer._client.close()


async def _close_fetcher(fetcher: Fetcher) -> None:
    """Close an aiokafka fetcher whose close() raises CancelledError of itself: it awaits each pending fetch
    task just after cancelling it, and there are such tasks while the broker is away (retried fetches)."""
    try:
        await fetcher.close()
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
        for pending in fetcher._pending_tasks:
            pending.cancel()
        await asyncio.gather(*fetcher._pending_tasks, return_exceptions=True)


class BrokerReplaced(KafkaError):  # type: ignore[misc]
    """Another broker answers at the same address: what the old one held (topics, offsets, groups) is gone."""


class DatabaseUnavailable(Exception):
    """The outbox could not be read or marked: the database is unreachable or dropped the connection."""


class OutboxRelay:
    """Publishes outbox rows in order; woken on commit, polling only as a fallback.

    A row is marked sent only after the broker acked it, so a crash or an outage means the
    row is sent again later (consumers deduplicate by event id), never lost. When idle it asks the
    broker for metadata each poll, so `in_contact()` turns false within seconds of an outage (a
    frozen broker included); after any failure it reconnects afresh, and every row another broker
    acked (a restarted memory broker holds nothing) goes out again.
    """

    def __init__(
        self, *, service: str, sessions: SessionFactory, settings: CommonSettings, batch_size: int = 500
    ) -> None:
        self._service = service
        self._sessions = sessions
        self._settings = settings
        self._batch_size = batch_size
        self._wake = asyncio.Event()
        self._producer: AIOKafkaProducer | None = None
        self._last_contact: float | None = None  # time.monotonic() of the broker's last answer
        self._cluster: str | None = None  # the cluster id the broker gave when the relay first reached it

    def wake(self) -> None:
        self._wake.set()

    def expect_cluster(self, cluster: str | None) -> None:
        """The broker the service's consumers started on, unless the relay already knows one: a relay whose first
        broker is another one raises BrokerReplaced (the consumers' offsets there are gone) and sends all again."""
        if self._cluster is None:
            self._cluster = cluster

    def in_contact(self) -> bool:
        """The broker answered the relay within the last poll interval and probe timeout (plus slack)."""
        window = self._settings.outbox_poll_interval_s + 2 * PROBE_TIMEOUT_S
        return self._last_contact is not None and time.monotonic() - self._last_contact < window

    async def run(self) -> None:
        backoff = 0.1
        while True:
            try:
                await self._connect()
                await self._probe()
                while await self.publish_pending() == self._batch_size:
                    pass
                backoff = 0.1
            except BrokerReplaced:
                await self.stop()
                self._cluster = None
                raise
            except DatabaseUnavailable as error:
                # The broker answered this round; only the database is away: keep the producer, try again soon.
                log.warning("outbox relay cannot read the outbox (%s); retrying in %.1fs", error.__cause__, DB_RETRY_S)
                await asyncio.sleep(DB_RETRY_S)
                continue
            except (KafkaError, OSError, TimeoutError, DBAPIError) as error:
                reason = str(error) or f"no answer within {PROBE_TIMEOUT_S}s"
                log.warning("outbox relay cannot publish (%s); reconnecting in %.1fs", reason, backoff)
                await self.stop()
                with contextlib.suppress(SQLAlchemyError, OSError):  # the database may be away too
                    await self.report_backlog()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._settings.outbox_poll_interval_s):
                    await self._wake.wait()
            self._wake.clear()

    async def stop(self) -> None:
        self._last_contact = None
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await producer.stop()

    async def _connect(self) -> None:
        if self._producer is not None:
            return
        producer = create_producer(self._settings)
        try:
            await producer.start()
            await self._check_cluster(producer)
            await self.refill_if_the_broker_forgot()
        except BaseException:
            await producer.stop()
            raise
        self._producer = producer
        self._last_contact = time.monotonic()

    async def _probe(self) -> None:
        """One metadata round trip, bounded: raises TimeoutError or KafkaError when the broker does not answer,
        BrokerReplaced when another broker (a restarted memory broker, a rebuilt cluster) answers."""
        assert self._producer is not None
        await self._check_cluster(self._producer)
        self._last_contact = time.monotonic()

    async def _check_cluster(self, producer: AIOKafkaProducer) -> None:
        async with asyncio.timeout(PROBE_TIMEOUT_S):
            node = producer.client.get_random_node()
            metadata = await producer.client.send(node, MetadataRequest([]))
        cluster = getattr(metadata, "cluster_id", None)
        if self._cluster is not None and cluster != self._cluster:
            raise BrokerReplaced(f"cluster id {self._cluster} became {cluster}")
        self._cluster = cluster

    async def refill_if_the_broker_forgot(self) -> int:
        """Send again every retained row that another broker acked; returns how many rows.

        Each row records the cluster id of the broker that acked it (sent_to). A broker with another id (a
        memory broker restarted, a cluster rebuilt or restored) does not hold those events, whatever its
        topics hold: a batch or another replica may have written there since. They go out again in their
        order; consumers apply each once (inbox). Rows from before sent_to was recorded go out once more.
        A broker that gives no cluster id cannot be told apart: nothing is sent again.
        """
        if self._cluster is None:
            return 0
        async with self._sessions() as session:
            elsewhere = or_(col(OutboxMessage.sent_to).is_(None), col(OutboxMessage.sent_to) != self._cluster)
            again = update(OutboxMessage).where(col(OutboxMessage.sent_at).is_not(None), elsewhere)
            result = await session.exec(again.values(sent_at=None, sent_to=None))
            await session.commit()
        count = int(result.rowcount or 0)
        if count:
            log.warning("%d event(s) were acked by another broker than %s: sending them again", count, self._cluster)
        return count

    async def claim(self, session: AsyncSession) -> None:
        """Take this service's outbox for one batch, until the session's transaction ends.

        Replicas share one PostgreSQL outbox; if each took the rows the others had not locked, a later
        event of an aggregate could go out before an earlier one. So one relay sends at a time (an
        advisory lock, freed on commit or when its connection drops) and the others wait their turn
        (docs/decisions/0013). SQLite has one process per file: nothing to take.
        """
        await advisory_xact_lock(session, zlib.crc32(f"outbox-relay:{self._service}".encode()))

    async def publish_pending(self) -> int:
        """Send one batch of unsent rows, wait for every ack, then mark them sent; returns the batch size.

        Marks them only if the broker's cluster id was the one the relay knows before and after the sends,
        else raises BrokerReplaced (a restarted broker took the batch, or part of it: run() sends all again).

        Raises DatabaseUnavailable when the database cannot be reached or drops the connection (the rows
        stay unsent, or are sent again: consumers apply each event once), KafkaError when the broker fails.
        """
        try:
            return await self._publish_batch()
        except KafkaError:
            raise
        except Exception as error:
            if is_unavailable(error):
                raise DatabaseUnavailable() from error
            raise

    async def _publish_batch(self) -> int:
        assert self._producer is not None
        self._wake.clear()
        async with self._sessions() as session:
            await self.claim(session)
            rows = (
                await session.exec(
                    select(OutboxMessage)
                    .where(col(OutboxMessage.sent_at).is_(None))
                    .order_by(col(OutboxMessage.id))
                    .limit(self._batch_size)
                )
            ).all()
            if not rows:
                OUTBOX_PENDING.labels(self._service).set(0)
                return 0
            backlog = len(rows) if len(rows) < self._batch_size else await _unsent(session)
            OUTBOX_PENDING.labels(self._service).set(backlog)
            # The producer reconnects by itself: only a broker that answered with the same cluster id before
            # and after the batch can have kept it; a batch sent across a restart stays unsent (BrokerReplaced).
            await self._check_cluster(self._producer)
            await self._send(rows)
            await self._check_cluster(self._producer)
            self._last_contact = time.monotonic()
            ids = [row.id for row in rows]
            sent = {"sent_at": utcnow(), "sent_to": self._cluster}
            await session.exec(update(OutboxMessage).where(col(OutboxMessage.id).in_(ids)).values(**sent))
            await session.commit()
        OUTBOX_PENDING.labels(self._service).set(backlog - len(rows))
        EVENTS_PUBLISHED.labels(self._service).inc(len(rows))
        return len(rows)

    async def _send(self, rows: Sequence[OutboxMessage]) -> None:
        """Send the rows in their order, each in the trace that wrote its event, and wait for every ack."""
        assert self._producer is not None
        acks = []
        for row in rows:
            with tracing.resumed(_written_in(row)):  # the send span joins that trace, not the relay's own
                acks.append(
                    await self._producer.send(
                        self._settings.namespaced(row.topic),
                        value=row.payload.encode(),
                        key=row.key.encode(),
                        headers=[("content-type", CONTENT_TYPE.encode()), ("ce_type", row.event_type.encode())],
                    )
                )
        await asyncio.gather(*acks)

    async def report_backlog(self) -> int:
        """Count the rows not sent yet and export the count (mutualaid_outbox_pending); returns it."""
        async with self._sessions() as session:
            count = await _unsent(session)
        OUTBOX_PENDING.labels(self._service).set(count)
        return count


async def _unsent(session: AsyncSession) -> int:
    query = select(func.count()).select_from(OutboxMessage).where(col(OutboxMessage.sent_at).is_(None))
    return int((await session.exec(query)).one())


def _written_in(row: OutboxMessage) -> dict[str, str]:
    """The trace context the row's event was written in (its CloudEvents traceparent); empty when tracing is off."""
    if not tracing.enabled():
        return {}
    envelope = json.loads(row.payload)
    return {name: envelope[name] for name in tracing.FIELDS if isinstance(envelope.get(name), str)}


Handler = Callable[[CloudEvent, EventData], Awaitable[None]]
Batch = list[tuple[CloudEvent, EventData]]
BatchHandler = Callable[[Batch], Awaitable[None]]
"""Applies consecutive events of one type in one transaction: each once (UnitOfWork.not_yet_applied)."""
Parsed = tuple[ConsumerRecord, CloudEvent, EventData]


class _AssignmentListener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, assigned: asyncio.Event, consumer: AIOKafkaConsumer, *, from_beginning: bool) -> None:
        self._assigned = assigned
        self._consumer = consumer
        self._from_beginning = from_beginning

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self._assigned.clear()

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        if assigned and self._from_beginning:
            # On a broker that came back empty, an offset commit the old consumer still had in flight can
            # point past the first new records; reading from the start again costs only inbox look-ups.
            await self._consumer.seek_to_beginning(*assigned)
            self._from_beginning = False
        if assigned:
            self._assigned.set()


class EventConsumer:
    """Consumes topics in a group; hands each valid event to its handler, dead-letters the rest.

    Offsets are committed only after the handler's own database commit (auto-commit is off),
    so a crash replays events, and the handler's inbox makes the replay change nothing.

    A run of consecutive events of one type that has a batch handler goes to it in one transaction (one
    commit for many events, when they come faster than they are applied one by one). When the batch
    handler fails, its transaction is rolled back and the run is applied event by event, so a poison event
    is dead-lettered alone. With tracing on, events are applied one by one, each in its own span.
    """

    def __init__(
        self,
        *,
        service: str,
        group_id: str,
        topics: list[str],
        handlers: dict[str, Handler],
        settings: CommonSettings,
        batch_handlers: dict[str, BatchHandler] | None = None,
    ) -> None:
        self.group_id = group_id
        self._service = service
        self.topics = topics  # as named in code, without the namespace
        self.handlers = handlers  # CloudEvents type -> handler
        self.batch_handlers = batch_handlers or {}  # CloudEvents type -> handler of a run of them
        self._settings = settings
        self.assigned = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None
        self._dlq: AIOKafkaProducer | None = None

    async def start(self, *, from_beginning: bool = False) -> None:
        """Join the group; from_beginning reads every partition of the first assignment from its start."""
        self._dlq = create_producer(self._settings)
        await self._dlq.start()
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self._settings.kafka_bootstrap_servers,
            group_id=self._settings.namespaced(self.group_id),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=self._settings.kafka_session_timeout_ms,
            heartbeat_interval_ms=self._settings.kafka_heartbeat_interval_ms,
            fetch_max_wait_ms=self._settings.kafka_fetch_max_wait_ms,
        )
        topics = [self._settings.namespaced(topic) for topic in self.topics]
        listener = _AssignmentListener(self.assigned, self._consumer, from_beginning=from_beginning)
        self._consumer.subscribe(topics, listener=listener)
        await self._consumer.start()

    def assignment(self) -> set[TopicPartition]:
        """The partitions this consumer holds now."""
        return set(self._consumer.assignment()) if self._consumer is not None else set()

    async def stop(self) -> None:
        if self._consumer is not None:
            await stop_consumer(self._consumer)
        if self._dlq is not None:
            await self._dlq.stop()

    async def run(self) -> None:
        assert self._consumer is not None
        while True:
            batches = await self._consumer.getmany(timeout_ms=1000, max_records=500)
            for partition, records in batches.items():
                await self.process(records)
                self._report_lag(partition, records[-1].offset + 1)
                try:
                    await self._consumer.commit({partition: records[-1].offset + 1})
                except (CommitFailedError, IllegalStateError) as error:
                    # A rebalance took the partition away; its new owner replays, the inbox deduplicates.
                    log.warning("offset commit for %s skipped: %s", partition, error)

    def _report_lag(self, partition: TopicPartition, next_offset: int) -> None:
        """What is left to read on the partition, as the last fetch saw its end."""
        assert self._consumer is not None
        end = self._consumer.highwater(partition)
        if end is not None:
            CONSUMER_LAG.labels(self._service, self.group_id, partition.topic, str(partition.partition)).set(
                max(0, end - next_offset)
            )

    async def process(self, records: Sequence[ConsumerRecord]) -> None:
        """Apply a partition's records in their order: runs of one batched type together, the rest one by one."""
        run: list[Parsed] = []
        for record in records:
            parsed = await self._parse(record)
            if parsed is None:
                continue
            if run and (parsed[1].type != run[0][1].type or not self._batched(parsed[1].type)):
                await self._process_run(run)
                run = []
            run.append(parsed)
        if run:
            await self._process_run(run)

    def _batched(self, event_type: str) -> bool:
        return event_type in self.batch_handlers and not tracing.enabled()

    async def _parse(self, record: ConsumerRecord) -> Parsed | None:
        """The record's event and data; None (after dead-lettering or ignoring it) when there is nothing to apply."""
        try:
            event, data = parse(record.value)
        except InvalidEvent as error:
            await self._dead_letter(record, str(error))
            return None
        if event.type not in self.handlers or data is None:
            EVENTS_CONSUMED.labels(self._service, self.group_id, "ignored").inc()
            return None
        return record, event, data

    async def _process_run(self, run: list[Parsed]) -> None:
        if len(run) > 1:
            batch_handler = self.batch_handlers[run[0][1].type]
            try:
                await self._apply(lambda: batch_handler([(event, data) for _, event, data in run]), run[0][1])
            except Exception:
                log.warning("batch of %d %s failed; applying them one by one", len(run), run[0][1].type, exc_info=True)
            else:
                for record, event, _ in run:
                    self._handled(record, event)
                return
        for record, event, data in run:
            await self._process_one(record, event, data)

    async def _process_one(self, record: ConsumerRecord, event: CloudEvent, data: EventData) -> None:
        handler = self.handlers[event.type]
        with correlated(event.correlationid or event.id), self._span(record, event):
            try:
                await self._apply(lambda: handler(event, data), event)
            except Exception as error:  # a bug or a poison event: park it, keep the partition moving
                log.exception("handler for %s failed on event %s", event.type, event.id)
                await self._dead_letter(record, f"handler failed: {type(error).__name__}: {error}")
                return
            self._handled(record, event)

    def _handled(self, record: ConsumerRecord, event: CloudEvent) -> None:
        with correlated(event.correlationid or event.id):
            log.info(
                "handled %s %s from %s[%d]@%d",
                event.type, event.id, record.topic, record.partition, record.offset,
                extra={"event_type": event.type, "event_id": event.id, "consumer": self.group_id},
            )  # fmt: skip
        EVENTS_CONSUMED.labels(self._service, self.group_id, "applied").inc()

    def _span(self, record: ConsumerRecord, event: CloudEvent) -> contextlib.AbstractContextManager[None]:
        """The span of handling the record, in the trace that sent it (nothing when tracing is off)."""
        if not tracing.enabled():
            return contextlib.nullcontext()
        headers = {name: value.decode(errors="replace") for name, value in record.headers or ()}
        attributes = {
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.destination.name": record.topic,
            "messaging.destination.partition.id": str(record.partition),
            "messaging.kafka.offset": record.offset,
            "messaging.consumer.group.name": self.group_id,
            "messaging.message.id": event.id,
            "cloudevents.event_type": event.type,
            "cloudevents.event_source": event.source,
        }
        carrier = event.model_dump(include=set(tracing.FIELDS), exclude_none=True)
        return tracing.consuming(record.topic, headers=headers, carrier=carrier, attributes=attributes)

    async def _apply(self, handle: Callable[[], Awaitable[None]], event: CloudEvent) -> None:
        """Retry transient database failures without end (nothing is acked meanwhile); conflicts with
        concurrent decisions (a version or a unique key another transaction won) up to CONFLICT_ATTEMPTS times.
        event: the one handled (the first of a batch), for the log."""
        while True:
            try:
                async for attempt in AsyncRetrying(
                    retry=retry_if_exception_type((*CONFLICTS, DBAPIError)),
                    stop=stop_after_attempt(CONFLICT_ATTEMPTS),
                    wait=wait_exponential(multiplier=0.05, max=1),
                    reraise=True,
                ):
                    with attempt:
                        await handle()
                return
            except Exception as error:
                if not is_unavailable(error):
                    raise
                log.warning("database unavailable while applying %s (%s); retrying", event.id, error)
                await asyncio.sleep(DB_RETRY_S)

    async def _dead_letter(self, record: ConsumerRecord, reason: str) -> None:
        assert self._dlq is not None
        log.warning("dead-lettering %s[%s]@%s: %s", record.topic, record.partition, record.offset, reason)
        headers = [
            *(record.headers or ()),
            ("dlq-reason", reason.encode()),
            ("dlq-original-topic", record.topic.encode()),
            ("dlq-original-partition", str(record.partition).encode()),
            ("dlq-original-offset", str(record.offset).encode()),
            ("dlq-consumer", self.group_id.encode()),
        ]
        await self._dlq.send_and_wait(
            dead_letter_topic(record.topic), value=record.value, key=record.key, headers=headers
        )
        EVENTS_CONSUMED.labels(self._service, self.group_id, "dead_lettered").inc()
