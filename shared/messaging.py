"""Outbox and inbox tables, and the unit of work that commits state, outbox rows and inbox marks together."""

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Self, TypeVar

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel, col, select

from shared import tracing
from shared.cloudevents import CloudEvent, EventData, encode
from shared.db import SessionFactory, UTCDateTime

T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(UTC)


class OutboxMessage(SQLModel, table=True):
    """An event waiting to be published; the relay sets sent_at, and sent_to the broker's cluster id, after its ack."""

    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(unique=True, max_length=64)
    event_type: str = Field(max_length=200)
    topic: str = Field(max_length=200)
    key: str = Field(max_length=200)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), index=True))
    sent_to: str | None = Field(default=None, max_length=64, description="Cluster id of the broker that acked it")


class InboxEntry(SQLModel, table=True):
    """An event a consumer has applied; written in the same transaction as the event's effect."""

    __tablename__ = "inbox"

    consumer: str = Field(primary_key=True, max_length=100)
    event_id: str = Field(primary_key=True, max_length=64)
    event_type: str = Field(max_length=200)
    applied_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True)
    )  # indexed for the purge (shared.retention)


class UnitOfWork:
    """One transaction: the handler changes state, records events to publish and commits once."""

    def __init__(self, sessions: SessionFactory, *, on_commit: Callable[[], None] = lambda: None) -> None:
        self._sessions = sessions
        self._on_commit = on_commit
        self._published = False
        self._last_steps: dict[str, Callable[[], None]] = {}

    async def __aenter__(self) -> Self:
        self.session = self._sessions()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # close() rolls back what was not committed but, unlike rollback(), leaves loaded objects readable.
        await self.session.close()

    def publish(self, event: CloudEvent, data: EventData) -> None:
        """Queue an event in the outbox; it is published only if the transaction commits. When tracing is
        on, the event records the trace it is written in (traceparent), and the relay sends it in that trace."""
        if tracing.enabled():
            event = event.model_copy(update=tracing.fields())
        self.session.add(
            OutboxMessage(
                event_id=event.id,
                event_type=event.type,
                topic=data.topic,
                key=data.subject(),
                payload=encode(event).decode(),
            )
        )
        self._published = True

    async def already_applied(self, *, consumer: str, event: CloudEvent) -> bool:
        """True when this consumer applied the event before; otherwise mark it applied in this transaction."""
        if await self.session.get(InboxEntry, (consumer, event.id)) is not None:
            return True
        self.session.add(InboxEntry(consumer=consumer, event_id=event.id, event_type=event.type))
        return False

    def at_commit(self, name: str, step: Callable[[], None]) -> None:
        """Run `step` just before the transaction commits, in it; a later step of the same name replaces it
        (what a transaction says last, for example the audit trail's newest checkpoint)."""
        self._last_steps[name] = step

    async def not_yet_applied(
        self, *, consumer: str, events: Sequence[tuple[CloudEvent, T]]
    ) -> list[tuple[CloudEvent, T]]:
        """The events (with what goes with each) this consumer has not applied, each once and in their order; marks
        them applied in this transaction. One query for the whole batch; an event twice in it counts once."""
        ids = {event.id for event, _ in events}
        query = select(InboxEntry.event_id).where(InboxEntry.consumer == consumer, col(InboxEntry.event_id).in_(ids))
        seen = set((await self.session.exec(query)).all())
        fresh = []
        for event, item in events:
            if event.id not in seen:
                seen.add(event.id)
                self.session.add(InboxEntry(consumer=consumer, event_id=event.id, event_type=event.type))
                fresh.append((event, item))
        return fresh

    async def commit(self) -> None:
        steps, self._last_steps = self._last_steps, {}
        for step in steps.values():
            step()
        await self.session.commit()
        if self._published:
            self._published = False
            self._on_commit()


UowFactory = Callable[[], UnitOfWork]
"""Makes a new unit of work: what commands and handlers are given to open their transaction."""
