"""Event handlers of the tasking service, and the planning job they wake; each owns its transaction."""

from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import col, select

from services.tasking import audit_store
from services.tasking.domain import Planner, RequestState, TravelModel
from services.tasking.models import PolicyView, Proposal, RequestView
from services.tasking.planning import plan_open_requests
from services.tasking.readmodel import apply_unit_state
from shared.cloudevents import CloudEvent, EventData, follow_up, new_event
from shared.db import retry_on_conflict
from shared.events import (
    CommitRejected,
    MatchingStarted,
    PolicyUpdated,
    ProposalStatus,
    ProposalSuperseded,
    RequestCancelled,
    RequestSubmitted,
    TaskingStoodDown,
    UnitDeclared,
    UnitsCommitted,
    UnitsRecalled,
    UnitsReleased,
    UnitUpdated,
    UnitWithdrawn,
)
from shared.messaging import UnitOfWork, utcnow

SOURCE = "/mutualaid/tasking"
CONSUMER = "tasking"

UowFactory = Callable[[], UnitOfWork]


@dataclass(frozen=True)
class Deps:
    """What the tasking handlers need from the composition root."""

    uow: UowFactory
    travel: TravelModel
    planner: Planner
    wake_planning: Callable[[], None] = lambda: None


@retry_on_conflict
async def plan(deps: Deps) -> int:
    """The planning job: one run over every OPEN request, committed with its proposals and events."""
    async with deps.uow() as work:
        planned = await plan_open_requests(work, planner=deps.planner, travel=deps.travel, now=utcnow())
        await work.commit()
        return planned


async def on_request_submitted(event: CloudEvent, data: RequestSubmitted, *, deps: Deps) -> None:
    """Take the request in, to be planned with whatever else arrives within the batching window."""
    async with deps.uow() as work:
        if await work.already_applied(consumer=CONSUMER, event=event):
            return
        work.session.add(
            RequestView(
                request_id=data.request_id,
                requesting_force=data.requesting_force,
                requesting_region=data.requesting_region,
                priority=data.priority,
                location_lat=data.location.lat,
                location_lon=data.location.lon,
                required_by=data.required_by,
                end=data.end,
                needs=[need.model_dump(mode="json") for need in data.needs],
                correlation_id=event.correlationid or event.id,
            )
        )
        started = MatchingStarted(request_id=data.request_id)
        work.publish(follow_up(started, source=SOURCE, cause=event), started)
        await work.commit()
    deps.wake_planning()


async def on_request_cancelled(event: CloudEvent, data: RequestCancelled, *, deps: Deps) -> None:
    """A cancelled request plans nothing more; its pending proposals are superseded."""
    async with deps.uow() as work:
        if await work.already_applied(consumer=CONSUMER, event=event):
            return
        request = await work.session.get(RequestView, data.request_id)
        if request is not None:
            deployed = request.committed or request.state in (RequestState.APPROVED, RequestState.MOBILISED)
            request.state = RequestState.CANCELLED
            work.session.add(request)
            await supersede_pending(work, data.request_id, reason=f"request cancelled: {data.reason}", cause=event)
            if deployed:  # the cancel crossed an approval: send the units home as a stand-down would
                stood_down = TaskingStoodDown(
                    request_id=data.request_id, stood_down_by=data.cancelled_by, reason=f"cancelled: {data.reason}"
                )
                _publish(work, stood_down, event)
            detail = {"cancelled_by": data.cancelled_by, "reason": data.reason}
            await audit_store.append(
                work.session, action="request.cancelled", principal=None, request_id=data.request_id, detail=detail
            )
        await work.commit()


async def supersede_pending(work: UnitOfWork, request_id: str, *, reason: str, cause: CloudEvent | None) -> None:
    """Every pending proposal of the request is superseded with nothing to replace it."""
    query = select(Proposal).where(Proposal.request_id == request_id, Proposal.status == ProposalStatus.PENDING)
    for proposal in (await work.session.exec(query)).all():
        proposal.status = ProposalStatus.SUPERSEDED
        proposal.decision_reason = reason
        work.session.add(proposal)
        data = ProposalSuperseded(request_id=request_id, proposal_id=proposal.id, superseded_by=None, reason=reason)
        _publish(work, data, cause)
        await audit_store.append(
            work.session,
            action="proposal.superseded",
            principal=None,
            request_id=request_id,
            proposal_id=proposal.id,
            detail={"reason": reason, "superseded_by": None},
        )


async def on_unit_state(event: CloudEvent, data: UnitDeclared | UnitUpdated | UnitWithdrawn, *, deps: Deps) -> None:
    """Keep the newest state of a unit in the read model; a newly available unit may fill an open need."""
    async with deps.uow() as work:
        if await work.already_applied(consumer=CONSUMER, event=event):
            return
        await apply_unit_state(work.session, data.unit)
        await work.commit()


async def on_units_committed(event: CloudEvent, data: UnitsCommitted, *, deps: Deps) -> None:
    """The tasking is committed: record the units' state and that they now serve the request."""
    async with deps.uow() as work:
        if await work.already_applied(consumer=CONSUMER, event=event):
            return
        for state in data.units:
            await apply_unit_state(work.session, state)
        request = await work.session.get(RequestView, data.request_id)
        if request is not None:
            request.committed = request.committed | {u.unit_id: u.capability.value for u in data.units}
            if request.state == RequestState.APPROVED:
                request.state = RequestState.MOBILISED
            work.session.add(request)
        await work.commit()


async def on_commit_rejected(event: CloudEvent, data: CommitRejected, *, deps: Deps) -> None:
    """Saga step: the approved tasking could not be committed; re-plan it at once without those units."""
    failed = [failure.unit_id for failure in data.failures]
    reason = "commit rejected: " + "; ".join(f"{f.unit_id} {f.reason}" for f in data.failures)
    await _replan(event, data.request_id, data.proposal_id, failed, reason, deps=deps)


async def on_units_recalled(event: CloudEvent, data: UnitsRecalled, *, deps: Deps) -> None:
    """Saga step: a donor took units back; re-plan what they covered."""
    async with deps.uow() as work:
        if await work.already_applied(consumer=CONSUMER, event=event):
            return
        for state in data.units:
            await apply_unit_state(work.session, state)
        await work.commit()
    recalled = [unit.unit_id for unit in data.units]
    proposal = await _proposal_with(deps, data.request_id, recalled)
    reason = f"units recalled by their force ({data.reason}): {', '.join(recalled)}"
    await _replan(None, data.request_id, proposal.id if proposal else None, recalled, reason, deps=deps)


async def _proposal_with(deps: Deps, request_id: str, unit_ids: list[str]) -> Proposal | None:
    async with deps.uow() as work:
        query = select(Proposal).where(Proposal.request_id == request_id, Proposal.status == ProposalStatus.APPROVED)
        for proposal in (await work.session.exec(query.order_by(col(Proposal.created_at)))).all():
            if any(a["unit_id"] in unit_ids for a in proposal.allocations):
                return proposal
    return None


async def _replan(
    event: CloudEvent | None, request_id: str, proposal_id: str | None, lost: list[str], reason: str, *, deps: Deps
) -> None:
    """Supersede the proposal that lost units; the request is OPEN again and planned at once."""
    async with deps.uow() as work:
        if event is not None and await work.already_applied(consumer=CONSUMER, event=event):
            return
        request = await work.session.get(RequestView, request_id)
        proposal = await work.session.get(Proposal, proposal_id, with_for_update=True) if proposal_id else None
        if request is None or request.state in (RequestState.CANCELLED, RequestState.STOOD_DOWN):
            await work.commit()
            return
        request.committed = {u: c for u, c in request.committed.items() if u not in lost}
        request.excluded_units = sorted({*request.excluded_units, *lost})
        if proposal is not None and proposal.status == ProposalStatus.APPROVED:
            proposal.status = ProposalStatus.SUPERSEDED
            proposal.decision_reason = reason
            request.supersedes = [*request.supersedes, proposal.id]
            work.session.add(proposal)
            request.committed = {u: c for u, c in request.committed.items() if u not in _unit_ids(proposal)}
        request.state = RequestState.OPEN
        work.session.add(request)
        await work.commit()
    await plan(deps)


def _unit_ids(proposal: Proposal) -> set[str]:
    return {allocation["unit_id"] for allocation in proposal.allocations}


async def on_units_released(event: CloudEvent, data: UnitsReleased, *, deps: Deps) -> None:
    """Stand-down done: the units are free again."""
    async with deps.uow() as work:
        if await work.already_applied(consumer=CONSUMER, event=event):
            return
        for state in data.units:
            await apply_unit_state(work.session, state)
        request = await work.session.get(RequestView, data.request_id)
        if request is not None:
            request.committed = {}
            work.session.add(request)
        await work.commit()


async def on_policy_updated(event: CloudEvent, data: PolicyUpdated, *, deps: Deps) -> None:
    """Keep each force's newest reserve, so no plan takes a force below it."""
    async with deps.uow() as work:
        if await work.already_applied(consumer=CONSUMER, event=event):
            return
        policy = await work.session.get(PolicyView, data.force)
        if policy is None or policy.policy_version < data.policy_version:
            policy = policy or PolicyView(force=data.force, policy_version=0)
            policy.reserve = {capability.value: n for capability, n in data.reserve.items()}
            policy.policy_version = data.policy_version
            work.session.add(policy)
        await work.commit()


def _publish(work: UnitOfWork, data: EventData, cause: CloudEvent | None) -> None:
    work.publish(follow_up(data, source=SOURCE, cause=cause) if cause else new_event(data, source=SOURCE), data)
