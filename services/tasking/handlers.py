"""One function per command or event; each owns its transaction."""

import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.tasking import audit_store
from services.tasking.domain import (
    HOLDING_PROPOSALS,
    Candidate,
    Demand,
    Place,
    Plan,
    RequestState,
    TravelModel,
    check_approver,
    check_decidable,
    lendable_counts,
    plan_nearest,
)
from services.tasking.models import PolicyView, Proposal, RequestView, UnitView
from shared.auth import Principal
from shared.cloudevents import CloudEvent, follow_up, new_event
from shared.db import SessionFactory, list_matching, retry_on_conflict
from shared.errors import Conflict, NotFound
from shared.events import (
    Allocation,
    CommitRejected,
    MatchingStarted,
    PolicyUpdated,
    ProposalCreated,
    ProposalStatus,
    ProposalSuperseded,
    RequestSubmitted,
    RequestUnfilled,
    Shortfall,
    TaskingApproved,
    TaskingRejected,
    UnitDeclared,
    UnitsCommitted,
    UnitsRecalled,
    UnitsReleased,
    UnitState,
    UnitStatus,
    UnitUpdated,
    UnitWithdrawn,
)
from shared.forces import region_of
from shared.messaging import UnitOfWork, utcnow
from shared.vocabulary import Capability, Need, Window

SOURCE = "/mutualaid/tasking"
CONSUMER = "tasking"
PLANNER = "nearest-first"

UowFactory = Callable[[], UnitOfWork]


@dataclass(frozen=True)
class Deps:
    """What the tasking handlers need from the composition root."""

    uow: UowFactory
    travel: TravelModel


async def on_request_submitted(event: CloudEvent, data: RequestSubmitted, *, deps: Deps) -> None:
    """Take the request into the read model and propose units for it, in one transaction."""
    async with deps.uow() as work:
        if await work.already_applied(consumer=CONSUMER, event=event):
            return
        request = RequestView(
            request_id=data.request_id,
            requesting_force=data.requesting_force,
            requesting_region=data.requesting_region,
            priority=data.priority,
            location_lat=data.location.lat,
            location_lon=data.location.lon,
            required_by=data.required_by,
            end=data.end,
            needs=[need.model_dump(mode="json") for need in data.needs],
        )
        work.session.add(request)
        started = MatchingStarted(request_id=data.request_id)
        work.publish(follow_up(started, source=SOURCE, cause=event), started)
        await _propose(work, request, cause=event, travel=deps.travel)
        await work.commit()


async def _propose(
    work: UnitOfWork,
    request: RequestView,
    *,
    cause: CloudEvent,
    travel: TravelModel,
    exclude: frozenset[str] = frozenset(),
) -> Proposal | None:
    """Plan the request against the read model; publish proposal.created, or request.unfilled if nothing fits."""
    held = await _held_units(work.session) | exclude
    demand = _demand(request)
    units = [unit for unit in await _candidates(work.session, demand) if unit.unit_id not in held]
    plan = plan_nearest(demand, units, travel, lendable=await _lendable(work.session, held))
    if not plan.allocations:
        request.state = RequestState.UNFILLED
        work.session.add(request)
        unfilled = RequestUnfilled(request_id=request.request_id, unfilled=plan.unfilled)
        work.publish(follow_up(unfilled, source=SOURCE, cause=cause), unfilled)
        await audit_store.append(
            work.session,
            action="request.unfilled",
            principal=None,
            request_id=request.request_id,
            detail={"unfilled": [s.model_dump(mode="json") for s in plan.unfilled]},
        )
        return None
    proposal = _new_proposal(request.request_id, plan)
    work.session.add(proposal)
    request.state = RequestState.PROPOSED
    work.session.add(request)
    created = ProposalCreated(
        request_id=request.request_id,
        proposal_id=proposal.id,
        allocations=plan.allocations,
        unfilled=plan.unfilled,
        planner=PLANNER,
    )
    work.publish(follow_up(created, source=SOURCE, cause=cause), created)
    await audit_store.append(
        work.session,
        action="proposal.created",
        principal=None,
        request_id=request.request_id,
        proposal_id=proposal.id,
        detail={"planner": PLANNER, "allocations": proposal.allocations, "unfilled": proposal.unfilled},
    )
    return proposal


def _new_proposal(request_id: str, plan: Plan) -> Proposal:
    return Proposal(
        id=str(uuid.uuid4()),
        request_id=request_id,
        allocations=[allocation.model_dump(mode="json") for allocation in plan.allocations],
        unfilled=[shortfall.model_dump(mode="json") for shortfall in plan.unfilled],
        planner=PLANNER,
    )


async def _held_units(session: AsyncSession) -> frozenset[str]:
    """Units that a pending or approved proposal already holds."""
    rows = await session.exec(select(Proposal.allocations).where(col(Proposal.status).in_(HOLDING_PROPOSALS)))
    return frozenset(allocation["unit_id"] for allocations in rows.all() for allocation in allocations)


async def _candidates(session: AsyncSession, demand: Demand) -> list[Candidate]:
    """Units that could serve the demand, narrowed in the database (the planner checks the rules again)."""
    rows = await session.exec(
        select(UnitView).where(
            UnitView.status == UnitStatus.AVAILABLE,
            UnitView.force != demand.requesting_force,
            col(UnitView.capability).in_([need.capability for need in demand.needs]),
            col(UnitView.available_from) <= demand.required_by,
            col(UnitView.available_until) >= demand.end,
        )
    )
    return [
        Candidate(
            unit_id=unit.unit_id,
            force=unit.force,
            region=unit.region,
            capability=unit.capability,
            base=Place(unit.base_lat, unit.base_lon),
            readiness_minutes=unit.readiness_minutes,
            windows=_windows(unit),
            scope=unit.scope,
            status=unit.status,
        )
        for unit in rows.all()
    ]


def _windows(unit: UnitView) -> list[Window]:
    if unit.windows:
        return [Window.model_validate(window) for window in unit.windows]
    return [Window(start=unit.available_from, end=unit.available_until)]


async def _lendable(session: AsyncSession, held: frozenset[str]) -> Counter[tuple[str, Capability]]:
    """Each force's free units per capability (not held by a proposal) less its reserve."""
    rows = await session.exec(
        select(UnitView.unit_id, UnitView.force, UnitView.capability).where(UnitView.status == UnitStatus.AVAILABLE)
    )
    free = Counter((force, Capability(capability)) for unit_id, force, capability in rows.all() if unit_id not in held)
    policies = (await session.exec(select(PolicyView))).all()
    reserves = {row.force: {Capability(c): n for c, n in row.reserve.items()} for row in policies}
    return lendable_counts(free, reserves)


def _demand(request: RequestView) -> Demand:
    return Demand(
        request_id=request.request_id,
        requesting_force=request.requesting_force,
        requesting_region=request.requesting_region,
        location=Place(request.location_lat, request.location_lon),
        required_by=request.required_by,
        end=request.end,
        needs=[Need.model_validate(need) for need in request.needs],
    )


async def on_unit_state(event: CloudEvent, data: UnitDeclared | UnitUpdated | UnitWithdrawn, *, deps: Deps) -> None:
    """Keep the newest state of a unit in the read model."""
    async with deps.uow() as work:
        if await work.already_applied(consumer=CONSUMER, event=event):
            return
        await _apply_unit_state(work.session, data.unit)
        await work.commit()


async def _apply_unit_state(session: AsyncSession, state: UnitState) -> None:
    """Apply a unit's state only when it is newer than what the read model holds."""
    unit = await session.get(UnitView, state.unit_id)
    if unit is not None and unit.version >= state.version:
        return
    unit = unit or UnitView(unit_id=state.unit_id, version=0, **_unit_fields(state))
    for name, value in _unit_fields(state).items():
        setattr(unit, name, value)
    unit.version = state.version
    session.add(unit)


def _unit_fields(state: UnitState) -> dict[str, Any]:
    return {
        "force": state.force,
        "region": state.region,
        "capability": state.capability,
        "base_lat": state.base.lat,
        "base_lon": state.base.lon,
        "readiness_minutes": state.readiness_minutes,
        "available_from": state.available_from,
        "available_until": state.available_until,
        "windows": [window.model_dump(mode="json") for window in state.availability()],
        "scope": state.scope,
        "status": state.status,
        "committed_to": state.committed_to,
    }


async def on_units_moved(event: CloudEvent, data: UnitsRecalled | UnitsReleased, *, deps: Deps) -> None:
    """Recalled or released units: keep their new state in the read model."""
    async with deps.uow() as work:
        if await work.already_applied(consumer=CONSUMER, event=event):
            return
        for state in data.units:
            await _apply_unit_state(work.session, state)
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


async def on_units_committed(event: CloudEvent, data: UnitsCommitted, *, deps: Deps) -> None:
    """The tasking is committed: record the units' new state and the request as mobilised."""
    async with deps.uow() as work:
        if await work.already_applied(consumer=CONSUMER, event=event):
            return
        for state in data.units:
            await _apply_unit_state(work.session, state)
        request = await work.session.get(RequestView, data.request_id)
        if request is not None:
            request.state = RequestState.MOBILISED
            work.session.add(request)
        await work.commit()


async def on_commit_rejected(event: CloudEvent, data: CommitRejected, *, deps: Deps) -> None:
    """Saga step: the approved tasking could not be committed, so supersede it and re-plan without those units."""
    async with deps.uow() as work:
        if await work.already_applied(consumer=CONSUMER, event=event):
            return
        proposal = await work.session.get(Proposal, data.proposal_id, with_for_update=True)
        request = await work.session.get(RequestView, data.request_id)
        if proposal is None or request is None or proposal.status != ProposalStatus.APPROVED:
            await work.commit()
            return
        proposal.status = ProposalStatus.SUPERSEDED
        work.session.add(proposal)
        await work.session.flush()
        failed = frozenset(failure.unit_id for failure in data.failures)
        replacement = await _propose(work, request, cause=event, travel=deps.travel, exclude=failed)
        proposal.superseded_by = replacement.id if replacement else None
        reason = "commit rejected: " + "; ".join(f"{f.unit_id} {f.reason}" for f in data.failures)
        superseded = ProposalSuperseded(
            request_id=data.request_id, proposal_id=proposal.id, superseded_by=proposal.superseded_by, reason=reason
        )
        work.publish(follow_up(superseded, source=SOURCE, cause=event), superseded)
        await audit_store.append(
            work.session,
            action="proposal.superseded",
            principal=None,
            request_id=data.request_id,
            proposal_id=proposal.id,
            detail={"reason": reason, "superseded_by": proposal.superseded_by},
        )
        await work.commit()


@retry_on_conflict
async def approve(proposal_id: str, *, principal: Principal, reason: str, deps: Deps) -> Proposal:
    """A coordinator approves a pending proposal: tasking.approved asks availability to commit the units."""
    async with deps.uow() as work:
        proposal, request = await _pending(work.session, proposal_id)
        _check_approver(principal, proposal)
        if not proposal.allocations:
            raise Conflict("the proposal allocates no unit; there is nothing to approve")
        _decide(proposal, ProposalStatus.APPROVED, principal, reason)
        request.state = RequestState.APPROVED
        work.session.add_all([proposal, request])
        approved = TaskingApproved(
            request_id=request.request_id,
            proposal_id=proposal.id,
            requesting_force=request.requesting_force,
            requesting_region=request.requesting_region,
            start=request.required_by,
            end=request.end,
            allocations=[Allocation.model_validate(a) for a in proposal.allocations],
            approved_by=principal.sub,
            reason=reason,
        )
        work.publish(new_event(approved, source=SOURCE), approved)
        await _audit_decision(work, "tasking.approved", proposal, principal, reason)
        await work.commit()
        return proposal


@retry_on_conflict
async def reject(proposal_id: str, *, principal: Principal, reason: str, deps: Deps) -> Proposal:
    """A coordinator rejects a pending proposal, with a reason."""
    async with deps.uow() as work:
        proposal, request = await _pending(work.session, proposal_id)
        _check_approver(principal, proposal)
        _decide(proposal, ProposalStatus.REJECTED, principal, reason)
        request.state = RequestState.REJECTED
        work.session.add_all([proposal, request])
        rejected = TaskingRejected(
            request_id=request.request_id, proposal_id=proposal.id, rejected_by=principal.sub, reason=reason
        )
        work.publish(new_event(rejected, source=SOURCE), rejected)
        await _audit_decision(work, "tasking.rejected", proposal, principal, reason)
        await work.commit()
        return proposal


async def _audit_decision(work: UnitOfWork, action: str, proposal: Proposal, principal: Principal, reason: str) -> None:
    await audit_store.append(
        work.session,
        action=action,
        principal=principal,
        request_id=proposal.request_id,
        proposal_id=proposal.id,
        detail={"reason": reason, "allocations": proposal.allocations},
    )


@retry_on_conflict
async def record_refusal(
    *, principal: Principal | None, method: str, path: str, reason: str, proposal_id: str | None, deps: Deps
) -> None:
    """A refused attempt (403) goes into the audit trail like any decision."""
    async with deps.uow() as work:
        proposal = await work.session.get(Proposal, proposal_id) if proposal_id else None
        await audit_store.append(
            work.session,
            action="refused",
            principal=principal,
            request_id=proposal.request_id if proposal else None,
            proposal_id=proposal_id,
            detail={"method": method, "path": path, "reason": reason},
        )
        await work.commit()


async def _pending(session: AsyncSession, proposal_id: str) -> tuple[Proposal, RequestView]:
    proposal = await session.get(Proposal, proposal_id, with_for_update=True)
    if proposal is None:
        raise NotFound(f"no proposal {proposal_id}")
    check_decidable(ProposalStatus(proposal.status))
    request = await session.get(RequestView, proposal.request_id)
    if request is None:
        raise NotFound(f"proposal {proposal_id} names unknown request {proposal.request_id}")
    return proposal, request


def _check_approver(principal: Principal, proposal: Proposal) -> None:
    lending_regions = {region_of(allocation["force"]) for allocation in proposal.allocations}
    check_approver(principal.role.value, principal.region, lending_regions)


def _decide(proposal: Proposal, status: ProposalStatus, principal: Principal, reason: str) -> None:
    proposal.status = status
    proposal.decided_by = principal.sub
    proposal.decided_at = utcnow()
    proposal.decision_reason = reason


async def get_proposal(proposal_id: str, *, sessions: SessionFactory) -> Proposal:
    async with sessions() as session:
        proposal = await session.get(Proposal, proposal_id)
        if proposal is None:
            raise NotFound(f"no proposal {proposal_id}")
        return proposal


async def list_proposals(
    *, sessions: SessionFactory, request_id: str | None, status: ProposalStatus | None
) -> list[Proposal]:
    query = select(Proposal).order_by(col(Proposal.created_at), col(Proposal.id))
    return await list_matching(sessions, query, [(Proposal.request_id, request_id), (Proposal.status, status)])


def shortfalls(proposal: Proposal) -> list[Shortfall]:
    return [Shortfall.model_validate(item) for item in proposal.unfilled]


async def list_units(
    *, sessions: SessionFactory, force: str | None, capability: Capability | None, status: UnitStatus | None
) -> list[UnitView]:
    query = select(UnitView).order_by(col(UnitView.force), col(UnitView.unit_id))
    return await list_matching(
        sessions, query, [(UnitView.force, force), (UnitView.capability, capability), (UnitView.status, status)]
    )
