"""HTTP bodies of the tasking service (v1 contract: extend, never rename)."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from services.tasking.models import DonorResponse
from shared.events import Allocation, ProposalStatus, Shortfall, Tier, UnitStatus
from shared.vocabulary import HAS_TEXT_PATTERN, Capability, Flag, Input, Priority

UnitRef = Annotated[str, Field(min_length=1, max_length=64, description="A unit's id, as its force declared it")]


class ProposalPublic(BaseModel):
    id: str
    request_id: str
    status: ProposalStatus
    allocations: list[Allocation] = Field(
        description="The units the proposal sends (once part of it is approved, those approved: see passed_over)"
    )
    unfilled: list[Shortfall]
    planner: str
    tier: Tier = Field(description="REGIONAL: from the host's region; NATIONAL: drawn from every region")
    planning_run_id: str | None
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str
    superseded_by: str | None
    version: int = Field(description="Increases with every change of the proposal; decisions are checked against it")
    passed_over: list[str] = Field(default_factory=list, description="Units an approval of part of it left out")
    donor_responses: list[DonorResponse] = Field(
        default_factory=list, description="The lending forces' answers: each unit accepted, or declined with a reason"
    )


class ProposalList(BaseModel):
    items: list[ProposalPublic]
    next: str | None = Field(None, description="Pass as `after` for the next page; null on the last page")


class Approval(Input):
    reason: str = Field("", max_length=2000)
    unit_ids: list[UnitRef] | None = Field(
        None,
        min_length=1,
        max_length=500,
        description="Approve only these of the proposal's units; the others are not offered to the request again"
        " and what they would have covered is planned again",
    )


class Rejection(Input):
    reason: str = Field(
        min_length=1, max_length=2000, pattern=HAS_TEXT_PATTERN, description="Why the proposal is rejected (required)"
    )
    unit_ids: list[UnitRef] | None = Field(
        None,
        min_length=1,
        max_length=500,
        description="The units rejected (leave out: all of them); they are not offered to the request again",
    )
    end_request: Flag = Field(
        False,
        description="Reject the request itself: it ends once nothing else of it is live. Otherwise it is planned again",
    )


class Replan(Input):
    reason: str = Field(
        min_length=1, max_length=2000, pattern=HAS_TEXT_PATTERN, description="Why the proposal should be planned again"
    )


class DonorAnswer(Input):
    reason: str = Field("", max_length=2000, description="Why (optional for an acceptance)")


class DonorDecline(Input):
    reason: str = Field(
        min_length=1, max_length=2000, pattern=HAS_TEXT_PATTERN, description="Why the unit cannot go (required)"
    )


class PlanningUnit(BaseModel):
    """A unit as the planner sees it: the newest state tasking received from availability."""

    unit_id: str
    force: str
    region: str
    capability: Capability
    status: UnitStatus
    committed_to: str | None
    version: int


class PlanningUnitList(BaseModel):
    items: list[PlanningUnit]
    next: str | None = Field(None, description="Pass as `after` for the next page; null on the last page")


class AuditItem(BaseModel):
    seq: int
    at: datetime
    action: str
    request_id: str | None
    proposal_id: str | None
    actor: str
    role: str
    detail: dict[str, Any]
    previous_hash: str
    hash: str


class AuditList(BaseModel):
    items: list[AuditItem]


class AuditVerdict(BaseModel):
    intact: bool
    entries: int
    first_broken: int | None = Field(description="seq of the first entry that does not verify")
    reason: str


class ChosenUnit(Allocation):
    score: float = Field(description="What the planner minimised for this unit: its arrival time in minutes")


class ExcludedUnit(BaseModel):
    unit_id: str
    force: str
    reason: str = Field(
        description="HOST_FORCE, NOT_AVAILABLE, SCOPE, OUTSIDE_REGION, WINDOW, BOOKED (lent for an overlapping"
        " period), IN_NEED (its force asks for that capability at the same time), HELD_BY_ANOTHER_PROPOSAL,"
        " FAILED_TO_COMMIT, TAKEN_BY_ANOTHER_REQUEST, RESERVE or NOT_NEEDED"
    )


class Explanation(BaseModel):
    """The decision record of a proposal."""

    proposal_id: str
    request_id: str
    tier: Tier
    planning_run_id: str
    planned_at: datetime
    priority: Priority
    planner: str
    parameters: dict[str, Any]
    rule_set: str
    inputs_digest: str = Field(description="SHA-256 of the inputs the planner saw (the read model at that moment)")
    units_considered: int
    chosen: list[ChosenUnit]
    excluded: list[ExcludedUnit]
    unfilled: list[Shortfall]


class StandDown(Input):
    reason: str = Field("", max_length=2000)


class StandDownResult(BaseModel):
    request_id: str
    state: str
