"""HTTP bodies of the tasking service (v1 contract: extend, never rename)."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.events import Allocation, ProposalStatus, Shortfall, UnitStatus
from shared.vocabulary import Capability


class ProposalPublic(BaseModel):
    id: str
    request_id: str
    status: ProposalStatus
    allocations: list[Allocation]
    unfilled: list[Shortfall]
    planner: str
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str
    superseded_by: str | None


class ProposalList(BaseModel):
    items: list[ProposalPublic]


class Approval(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field("", max_length=2000)


class Rejection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000, description="Why the proposal is rejected (required)")


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
