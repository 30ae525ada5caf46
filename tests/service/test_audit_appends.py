"""Appending to the audit trail: one hold of the head per transaction, however many entries it appends."""

import asyncio
import itertools

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlmodel import col, select

from services.tasking import audit_store
from services.tasking.models import AuditEntry
from tests.support.harness import Harness


async def test_a_transaction_takes_the_head_once_and_its_entries_chain_on(system: Harness) -> None:
    runtime = system.nodes["tasking"].runtime
    statements: list[str] = []

    def seen(_: Connection, __: object, statement: str, *args: object) -> None:
        statements.append(statement)

    event.listen(runtime.engine.sync_engine, "before_cursor_execute", seen)
    try:
        async with runtime.sessions() as session:
            for n in range(5):
                await audit_store.append(session, action="request.escalated", principal=None, request_id=f"r{n}")
            await session.commit()
    finally:
        event.remove(runtime.engine.sync_engine, "before_cursor_execute", seen)

    holds = [s for s in statements if s.lstrip().upper().startswith("UPDATE AUDIT_HEAD SET SEQ=AUDIT_HEAD.SEQ")]
    assert len(holds) == 1, statements
    async with runtime.sessions() as session:
        entries = (await session.exec(select(AuditEntry).order_by(col(AuditEntry.seq)))).all()
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert all(later.previous_hash == earlier.hash for earlier, later in itertools.pairwise(entries))
    verdict = await audit_store.verify_trail(sessions=runtime.sessions)
    assert verdict.intact, verdict


async def test_transactions_appending_at_once_each_take_the_head_and_the_trail_holds(system: Harness) -> None:
    runtime = system.nodes["tasking"].runtime

    async def appends(writer: int) -> None:
        async with runtime.sessions() as session:
            for n in range(3):
                rid = f"w{writer}-{n}"
                await audit_store.append(session, action="request.escalated", principal=None, request_id=rid)
                await asyncio.sleep(0)
            await session.commit()

    await asyncio.gather(*(appends(writer) for writer in range(4)))
    async with runtime.sessions() as session:
        entries = (await session.exec(select(AuditEntry).order_by(col(AuditEntry.seq)))).all()
    assert [e.seq for e in entries] == list(range(1, 13))
    by_writer = [e.request_id.split("-")[0] for e in entries if e.request_id]
    assert all(by_writer[i] == by_writer[i - i % 3] for i in range(12)), by_writer  # each transaction's three in a row
    assert (await audit_store.verify_trail(sessions=runtime.sessions)).intact
