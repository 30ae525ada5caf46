"""Decisions taken through the tasking API: approve, reject, stand down, and refused attempts.

Each decision runs in one transaction against the proposal and request versions it read; when
another decision (or a planning run) changed either first, it runs again on what is there now and
is refused with 409 if it no longer applies. See docs/decisions/0005.
"""

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from services.tasking.deps import TaskingDeps
from services.tasking.domain import (
    ENDED_STATES,
    HOLDING_PROPOSALS,
    RequestState,
    check_approver,
    check_decidable,
    check_stand_down,
    covered_by_tour,
    least,
    named_units,
    outstanding,
    state_after_approval,
    state_after_rejection,
)
from services.tasking.lifecycle import (
    announce_supersessions,
    audit,
    capacity_appeared,
    deciding,
    proposals_of,
    publish_for,
    supersede_for_a_replan,
    supersede_pending,
)
from services.tasking.models import Proposal, RequestView
from shared.auth import Principal
from shared.db import retry_on_conflict
from shared.errors import Conflict, Forbidden, NotFound
from shared.events import ProposalStatus, TaskingApproved, TaskingRejected, TaskingStoodDown
from shared.forces import region_of
from shared.messaging import UnitOfWork, UowFactory


@retry_on_conflict
async def approve(
    proposal_id: str, *, principal: Principal, reason: str, deps: TaskingDeps, unit_ids: list[str] | None = None
) -> Proposal:
    """A coordinator approves a pending proposal, or part of it (unit_ids): tasking.approved asks
    availability to commit those units. Units left out are not offered to this request again, and what
    they would have covered is planned again at once.

    Raises NotFound (404), Forbidden (403: outside the coordinator's scope), Conflict (409: the
    proposal is no longer pending, or allocates nothing) and InvalidInput (422: a unit it does not allocate).
    """
    async with deciding(deps.uow) as work:
        proposal, request = await _for_decision(work.session, proposal_id, principal)
        if not proposal.allocations:
            raise Conflict("the proposal allocates no unit; there is nothing to approve")
        kept = named_units(proposal.unit_ids(), unit_ids)
        proposal.passed_over = sorted(proposal.unit_ids() - set(kept))
        _decide(proposal, ProposalStatus.APPROVED, principal, reason, now=deps.clock())
        held = await proposals_of(work.session, request.request_id, frozenset({ProposalStatus.APPROVED}))
        approved = [a for p in held for a in p.live_allocations()]
        per_tour = covered_by_tour(request.tours(deps.tour_length), request.period(), request.committed, approved)
        left = outstanding(request.needs, least(per_tour))  # short in any tour: partly filled
        request.state = state_after_approval(request.state)
        if proposal.passed_over:
            request.excluded_units = sorted({*request.excluded_units, *proposal.passed_over})
            request.state = RequestState.OPEN  # the rest is planned again at once
            await capacity_appeared(work.session)
        work.session.add_all([proposal, request])
        approval = TaskingApproved(
            request_id=request.request_id,
            proposal_id=proposal.id,
            requesting_force=request.requesting_force,
            requesting_region=request.requesting_region,
            start=request.required_by,
            end=request.end,
            allocations=proposal.live_allocations(),
            approved_by=principal.sub,
            reason=reason,
            partial=bool(left),
        )
        publish_for(work, request, approval)
        await _audit_decision(work, "tasking.approved", proposal, principal, reason)
        await work.commit()
    deps.wake_planning()
    return proposal


@retry_on_conflict
async def reject(
    proposal_id: str,
    *,
    principal: Principal,
    reason: str,
    deps: TaskingDeps,
    unit_ids: list[str] | None = None,
    end_request: bool = False,
) -> Proposal:
    """A coordinator rejects a pending proposal, with a reason: the units it names (all, when it names
    none) are not offered to this request again, and the request is planned again at once.

    With end_request the request itself is rejected: it ends (REJECTED) once nothing else of it is live
    (another pending proposal, approved or committed units keep it going). Raises as approve.
    """
    async with deciding(deps.uow) as work:
        proposal, request = await _for_decision(work.session, proposal_id, principal)
        refused = named_units(proposal.unit_ids(), unit_ids)
        _decide(proposal, ProposalStatus.REJECTED, principal, reason, now=deps.clock())
        if end_request:
            others = [
                p
                for p in await proposals_of(work.session, request.request_id, HOLDING_PROPOSALS)
                if p.id != proposal.id
            ]
            request.state = state_after_rejection(
                request.state,
                pending_left=any(p.status == ProposalStatus.PENDING for p in others),
                approved_left=any(p.status == ProposalStatus.APPROVED for p in others),
                committed=bool(request.committed),
            )
        else:
            request.excluded_units = sorted({*request.excluded_units, *refused})
            request.state = RequestState.OPEN
        work.session.add_all([proposal, request])
        rejected = TaskingRejected(
            request_id=request.request_id,
            proposal_id=proposal.id,
            rejected_by=principal.sub,
            reason=reason,
            closes_request=request.state == RequestState.REJECTED,
        )
        publish_for(work, request, rejected)
        await _audit_decision(work, "tasking.rejected", proposal, principal, reason, refused_units=refused)
        if request.state == RequestState.REJECTED:
            await announce_supersessions(work, request, None)  # what it lost before will not be replaced
        await capacity_appeared(work.session)  # the rejected proposal's units are free
        await work.commit()
    deps.wake_planning()
    return proposal


@retry_on_conflict
async def replan(proposal_id: str, *, principal: Principal, reason: str, deps: TaskingDeps) -> Proposal:
    """A coordinator asks for a pending proposal to be planned again: it is superseded, and the next run
    plans the request on what is free then. Raises as approve."""
    async with deciding(deps.uow) as work:
        proposal, request = await _for_decision(work.session, proposal_id, principal)
        await supersede_for_a_replan(work, request, proposal, f"re-plan asked by {principal.sub}: {reason}")
        await audit(
            work,
            "replan.requested",
            request_id=request.request_id,
            proposal_id=proposal.id,
            principal=principal,
            reason=reason,
        )
        await work.commit()
    deps.wake_planning()
    return proposal


@retry_on_conflict
async def stand_down(request_id: str, *, principal: Principal, reason: str, deps: TaskingDeps) -> RequestView:
    """The host force ends the deployment: tasking.stood_down sends every unit the request holds home.

    Allowed whenever the request holds units (committed, or approved and being committed), whatever
    its state. Raises NotFound (404), Forbidden (403: another force) and Conflict (409: nothing to stand down).
    """
    async with deciding(deps.uow) as work:
        request = await work.session.get(RequestView, request_id)
        if request is None:
            raise NotFound(f"no request {request_id}")
        if not principal.acts_for_force(request.requesting_force):
            raise Forbidden(f"only {request.requesting_force} can stand its deployment down")
        approved = await proposals_of(work.session, request_id, frozenset({ProposalStatus.APPROVED}))
        check_stand_down(request.state, holds_units=bool(request.committed or approved))
        request.state = RequestState.STOOD_DOWN
        work.session.add(request)
        await supersede_pending(work, request, reason="request stood down")
        publish_for(work, request, TaskingStoodDown(request_id=request_id, stood_down_by=principal.sub, reason=reason))
        await audit(work, "tasking.stood_down", request_id=request_id, principal=principal, reason=reason)
        await capacity_appeared(work.session)  # its pending proposals' units are free now, its booked ones soon
        await work.commit()
    deps.wake_planning()
    return request


@retry_on_conflict
async def record_refusal(
    *,
    principal: Principal | None,
    method: str,
    path: str,
    reason: str,
    proposal_id: str | None,
    deps: TaskingDeps,
    request_id: str | None = None,
) -> None:
    """A refused attempt (403) goes into the audit trail like any decision, under the request it concerns."""
    async with deciding(deps.uow) as work:
        proposal = await work.session.get(Proposal, proposal_id) if proposal_id else None
        await audit(
            work,
            "refused",
            request_id=proposal.request_id
            if proposal
            else request_id
            if request_id and len(request_id) <= 36
            else None,
            proposal_id=proposal.id if proposal else None,
            principal=principal,
            method=method,
            path=path[:500],
            reason=reason,
        )
        await work.commit()


async def _for_decision(session: AsyncSession, proposal_id: str, principal: Principal) -> tuple[Proposal, RequestView]:
    """The proposal and its request, once the principal may decide on it and it is still pending."""
    proposal = await session.get(Proposal, proposal_id)
    if proposal is None:
        raise NotFound(f"no proposal {proposal_id}")
    request = await session.get(RequestView, proposal.request_id)
    if request is None:
        raise NotFound(f"proposal {proposal_id} names unknown request {proposal.request_id}")
    check_approver(
        principal.role,
        principal.region,
        tier=proposal.tier,
        host_region=request.requesting_region,
        lending_regions={region_of(allocation.force) for allocation in proposal.allocations},
    )
    try:
        check_decidable(proposal.status)
    except Conflict as error:
        raise Conflict(error.detail, current=_current(proposal)) from None
    return proposal, request


def _current(proposal: Proposal) -> dict[str, object]:
    """What a refused decision is told about the proposal as it stands."""
    return {
        "proposal_id": proposal.id,
        "status": proposal.status.value,
        "version": proposal.version,
        "decided_by": proposal.decided_by,
        "decision_reason": proposal.decision_reason,
        "superseded_by": proposal.superseded_by,
    }


def _decide(proposal: Proposal, status: ProposalStatus, principal: Principal, reason: str, *, now: datetime) -> None:
    proposal.status = status
    proposal.decided_by = principal.sub
    proposal.decided_at = now
    proposal.decision_reason = reason


async def _audit_decision(
    work: UnitOfWork, action: str, proposal: Proposal, principal: Principal, reason: str, **detail: object
) -> None:
    await audit(
        work,
        action,
        request_id=proposal.request_id,
        proposal_id=proposal.id,
        principal=principal,
        reason=reason,
        allocations=[allocation.model_dump(mode="json") for allocation in proposal.live_allocations()],
        **({"passed_over": proposal.passed_over} if proposal.passed_over else {}),
        **detail,
    )


@retry_on_conflict
async def release_again(request_id: str, *, by: str, uow: UowFactory) -> bool:
    """Ask availability once more to send home the units of a request that has ended (reconcile --repair).

    Publishes tasking.stood_down again (availability releases whatever is still committed to the
    request; a repeat releases nothing) and audits it. False when the request has not ended.
    """
    async with deciding(uow) as work:
        request = await work.session.get(RequestView, request_id)
        if request is None or request.state not in ENDED_STATES:
            return False
        reason = "released by reconciliation: units still committed to an ended request"
        publish_for(work, request, TaskingStoodDown(request_id=request_id, stood_down_by=by, reason=reason))
        await audit(work, "reconcile.released", request_id=request_id, reason=reason, by=by)
        await work.commit()
        return True
