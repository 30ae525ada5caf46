"""HTTP routes of the tasking service: thin, they call handlers."""

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from services.tasking import audit_store, commands, donors, queries
from services.tasking.audit_archive import read_checkpoints
from services.tasking.deps import TaskingDeps
from services.tasking.models import Proposal
from services.tasking.schemas import (
    Approval,
    AuditItem,
    AuditList,
    AuditVerdict,
    DonorAnswer,
    DonorDecline,
    Explanation,
    PlanningUnit,
    PlanningUnitList,
    ProposalList,
    ProposalPublic,
    Rejection,
    Replan,
    StandDown,
    StandDownResult,
)
from shared.auth import CurrentPrincipal, Principal, Role, require
from shared.events import ProposalStatus, UnitStatus
from shared.paging import PAGED, Paging, page
from shared.service import Runtime
from shared.vocabulary import Capability

router = APIRouter(prefix="/v1", tags=["proposals"])
DECIDED: dict[int | str, dict[str, Any]] = {
    409: {"description": "No longer pending, or decided meanwhile (with its current state)"}
}

ProposalId = Annotated[str, Path(max_length=36, description="The proposal's id (a UUID)")]
RequestId = Annotated[str, Path(max_length=36, description="The request's id (a UUID)")]
UnitId = Annotated[str, Path(max_length=64, description="The unit's id, as its force declared it")]
Coordinator = Annotated[Principal, Depends(require(Role.COORDINATOR, Role.NATIONAL_COORDINATOR))]


async def deps_of(request: Request) -> TaskingDeps:
    """FastAPI dependency: the tasking dependencies bootstrap built for this app."""
    deps = request.app.state.deps
    if not isinstance(deps, TaskingDeps):
        raise TypeError("the tasking app was built without its TaskingDeps (see services.tasking.bootstrap)")
    return deps


Deps = Annotated[TaskingDeps, Depends(deps_of)]


@router.get("/proposals", response_model=ProposalList, responses=PAGED)
async def list_proposals(
    reader: CurrentPrincipal,
    rt: Runtime,
    paging: Paging,
    request_id: Annotated[str | None, Query(max_length=36, description="Only the proposals of this request")] = None,
    status: ProposalStatus | None = None,
) -> ProposalList:
    """The proposals you may read (of your force's requests, or lending its units; a coordinator: of the
    region's requests; others: all), oldest first, optionally for one request and in one status, a page at a
    time (`limit`, then `after` the page's `next`)."""
    proposals = await queries.list_proposals(reader=reader, sessions=rt.sessions, request_id=request_id, status=status)
    items, following = page(proposals, key=lambda proposal: proposal.id, paging=paging)
    return ProposalList(items=[to_public(proposal) for proposal in items], next=following)


@router.get("/proposals/{proposal_id}", response_model=ProposalPublic)
async def get_proposal(proposal_id: ProposalId, reader: CurrentPrincipal, rt: Runtime) -> ProposalPublic:
    """One proposal: the units allocated, what is unfilled, and the decision on it. Read by whoever reads its
    request and by the forces it lends units of (403 otherwise)."""
    return to_public(await queries.get_proposal(proposal_id, reader=reader, sessions=rt.sessions))


@router.post("/proposals/{proposal_id}/approve", response_model=ProposalPublic, responses=DECIDED)
async def approve(proposal_id: ProposalId, body: Approval, principal: Coordinator, d: Deps) -> ProposalPublic:
    """Approve a pending proposal, or part of it (`unit_ids`): those units are committed to the request;
    the others are not offered to it again, and what they would have covered is planned again.

    409 (with the proposal's current state) when it is no longer pending, for example superseded by
    a planning run or decided by another coordinator meanwhile. REGIONAL proposals: a coordinator of
    the host's region; NATIONAL proposals: a national coordinator.
    """
    approved = await commands.approve(
        proposal_id, principal=principal, reason=body.reason, deps=d, unit_ids=body.unit_ids
    )
    return to_public(approved)


@router.post("/proposals/{proposal_id}/reject", response_model=ProposalPublic, responses=DECIDED)
async def reject(proposal_id: ProposalId, body: Rejection, principal: Coordinator, d: Deps) -> ProposalPublic:
    """Reject a pending proposal, or named units of it, with a reason: they are not offered to the request
    again and it is planned again at once; `end_request` rejects the request itself. Scope and 409 as approve."""
    rejected = await commands.reject(
        proposal_id,
        principal=principal,
        reason=body.reason,
        deps=d,
        unit_ids=body.unit_ids,
        end_request=body.end_request,
    )
    return to_public(rejected)


@router.post("/proposals/{proposal_id}/replan", response_model=ProposalPublic, responses=DECIDED)
async def replan(proposal_id: ProposalId, body: Replan, principal: Coordinator, d: Deps) -> ProposalPublic:
    """Ask for a pending proposal to be planned again on what is free now (it is superseded). Scope and 409
    as approve."""
    return to_public(await commands.replan(proposal_id, principal=principal, reason=body.reason, deps=d))


Donor = Annotated[Principal, Depends(require(Role.RESOURCE_MANAGER, Role.INTEGRATION))]


@router.post("/proposals/{proposal_id}/units/{unit_id}/accept", response_model=ProposalPublic, responses=DECIDED)
async def accept_tasking(
    proposal_id: ProposalId, unit_id: UnitId, body: DonorAnswer, principal: Donor, d: Deps
) -> ProposalPublic:
    """The unit's force accepts its tasking (a resource manager of that force)."""
    answered = await donors.answer(proposal_id, unit_id, accepted=True, principal=principal, reason=body.reason, deps=d)
    return to_public(answered)


@router.post("/proposals/{proposal_id}/units/{unit_id}/decline", response_model=ProposalPublic, responses=DECIDED)
async def decline_tasking(
    proposal_id: ProposalId, unit_id: UnitId, body: DonorDecline, principal: Donor, d: Deps
) -> ProposalPublic:
    """The unit's force declines its tasking, with a reason: the proposal is superseded, the unit not offered
    to this request again, and the request planned again. After approval, recall the unit instead (409)."""
    answered = await donors.answer(
        proposal_id, unit_id, accepted=False, principal=principal, reason=body.reason, deps=d
    )
    return to_public(answered)


@router.get(
    "/proposals/{proposal_id}/explanation",
    response_model=Explanation,
    responses={410: {"description": "Its planning inputs are past their retention"}},
)
async def explain_proposal(proposal_id: ProposalId, reader: CurrentPrincipal, rt: Runtime) -> Explanation:
    """Why this proposal: the planner and its settings, the inputs it saw, each unit chosen and each left out.
    Read as the proposal is."""
    return Explanation.model_validate(await queries.explanation(proposal_id, reader=reader, sessions=rt.sessions))


StandingDown = Annotated[Principal, Depends(require(Role.OPERATOR, Role.INTEGRATION))]


@router.post(
    "/requests/{request_id}/stand-down",
    response_model=StandDownResult,
    tags=["requests"],
    responses={409: {"description": "The request is over or holds no unit"}},
)
async def stand_down(request_id: RequestId, body: StandDown, principal: StandingDown, d: Deps) -> StandDownResult:
    """The host force ends its deployment: the lent units are released and the request closes."""
    request = await commands.stand_down(request_id, principal=principal, reason=body.reason, deps=d)
    return StandDownResult(request_id=request.request_id, state=request.state)


@router.get("/units", response_model=PlanningUnitList, tags=["read model"], responses=PAGED)
async def list_units(
    reader: CurrentPrincipal,
    rt: Runtime,
    paging: Paging,
    force: Annotated[str | None, Query(description="Force code")] = None,
    capability: Capability | None = None,
    status: UnitStatus | None = None,
) -> PlanningUnitList:
    """The units as the planner sees them (tasking's read model, fed by availability events), those you may
    read: your force's; a coordinator: the region's; others: all; by force and unit id, a page at a time."""
    units = await queries.list_units(
        reader=reader, sessions=rt.sessions, force=force, capability=capability, status=status
    )
    items, following = page(units, key=lambda unit: unit.unit_id, paging=paging)
    return PlanningUnitList(items=[PlanningUnit.model_validate(unit.model_dump()) for unit in items], next=following)


Auditor = Annotated[
    Principal, Depends(require(Role.AUDITOR, Role.COORDINATOR, Role.NATIONAL_COORDINATOR, Role.INTEGRATION))
]


@router.get("/audit", response_model=AuditList, tags=["audit"])
async def list_audit(
    reader: Auditor,
    rt: Runtime,
    request_id: Annotated[str | None, Query(max_length=36, description="Only the entries of this request")] = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
    after_seq: Annotated[int, Query(ge=0, le=2**31 - 1, description="Only entries numbered after this one")] = 0,
) -> AuditList:
    """The audit trail, oldest first: every proposal, decision and refused attempt, chained by hash, a page at a
    time (`limit`, then `after_seq` the last entry's seq). A coordinator reads the entries of one request of its
    region (request_id; 403 otherwise)."""
    entries = await queries.list_audit(
        reader=reader, sessions=rt.sessions, request_id=request_id, limit=limit, after_seq=after_seq
    )
    return AuditList(items=[AuditItem.model_validate(entry.model_dump()) for entry in entries])


@router.get("/audit/verify", response_model=AuditVerdict, tags=["audit"])
async def verify_audit(_: Auditor, d: Deps) -> AuditVerdict:
    """Check the whole chain, and against the checkpoints this service archived (TASKING_AUDIT_ARCHIVE) when it
    keeps them; names the first entry whose content or links were changed, or that is missing."""
    archive = d.audit_archive
    marks = await asyncio.to_thread(read_checkpoints, archive) if archive is not None and archive.exists() else []
    verdict = await audit_store.verify_trail(sessions=d.sessions, checkpoints=marks)
    return AuditVerdict.model_validate(verdict, from_attributes=True)


def to_public(proposal: Proposal) -> ProposalPublic:
    """A proposal as the API shows it: its allocations without the units an approval of part of it left out."""
    return ProposalPublic.model_validate(proposal.model_dump() | {"allocations": proposal.live_allocations()})
