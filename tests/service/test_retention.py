"""Retention: what the services keep only for a while is purged in batches; the audit trail never is."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import REGISTRY
from sqlalchemy import event, func, insert
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel, col, select

from services.requests.models import IdempotencyRecord
from services.tasking.models import AuditEntry, PlanningRun
from shared import db
from shared.messaging import InboxEntry, OutboxMessage, utcnow
from shared.retention import Purger, inbox_retention, outbox_retention
from tests.support.harness import Harness, Node, harness
from tests.support.steps import AUDITOR, checked, declare, pending, submit

FORTNIGHT_ON = timedelta(days=15)  # past the default outbox (7 days) and inbox (14 days) retention


async def planned(h: Harness) -> str:
    """Staffordshire declares a PSU, West Midlands asks for one, tasking proposes it: rows in every table."""
    await declare(h, "staffordshire", "PSU")
    request_id = await submit(h, "west-midlands", "PSU")
    await h.plan()
    await h.deliver()
    proposal: dict[str, Any] = await pending(h, request_id)
    return str(proposal["id"])


async def count(node: Node, table: type[SQLModel], *where: Any) -> int:
    async with node.runtime.sessions() as session:
        return int((await session.exec(select(func.count()).select_from(table).where(*where))).one())


async def purge_all(h: Harness, *, now: datetime) -> dict[str, dict[str, int]]:
    return {name: await node.runtime.purger.purge(now=now) for name, node in h.nodes.items()}


def purged_so_far(service: str, kind: str) -> float:
    return REGISTRY.get_sample_value("mutualaid_rows_purged_total", {"service": service, "kind": kind}) or 0.0


async def test_old_sent_events_inbox_marks_and_idempotency_keys_are_purged_and_the_audit_trail_kept(
    system: Harness,
) -> None:
    await planned(system)
    tasking = system.nodes["tasking"]
    trail = await count(tasking, AuditEntry)
    sent = {name: await count(node, OutboxMessage) for name, node in system.nodes.items()}
    metric_before = purged_so_far("requests", "outbox")

    purged = await purge_all(system, now=utcnow() + FORTNIGHT_ON)

    for name, node in system.nodes.items():
        assert await count(node, OutboxMessage) == 0
        assert await count(node, InboxEntry) == 0
        assert purged[name]["outbox"] == sent[name]
    assert purged["requests"]["inbox"] > 0
    assert purged["tasking"]["inbox"] > 0
    assert await count(system.nodes["requests"], IdempotencyRecord) == 0
    assert purged_so_far("requests", "outbox") - metric_before == sent["requests"]
    assert await count(tasking, AuditEntry) == trail
    verdict = checked(await system.client("tasking").get("/v1/audit/verify", headers=AUDITOR), 200)
    assert verdict["intact"]
    assert verdict["entries"] == trail


async def test_recent_rows_and_events_not_yet_sent_are_kept(system: Harness) -> None:
    await planned(system)
    await submit(system, "west-midlands", "PSU", deliver=False)  # its request.submitted waits in the outbox
    before = {name: (await count(n, OutboxMessage), await count(n, InboxEntry)) for name, n in system.nodes.items()}
    keys = await count(system.nodes["requests"], IdempotencyRecord)

    await purge_all(system, now=utcnow() + timedelta(days=6))

    assert {name: (await count(n, OutboxMessage), await count(n, InboxEntry)) for name, n in system.nodes.items()} == (
        before
    )
    assert await count(system.nodes["requests"], IdempotencyRecord) == keys == 2

    await purge_all(system, now=utcnow() + timedelta(days=365))
    [waiting] = await _outbox(system.nodes["requests"])
    assert waiting.sent_at is None
    assert ".request.submitted." in waiting.event_type


async def test_planning_inputs_are_kept_unless_a_retention_is_set(system: Harness) -> None:
    await planned(system)
    await purge_all(system, now=utcnow() + timedelta(days=3650))
    [run] = await _runs(system.nodes["tasking"])
    assert run.inputs["units"]
    assert run.inputs_purged_at is None


async def test_planning_inputs_past_their_retention_are_emptied_and_the_run_and_its_digest_kept(
    urls: dict[str, str],
) -> None:
    async with harness(urls, planning_inputs_retention_days=90) as system:
        proposal_id = await planned(system)
        tasking = system.nodes["tasking"]
        [recorded] = await _runs(tasking)
        explanation = f"/v1/proposals/{proposal_id}/explanation"

        await tasking.runtime.purger.purge(now=utcnow() + timedelta(days=89))
        assert checked(await system.client("tasking").get(explanation, headers=AUDITOR), 200)["units_considered"] > 0

        purged = await tasking.runtime.purger.purge(now=utcnow() + timedelta(days=91))
        assert purged["planning_inputs"] == 1
        [run] = await _runs(tasking)
        assert run.inputs == {}
        assert run.inputs_purged_at is not None
        assert (run.digest, run.parameters, run.planner) == (recorded.digest, recorded.parameters, recorded.planner)
        gone = checked(await system.client("tasking").get(explanation, headers=AUDITOR), 410)
        assert gone["inputs_digest"] == recorded.digest
        verdict = checked(await system.client("tasking").get("/v1/audit/verify", headers=AUDITOR), 200)
        assert verdict["intact"]
        assert verdict["entries"] > 0


async def test_two_replicas_purging_at_once_purge_each_row_once(urls: dict[str, str]) -> None:
    url = urls["requests"]
    await _old_messages(url, 1200)
    async with _replica(url, batch_size=100) as one, _replica(url, batch_size=100) as other:
        first, second = await asyncio.gather(one.purge(), other.purge())
        assert first["outbox"] + second["outbox"] == 1200
        assert first["inbox"] + second["inbox"] == 1200
        assert await other.purge() == {"outbox": 0, "inbox": 0}


async def test_a_large_purge_deletes_in_batches_each_its_own_transaction(urls: dict[str, str]) -> None:
    url = urls["requests"]
    await _old_messages(url, 1250)
    async with _replica(url, batch_size=500) as purger:
        engine = purger.engine
        deleted: list[int] = []
        commits: list[None] = []

        def after_execute(_conn: Any, _cursor: Any, statement: str, _p: Any, _c: Any, _many: bool) -> None:
            if statement.lstrip().upper().startswith("DELETE FROM OUTBOX"):
                deleted.append(_cursor.rowcount)

        event.listen(engine.sync_engine, "after_cursor_execute", after_execute)
        event.listen(engine.sync_engine, "commit", lambda _conn: commits.append(None))
        purged = await purger.purge()
    assert purged["outbox"] == 1250
    assert deleted == [500, 500, 250]
    assert len(commits) == 3 + 3  # the outbox's three batches, the inbox's three


@dataclass
class Replica:
    """A purger of the requests database with an engine of its own, as another replica has."""

    engine: AsyncEngine
    purger: Purger

    async def purge(self) -> dict[str, int]:
        return await self.purger.purge()


@contextlib.asynccontextmanager
async def _replica(url: str, *, batch_size: int) -> AsyncIterator[Replica]:
    engine = db.create_engine(url)
    purger = Purger(
        service="test", sessions=db.session_factory(engine), interval_s=60, batch_size=batch_size, pause_s=0
    )
    purger.retentions += [outbox_retention(timedelta(days=7)), inbox_retention(timedelta(days=14))]
    try:
        yield Replica(engine=engine, purger=purger)
    finally:
        await engine.dispose()


async def _old_messages(url: str, n: int) -> None:
    """n outbox rows sent a month ago and n inbox marks as old, plus fresh ones of each (those stay)."""
    long_ago = utcnow() - timedelta(days=30)
    engine = db.create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(insert(OutboxMessage), [_sent(long_ago) for _ in range(n)] + [_sent(utcnow())])
            await connection.execute(insert(InboxEntry), [_applied(long_ago) for _ in range(n)] + [_applied(utcnow())])
    finally:
        await engine.dispose()


def _sent(at: datetime) -> dict[str, Any]:
    event_id = str(uuid.uuid4())
    return {
        "event_id": event_id,
        "event_type": "test.sent",
        "topic": "mutualaid.test.v1",
        "key": event_id,
        "payload": "{}" * 200,
        "created_at": at,
        "sent_at": at,
    }


def _applied(at: datetime) -> dict[str, Any]:
    return {"consumer": "test", "event_id": str(uuid.uuid4()), "event_type": "test.sent", "applied_at": at}


async def _outbox(node: Node) -> list[OutboxMessage]:
    async with node.runtime.sessions() as session:
        return list((await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all())


async def _runs(node: Node) -> list[PlanningRun]:
    async with node.runtime.sessions() as session:
        return list((await session.exec(select(PlanningRun))).all())
