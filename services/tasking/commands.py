"""Commands and queries from the tasking API: decisions, stand-down, refusals, explanations and replay."""

from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.tasking import audit_store
from services.tasking.decisions import explain, plan_from, problem_from
from services.tasking.domain import (
    GreatCircleTravel,
    Plan,
    RequestState,
    check_approver,
    check_decidable,
    outstanding,
)
from services.tasking.handlers import Deps, supersede_pending
from services.tasking.models import PlanningRun, Proposal, RequestView, UnitView
from services.tasking.planning import planner_named, publish_for
from services.tasking.readmodel import needs_of
from shared.auth import Principal
from shared.db import SessionFactory, list_matching, retry_on_conflict
from shared.errors import Conflict, Forbidden, NotFound
from shared.events import Allocation, ProposalStatus, TaskingApproved, TaskingRejected, TaskingStoodDown, UnitStatus
from shared.forces import region_of
from shared.messaging import UnitOfWork, utcnow
from shared.vocabulary import Capability, Need


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
            partial=bool(await _left_unfilled(work.session, request, approving=proposal)),
        )
        publish_for(work, request, approved)
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
        publish_for(work, request, rejected)
        await _audit_decision(work, "tasking.rejected", proposal, principal, reason)
        await work.commit()
        return proposal


@retry_on_conflict
async def stand_down(request_id: str, *, principal: Principal, reason: str, deps: Deps) -> RequestView:
    """The host force ends the deployment: tasking.stood_down sends the lent units home."""
    async with deps.uow() as work:
        request = await work.session.get(RequestView, request_id, with_for_update=True)
        if request is None:
            raise NotFound(f"no request {request_id}")
        if not principal.acts_for_force(request.requesting_force):
            raise Forbidden(f"only {request.requesting_force} can stand its deployment down")
        if request.state not in (RequestState.APPROVED, RequestState.MOBILISED):
            raise Conflict(
                f"the request is {request.state.value}; only a deployment can be stood down (cancel instead)"
            )
        request.state = RequestState.STOOD_DOWN
        work.session.add(request)
        await supersede_pending(work, request_id, reason="request stood down", cause=None)
        data = TaskingStoodDown(request_id=request_id, stood_down_by=principal.sub, reason=reason)
        publish_for(work, request, data)
        await audit_store.append(
            work.session,
            action="tasking.stood_down",
            principal=principal,
            request_id=request_id,
            detail={"reason": reason},
        )
        await work.commit()
        return request


async def _left_unfilled(session: AsyncSession, request: RequestView, *, approving: Proposal) -> list[Need]:
    """What of the request no committed unit or approved proposal (this one included) covers."""
    query = select(Proposal).where(
        Proposal.request_id == request.request_id, Proposal.status == ProposalStatus.APPROVED
    )
    approved = [*(await session.exec(query)).all(), approving]
    covered = Counter(Capability(capability) for capability in request.committed.values())
    covered.update(Capability(a["capability"]) for p in {p.id: p for p in approved}.values() for a in p.allocations)
    return outstanding(needs_of(request), covered)


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


async def list_units(
    *, sessions: SessionFactory, force: str | None, capability: Capability | None, status: UnitStatus | None
) -> list[UnitView]:
    query = select(UnitView).order_by(col(UnitView.force), col(UnitView.unit_id))
    return await list_matching(
        sessions, query, [(UnitView.force, force), (UnitView.capability, capability), (UnitView.status, status)]
    )


@dataclass(frozen=True)
class RecordedRun:
    run: PlanningRun
    plans: dict[str, Plan]


async def recorded_run(proposal_id: str, *, sessions: SessionFactory) -> tuple[Proposal, RecordedRun]:
    """A proposal and the planning run that made it, with every plan that run chose."""
    async with sessions() as session:
        proposal = await session.get(Proposal, proposal_id)
        if proposal is None:
            raise NotFound(f"no proposal {proposal_id}")
        run = await session.get(PlanningRun, proposal.planning_run_id) if proposal.planning_run_id else None
        if run is None:
            raise NotFound(f"proposal {proposal_id} has no recorded planning run")
        siblings = (await session.exec(select(Proposal).where(Proposal.planning_run_id == run.id))).all()
    return proposal, RecordedRun(run=run, plans={p.request_id: plan_from(p.allocations) for p in siblings})


async def explanation(proposal_id: str, *, sessions: SessionFactory) -> dict[str, Any]:
    """Why this proposal: the run's inputs and settings, each chosen unit's score, each excluded unit's reason."""
    proposal, recorded = await recorded_run(proposal_id, sessions=sessions)
    run = recorded.run
    return {
        "proposal_id": proposal.id,
        "request_id": proposal.request_id,
        "tier": proposal.tier,
        "planning_run_id": run.id,
        "planned_at": run.inputs["now"],
        "priority": run.priority,
        "planner": run.planner,
        "parameters": run.parameters,
        "rule_set": run.rule_set,
        "inputs_digest": run.digest,
        "units_considered": len(run.inputs["units"]),
        "unfilled": proposal.unfilled,
        **explain(run.inputs, proposal.request_id, recorded.plans),
    }


async def replay(proposal_id: str, *, sessions: SessionFactory) -> dict[str, Any]:
    """Re-run the recorded planner on the recorded inputs; the same plan must come out."""
    _, recorded = await recorded_run(proposal_id, sessions=sessions)
    run = recorded.run
    travel = GreatCircleTravel(**run.parameters["travel"])
    replayed = planner_named(run.planner).plan(problem_from(run.inputs), travel)
    differences = {
        rid: {"recorded": _unit_list(plan), "replayed": _unit_list(replayed.get(rid, Plan(allocations=[])))}
        for rid, plan in recorded.plans.items()
        if _unit_list(plan) != _unit_list(replayed.get(rid, Plan(allocations=[])))
    }
    return {"planning_run_id": run.id, "planner": run.planner, "same_plan": not differences, "differences": differences}


def _unit_list(plan: Plan) -> list[str]:
    return [allocation.unit_id for allocation in plan.allocations]
