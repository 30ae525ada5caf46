"""HTTP bodies of the tasking service (v1 contract: extend, never rename)."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.events import Allocation, ProposalStatus, Shortfall


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
