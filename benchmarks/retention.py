"""Retention benchmark: purge a large outbox in batches while a writer keeps committing beside it.

Run with `.venv/bin/python benchmarks/retention.py [--rows 50000] [--batch 500] [--pause-ms 50]
[--database-url URL]`; see benchmarks/README.md. Without --database-url it uses a new SQLite file;
a URL must name an empty database (the requests service's migrations are run on it).
"""

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.requests.bootstrap import MIGRATIONS
from shared import db, migrations
from shared.messaging import OutboxMessage, utcnow
from shared.retention import Purger, outbox_retention

PAYLOAD = "x" * 800  # about the size of an outbox row of the 5,000-unit import (8.2 MB for 10,246 rows)


async def fill(engine: AsyncEngine, rows: int) -> None:
    """`rows` events sent a month ago, in chunks of 5,000 rows."""
    long_ago = utcnow() - timedelta(days=30)
    for start in range(0, rows, 5000):
        async with engine.begin() as connection:
            await connection.execute(insert(OutboxMessage), [_row(long_ago) for _ in range(min(5000, rows - start))])


def _row(sent_at: Any) -> dict[str, Any]:
    event_id = str(uuid.uuid4())
    return {
        "event_id": event_id,
        "event_type": "bench.sent",
        "topic": "mutualaid.bench.v1",
        "key": event_id,
        "payload": PAYLOAD,
        "created_at": sent_at,
        "sent_at": sent_at,
    }


async def writer(sessions: db.SessionFactory, stop: asyncio.Event, latencies: list[float]) -> None:
    """Commits one new outbox row at a time, as a request handler does, until told to stop."""
    while not stop.is_set():
        started = time.perf_counter()
        async with sessions() as session:
            session.add(OutboxMessage(**(_row(None) | {"created_at": utcnow()})))
            await session.commit()
        latencies.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.01)


async def write_for(sessions: db.SessionFactory, *, seconds: float) -> list[float]:
    stop, latencies = asyncio.Event(), list[float]()
    writing = asyncio.create_task(writer(sessions, stop, latencies))
    await asyncio.sleep(seconds)
    stop.set()
    await writing
    return latencies


def timed_batches(engine: Any) -> list[float]:
    """Milliseconds of each DELETE the purge runs (how long it holds the rows, or SQLite's write lock)."""
    durations: list[float] = []

    def before(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        conn.info["started"] = time.perf_counter()

    def after(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE"):
            durations.append((time.perf_counter() - conn.info["started"]) * 1000)

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    event.listen(engine.sync_engine, "after_cursor_execute", after)
    return durations


async def run(url: str, rows: int, batch: int, pause_ms: int) -> None:
    await migrations.upgrade(script_location=MIGRATIONS, database_url=url)
    engine = db.create_engine(url)
    sessions = db.session_factory(engine)
    try:
        await fill(engine, rows)
        purger = Purger(service="bench", sessions=sessions, interval_s=60, batch_size=batch, pause_s=pause_ms / 1000)
        purger.retentions.append(outbox_retention(timedelta(days=7)))
        alone = await write_for(sessions, seconds=2.0)  # the writer's latency with no purge, to compare
        batches = timed_batches(engine)
        stop, latencies = asyncio.Event(), list[float]()
        writing = asyncio.create_task(writer(sessions, stop, latencies))
        started = time.perf_counter()
        purged = (await purger.purge())["outbox"]
        elapsed = time.perf_counter() - started
        stop.set()
        await writing
        async with engine.connect() as connection:
            left = int((await connection.execute(select(func.count()).select_from(OutboxMessage))).scalar_one())
        report(engine.dialect.name, purged, elapsed, batches, latencies, alone, left, pause_ms)
    finally:
        await engine.dispose()


def report(
    dialect: str,
    purged: int,
    elapsed: float,
    batches: list[float],
    writes: list[float],
    alone: list[float],
    left: int,
    pause_ms: int,
) -> None:
    print(f"{dialect}: purged {purged} sent outbox rows in {elapsed:.2f}s ({purged / elapsed:,.0f} rows/s)")
    print(
        f"  {len(batches)} batches, pause {pause_ms} ms: DELETE p50 {statistics.median(batches):.1f} ms,"
        f" max {max(batches):.1f} ms"
    )
    print(
        f"  {len(writes)} writes committed meanwhile: p50 {statistics.median(writes):.1f} ms,"
        f" max {max(writes):.1f} ms (with no purge: p50 {statistics.median(alone):.1f} ms, max {max(alone):.1f} ms)"
    )
    print(f"  rows left: {left} (the writer's, not sent yet)")


def main() -> None:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=50000, help="sent outbox rows to purge (default 50000)")
    parser.add_argument("--batch", type=int, default=500, help="rows per batch (default 500)")
    parser.add_argument("--pause-ms", type=int, default=50, help="pause between batches (default 50)")
    parser.add_argument("--database-url", help="an empty database; default a new SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(directory) / 'retention.db'}"
        asyncio.run(run(url, args.rows, args.batch, args.pause_ms))


if __name__ == "__main__":
    main()
