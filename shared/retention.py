"""Retention: rows a service keeps only for a while, purged in small batches by a loop in each replica.

Each batch is one short statement in its own transaction, oldest rows first by an indexed time
column, with a pause between batches: request handling waits for at most one batch, never for a
whole purge. Replicas purging at once are harmless: on PostgreSQL a batch skips the rows another
replica is purging (FOR UPDATE SKIP LOCKED); on SQLite the writers queue on the file's lock, and a
row already gone is simply not counted.
"""

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Delete, Table, Update, delete, select, tuple_, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import InstrumentedAttribute

from shared.db import SessionFactory
from shared.messaging import InboxEntry, OutboxMessage, utcnow
from shared.metrics import ROWS_PURGED

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Retention:
    """Rows of one table kept `keep` after their `since` time, then deleted, or with `clear` emptied of
    their bulky columns (the row itself stays)."""

    kind: str
    table: Table
    since: InstrumentedAttribute[Any]
    keep: timedelta
    where: Sequence[ColumnElement[bool]] = ()
    clear: Callable[[datetime], dict[str, Any]] | None = field(default=None)

    def statement(self, *, now: datetime, limit: int, skip_locked: bool) -> Delete | Update:
        """One batch: the `limit` oldest rows past their time, deleted or cleared by primary key."""
        keys = list(self.table.primary_key.columns)
        due = select(*keys).where(self.since < now - self.keep, *self.where).order_by(self.since).limit(limit)
        if skip_locked:
            due = due.with_for_update(skip_locked=True)
        match = keys[0].in_(due) if len(keys) == 1 else tuple_(*keys).in_(due)
        if self.clear is None:
            return delete(self.table).where(match)
        return update(self.table).where(match).values(**self.clear(now))


def outbox_retention(keep: timedelta) -> Retention:
    """Outbox rows the broker acked; never a row still waiting to be sent."""
    return Retention(
        kind="outbox",
        table=OutboxMessage.__table__,  # type: ignore[attr-defined]
        since=OutboxMessage.sent_at,  # type: ignore[arg-type]
        keep=keep,
        where=(OutboxMessage.sent_at.is_not(None),),  # type: ignore[union-attr]
    )


def inbox_retention(keep: timedelta) -> Retention:
    """Marks of events a consumer applied."""
    return Retention(
        kind="inbox",
        table=InboxEntry.__table__,  # type: ignore[attr-defined]
        since=InboxEntry.applied_at,  # type: ignore[arg-type]
        keep=keep,
    )


class Purger:
    """Applies a service's retentions now and then, batch by batch."""

    def __init__(
        self, *, service: str, sessions: SessionFactory, interval_s: float, batch_size: int, pause_s: float
    ) -> None:
        self._service = service
        self._sessions = sessions
        self._interval_s = interval_s
        self._batch_size = batch_size
        self._pause_s = pause_s
        self.retentions: list[Retention] = []

    async def run(self) -> None:
        while True:
            try:
                await self.purge()
            except (SQLAlchemyError, OSError) as error:
                log.warning("%s: purge failed (%s); trying again in %.0fs", self._service, error, self._interval_s)
            await asyncio.sleep(self._interval_s)

    async def purge(self, *, now: datetime | None = None) -> dict[str, int]:
        """Purge every kind of row past its time; returns how many rows of each kind this replica purged."""
        now = now or utcnow()
        return {retention.kind: await self._purge(retention, now) for retention in self.retentions}

    async def _purge(self, retention: Retention, now: datetime) -> int:
        total = 0
        while True:
            count = await self._batch(retention, now)
            total += count
            ROWS_PURGED.labels(self._service, retention.kind).inc(count)
            if count < self._batch_size:
                return total
            await asyncio.sleep(self._pause_s)  # lets waiting writers in between two batches

    async def _batch(self, retention: Retention, now: datetime) -> int:
        async with self._sessions() as session:
            postgres = session.bind is not None and session.bind.dialect.name == "postgresql"
            statement = retention.statement(now=now, limit=self._batch_size, skip_locked=postgres)
            result = await session.exec(statement)
            await session.commit()
        return int(result.rowcount or 0)
