"""Changes to a request and its proposals that commands, event handlers and planning runs share.

Each runs inside the caller's unit of work and changes rows that carry a version, so the caller's
commit fails (StaleDataError, then a retry on fresh state) when another decision got there first.
"""

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.tasking import audit_store
from services.tasking.audit import Keyring, checkpoint
from services.tasking.domain import RequestState
from services.tasking.models import AuditEntry, Proposal, RequestView
from shared import correlation
from shared.auth import Principal
from shared.cloudevents import CloudEvent, EventData, new_event
from shared.events import AuditCheckpointed, ProposalStatus, ProposalSuperseded
from shared.messaging import UnitOfWork, UowFactory

SOURCE = "/mutualaid/tasking"


@contextlib.asynccontextmanager
async def deciding(uow: UowFactory) -> AsyncIterator[UnitOfWork]:
    """A unit of work for a decision that goes into the audit trail: it takes the trail's head first.

    Decisions then queue on the head instead of colliding on the next entry's number, and since
    each takes it before any row it changes, two decisions never wait on each other in a circle.
    """
    async with uow() as work:
        await audit_store.hold_head(work.session)
        yield work


def publish_for(work: UnitOfWork, request: RequestView, data: EventData, *, cause: CloudEvent | None = None) -> None:
    """Queue an event about the request, caused by `cause`. Its correlation id is the cause's, else that of the
    HTTP request being handled (a coordinator's decision), else that of the request.submitted that began it
    (a planning run)."""
    caused_by = cause.correlationid if cause else None
    correlation_id = caused_by or correlation.current() or request.correlation_id or None
    event = new_event(data, source=SOURCE, correlation_id=correlation_id, causation_id=cause.id if cause else None)
    work.publish(event, data)


async def audit(
    work: UnitOfWork,
    action: str,
    *,
    request_id: str | None,
    proposal_id: str | None = None,
    principal: Principal | None = None,
    **detail: object,
) -> None:
    """An entry in the audit trail, in the caller's transaction; no principal means tasking itself decided.
    The transaction also publishes a signed checkpoint of the trail as its last entry leaves it."""
    entry = await audit_store.append(
        work.session,
        action=action,
        principal=principal,
        request_id=request_id,
        proposal_id=proposal_id,
        detail=detail,
    )
    keyring = audit_store.keyring_of(work.session)
    work.at_commit(AuditCheckpointed.event_type, lambda: _publish_checkpoint(work, keyring, entry))


def _publish_checkpoint(work: UnitOfWork, keyring: Keyring, entry: AuditEntry) -> None:
    mark = checkpoint(keyring, seq=entry.seq, head=entry.hash, at=entry.at)
    data = AuditCheckpointed(seq=mark.seq, head_hash=mark.hash, key_version=mark.key_version, signature=mark.signature)
    work.publish(new_event(data, source=SOURCE), data)


async def proposals_of(
    session: AsyncSession, request_id: str, statuses: frozenset[ProposalStatus] | None = None
) -> list[Proposal]:
    """The request's proposals, oldest first, optionally only in the given statuses."""
    query = select(Proposal).where(Proposal.request_id == request_id)
    if statuses is not None:
        query = query.where(col(Proposal.status).in_(statuses))
    return list((await session.exec(query.order_by(col(Proposal.created_at), col(Proposal.id)))).all())


async def supersede_pending(
    work: UnitOfWork, request: RequestView, *, reason: str, cause: CloudEvent | None = None
) -> None:
    """The request ends: every pending proposal of it is superseded with nothing to replace it, and so is
    every one it lost and had not announced yet (announced and audited)."""
    for proposal in await proposals_of(work.session, request.request_id, frozenset({ProposalStatus.PENDING})):
        proposal.status = ProposalStatus.SUPERSEDED
        proposal.decision_reason = reason
        work.session.add(proposal)
        request.supersedes = [*request.supersedes, proposal.id]
    await announce_supersessions(work, request, None, cause=cause)


async def supersede_for_a_replan(work: UnitOfWork, request: RequestView, proposal: Proposal, reason: str) -> None:
    """The proposal gives way: the request is planned again, and announces the supersession with its new plan."""
    proposal.status = ProposalStatus.SUPERSEDED
    proposal.decision_reason = reason
    request.supersedes = [*request.supersedes, proposal.id]
    request.state = RequestState.OPEN
    work.session.add_all([proposal, request])
    await capacity_appeared(work.session)


async def announce_supersessions(
    work: UnitOfWork, request: RequestView, replacement: str | None, *, cause: CloudEvent | None = None
) -> None:
    """Announce and audit the proposals the request lost (a rejected commit, a recall, a higher priority).

    A planning run announces them with the proposal that replaces them; a request that ends first
    (cancelled, stood down) announces them with no replacement, so every supersession is on the trail.
    """
    for proposal_id in request.supersedes:
        proposal = await work.session.get(Proposal, proposal_id)
        reason = proposal.decision_reason if proposal else "superseded"
        if proposal is not None:
            proposal.superseded_by = replacement
            work.session.add(proposal)
        data = ProposalSuperseded(
            request_id=request.request_id, proposal_id=proposal_id, superseded_by=replacement, reason=reason
        )
        publish_for(work, request, data, cause=cause)
        await audit(
            work,
            "proposal.superseded",
            request_id=request.request_id,
            proposal_id=proposal_id,
            reason=reason,
            superseded_by=replacement,
        )
    request.supersedes = []


async def capacity_appeared(session: AsyncSession) -> None:
    """Units may have become free (declared, released, unheld, a reserve lowered): every short request is
    to be topped up by the next planning run. Bumps their versions, so a run planning them meanwhile
    runs again with what is free now."""
    await session.exec(
        update(RequestView)
        .where(col(RequestView.short), col(RequestView.top_up).is_(False))
        .values(top_up=True, version=RequestView.version + 1)
    )
