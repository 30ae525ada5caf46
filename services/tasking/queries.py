"""Reads of the tasking service: proposals, the planner's view of units, explanations and replays."""

from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select

from services.tasking import audit_store
from services.tasking.domain import RequestState
from services.tasking.models import AuditEntry, PlanningRun, Proposal, RequestView, UnitView
from services.tasking.planner import planner_named
from services.tasking.planner.problem import Plan, by_request_of
from services.tasking.planner.records import explain, problem_from
from services.tasking.planner.travel import travel_from
from shared.auth import Principal
from shared.db import SessionFactory, list_matching, within
from shared.errors import Forbidden, Gone, NotFound
from shared.events import ProposalStatus, UnitStatus
from shared.scopes import check_reads, may_read, scope_of
from shared.vocabulary import Capability, Role


async def get_proposal(proposal_id: str, *, reader: Principal, sessions: SessionFactory) -> Proposal:
    """One proposal; raises NotFound (404), Forbidden (403) unless the reader reads its request or lends to it."""
    async with sessions() as session:
        proposal = await session.get(Proposal, proposal_id)
        if proposal is None:
            raise NotFound(f"no proposal {proposal_id}")
        request = await session.get(RequestView, proposal.request_id)
    check_reads(reader, f"proposal {proposal_id}", **_whose(proposal, request))
    return proposal


async def list_proposals(
    *, reader: Principal, sessions: SessionFactory, request_id: str | None, status: ProposalStatus | None
) -> list[Proposal]:
    """The proposals the reader may read (of requests in its scope, or lending its force's units), oldest
    first, optionally of one request and in one status."""
    query = select(Proposal).order_by(col(Proposal.created_at), col(Proposal.id))
    found = await list_matching(sessions, query, [(Proposal.request_id, request_id), (Proposal.status, status)])
    scope = scope_of(reader)
    if scope.everything:
        return found
    async with sessions() as session:
        ids = {proposal.request_id for proposal in found}
        views = (await session.exec(select(RequestView).where(col(RequestView.request_id).in_(ids)))).all()
    requests = {view.request_id: view for view in views}
    return [p for p in found if may_read(reader, **_whose(p, requests.get(p.request_id)))]


def _whose(proposal: Proposal, request: RequestView | None) -> dict[str, Any]:
    """Whose a proposal is: its request's force and region, and the forces it lends units of."""
    return {
        "force": request.requesting_force if request else "",
        "region": request.requesting_region if request else "",
        "parties": {allocation.force for allocation in proposal.allocations},
    }


async def list_audit(
    *, reader: Principal, sessions: SessionFactory, request_id: str | None, limit: int, after_seq: int = 0
) -> list[AuditEntry]:
    """The audit trail, oldest first: all of it for national coordinators, auditors and integrations; a
    coordinator, only a request of its region's entries (Forbidden, 403, otherwise)."""
    if reader.role is Role.COORDINATOR:
        if request_id is None:
            raise Forbidden(f"a coordinator of {reader.region} reads the audit trail of one request of the region")
        async with sessions() as session:
            request = await session.get(RequestView, request_id)
        if request is None:
            return []
        check_reads(
            reader, f"the audit trail of {request_id}", force=request.requesting_force, region=request.requesting_region
        )
    return await audit_store.list_entries(sessions=sessions, request_id=request_id, limit=limit, after_seq=after_seq)


async def list_units(
    *,
    reader: Principal,
    sessions: SessionFactory,
    force: str | None,
    capability: Capability | None,
    status: UnitStatus | None,
) -> list[UnitView]:
    """The read model's units within the reader's scope, by force and unit id, optionally filtered."""
    scoped = within(scope_of(reader), force=UnitView.force, region=UnitView.region)
    query = select(UnitView).where(scoped).order_by(col(UnitView.force), col(UnitView.unit_id))
    return await list_matching(
        sessions, query, [(UnitView.force, force), (UnitView.capability, capability), (UnitView.status, status)]
    )


@dataclass(frozen=True)
class RecordedRun:
    run: PlanningRun
    plans: dict[str, Plan]


async def recorded_run(proposal_id: str, *, sessions: SessionFactory) -> tuple[Proposal, RecordedRun]:
    """A proposal and the planning run that made it, with every plan that run chose; raises NotFound (404),
    or Gone (410) when the run's inputs were purged."""
    async with sessions() as session:
        proposal = await session.get(Proposal, proposal_id)
        if proposal is None:
            raise NotFound(f"no proposal {proposal_id}")
        run = await session.get(PlanningRun, proposal.planning_run_id) if proposal.planning_run_id else None
        if run is None:
            raise NotFound(f"proposal {proposal_id} has no recorded planning run")
        if run.inputs_purged_at is not None:
            raise Gone(
                f"the inputs of planning run {run.id} were purged on {run.inputs_purged_at:%Y-%m-%d} "
                "(TASKING_PLANNING_INPUTS_RETENTION_DAYS); its settings, digest and the audit trail remain",
                planning_run_id=run.id,
                inputs_digest=run.digest,
            )
        siblings = (await session.exec(select(Proposal).where(Proposal.planning_run_id == run.id))).all()
    return proposal, RecordedRun(run=run, plans={p.request_id: Plan(allocations=list(p.allocations)) for p in siblings})


async def explanation(proposal_id: str, *, reader: Principal, sessions: SessionFactory) -> dict[str, Any]:
    """Why this proposal: the run's inputs and settings, each chosen unit's score, each excluded unit's reason.
    Read by whoever reads the proposal (get_proposal's NotFound and Forbidden)."""
    await get_proposal(proposal_id, reader=reader, sessions=sessions)
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
        "unfilled": [shortfall.model_dump(mode="json") for shortfall in proposal.unfilled],
        **explain(run.inputs, proposal.request_id, recorded.plans),
    }


async def replay(proposal_id: str, *, sessions: SessionFactory) -> dict[str, Any]:
    """Re-run the recorded planner on the recorded inputs; the same plan must come out."""
    _, recorded = await recorded_run(proposal_id, sessions=sessions)
    run = recorded.run
    travel = travel_from(run.parameters["travel"])
    problem = problem_from(run.inputs)
    replayed = by_request_of(planner_named(run.planner).plan(problem, travel), problem.demands)
    differences = {
        rid: {"recorded": _unit_list(plan), "replayed": _unit_list(replayed.get(rid, Plan(allocations=[])))}
        for rid, plan in recorded.plans.items()
        if _unit_list(plan) != _unit_list(replayed.get(rid, Plan(allocations=[])))
    }
    return {"planning_run_id": run.id, "planner": run.planner, "same_plan": not differences, "differences": differences}


def _unit_list(plan: Plan) -> list[str]:
    return [allocation.unit_id for allocation in plan.allocations]


@dataclass(frozen=True)
class Holding:
    """What tasking holds for a request: its state, the units committed to it, the units of its approved proposals."""

    request_id: str
    state: RequestState
    committed: frozenset[str]
    approved: frozenset[str]


async def holdings(*, sessions: SessionFactory) -> dict[str, Holding]:
    """Every request with units committed to it or approved for it, by request id."""
    async with sessions() as session:
        approved = (await session.exec(select(Proposal).where(Proposal.status == ProposalStatus.APPROVED))).all()
        by_request: dict[str, set[str]] = {}
        for proposal in approved:
            by_request.setdefault(proposal.request_id, set()).update(proposal.unit_ids())
        requests = (await session.exec(select(RequestView))).all()
    return {
        request.request_id: Holding(
            request_id=request.request_id,
            state=request.state,
            committed=frozenset(request.committed),
            approved=frozenset(by_request.get(request.request_id, ())),
        )
        for request in requests
        if request.committed or request.request_id in by_request
    }


async def proposals_disagreeing_with_trail(*, sessions: SessionFactory) -> dict[str, str]:
    """Proposals whose status is not the one their audit entries tell: proposal id -> both (empty when all agree).

    A proposal superseded for a request waiting for its re-plan (OPEN, the proposal in its
    `supersedes`), which announces it with the new plan, agrees while the trail still shows its
    status before that.
    """
    on_trail = await audit_store.proposal_statuses_on_trail(sessions=sessions)
    async with sessions() as session:
        proposals = (await session.exec(select(Proposal).order_by(col(Proposal.created_at)))).all()
        requests = (await session.exec(select(RequestView).where(RequestView.state == RequestState.OPEN))).all()
        announcing = {p for request in requests for p in request.supersedes}  # with the re-plan due
    disagreements = {}
    for proposal in proposals:
        trail = on_trail.get(proposal.id)
        if proposal.id in announcing and trail in ("PENDING", "APPROVED"):
            continue
        if trail != proposal.status.value:
            disagreements[proposal.id] = f"the proposal is {proposal.status.value}; the audit trail says {trail}"
    return disagreements
