"""Storing and reading the audit trail; the chain rules are in services.tasking.audit."""

from collections.abc import AsyncIterator, Iterable
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.tasking.audit import (
    PROPOSAL_STATUS_OF_ACTION,
    Checkpoint,
    Keyring,
    StoredEntry,
    Verdict,
    seal,
    status_on_trail,
    verify,
)
from services.tasking.models import AuditEntry, AuditHead
from shared.auth import Principal
from shared.db import SessionFactory
from shared.messaging import utcnow

BODY_FIELDS = ("seq", "at", "action", "request_id", "proposal_id", "actor", "role", "detail")
KEYRING = "audit_keyring"  # the key of the audit keyring in a tasking session's info
HEAD_HELD = "audit_head_held"  # the key of the transaction that holds the head, in a session's info


def carry_keyring(sessions: SessionFactory, keyring: Keyring) -> None:
    """Give every session the factory makes the keyring that appends seal entries with."""
    sessions.configure(info={KEYRING: keyring})


def keyring_of(session: AsyncSession) -> Keyring:
    """The keyring the session carries; RuntimeError when its factory was given none (carry_keyring)."""
    keyring = session.info.get(KEYRING)
    if not isinstance(keyring, Keyring):
        raise RuntimeError("this session carries no audit keyring: give its factory one with carry_keyring")
    return keyring


async def hold_head(session: AsyncSession) -> bool:
    """Take the audit trail's head for this transaction (a row lock; on SQLite, the write lock); returns
    whether the transaction held it already (then nothing is sent to the database).

    Every transaction that appends takes it first, before the rows it decides on, so appends queue
    up in order and two transactions never wait on each other's locks the other way round.
    """
    if session.info.get(HEAD_HELD) is session.sync_session.get_transaction() is not None:
        return True
    no_op = update(AuditHead).where(col(AuditHead.id) == 1).values(seq=AuditHead.seq)
    # nothing in the session to bring up to date: not matching it against every object the session holds
    await session.exec(no_op.execution_options(synchronize_session=False))
    session.info[HEAD_HELD] = session.sync_session.get_transaction()
    return False


async def append(
    session: AsyncSession,
    *,
    action: str,
    principal: Principal | None,
    request_id: str | None = None,
    proposal_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an entry after the newest one, sealed with the session's keyring, in the caller's transaction,
    and move the head to it. RuntimeError when the session carries no keyring or the head row is missing."""
    keyring = keyring_of(session)
    held_already = await hold_head(session)  # then the head in the session is the one this transaction wrote
    head = await session.get(AuditHead, 1, populate_existing=not held_already)
    if head is None:
        raise RuntimeError("the audit_head row is missing: run the tasking migrations")
    entry = AuditEntry(
        seq=head.seq + 1,
        at=utcnow(),
        action=action,
        request_id=request_id,
        proposal_id=proposal_id,
        actor=principal.sub if principal else "system:tasking",
        role=principal.role.value if principal else "system",
        detail=detail or {},
        previous_hash=head.hash,
        hash="",
    )
    entry.key_version, entry.hash = seal(keyring, entry.previous_hash, body_of(entry))
    head.seq, head.hash = entry.seq, entry.hash
    session.add_all([entry, head])
    return entry


def body_of(entry: AuditEntry) -> dict[str, Any]:
    """What the hash covers: every field but the hashes themselves."""
    return {name: getattr(entry, name) for name in BODY_FIELDS}


async def list_entries(
    *, sessions: SessionFactory, request_id: str | None, limit: int, after_seq: int = 0
) -> list[AuditEntry]:
    """Entries numbered after `after_seq`, oldest first, at most `limit`, optionally of one request."""
    query = select(AuditEntry).where(col(AuditEntry.seq) > after_seq).order_by(col(AuditEntry.seq)).limit(limit)
    if request_id:
        query = query.where(AuditEntry.request_id == request_id)
    async with sessions() as session:
        return list((await session.exec(query)).all())


async def verify_trail(
    *, sessions: SessionFactory, checkpoints: Iterable[Checkpoint] = (), page: int = 1000
) -> Verdict:
    """Verify the whole chain, read in pages, with the sessions' keyring, against the checkpoints given and the
    trail's head row. RuntimeError when the sessions carry no keyring."""

    async def stored() -> AsyncIterator[StoredEntry]:
        after = 0
        while True:
            async with sessions() as session:
                query = select(AuditEntry).where(AuditEntry.seq > after).order_by(col(AuditEntry.seq)).limit(page)
                rows = list((await session.exec(query)).all())
            for row in rows:
                yield StoredEntry(
                    seq=row.seq,
                    body=body_of(row),
                    previous_hash=row.previous_hash,
                    hash=row.hash,
                    key_version=row.key_version,
                )
            if len(rows) < page:
                return
            after = rows[-1].seq

    async with sessions() as session:
        keyring = keyring_of(session)
        head = await session.get(AuditHead, 1)
    entries = [entry async for entry in stored()]
    return verify(entries, keyring, checkpoints, head=head.seq if head else None)


async def proposal_statuses_on_trail(*, sessions: SessionFactory) -> dict[str, str]:
    """Each proposal's status as the audit trail tells it (proposal id -> PENDING, APPROVED, ...)."""
    query = (
        select(AuditEntry.proposal_id, AuditEntry.action)
        .where(col(AuditEntry.proposal_id).is_not(None), col(AuditEntry.action).in_(PROPOSAL_STATUS_OF_ACTION))
        .order_by(col(AuditEntry.seq))
    )
    actions: dict[str, list[str]] = {}
    async with sessions() as session:
        for proposal_id, action in (await session.exec(query)).all():
            actions.setdefault(str(proposal_id), []).append(action)
    return {proposal_id: status for proposal_id, trail in actions.items() if (status := status_on_trail(trail))}
