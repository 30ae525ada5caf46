"""The v1 event contracts: each model is one event type's data. Extend with new fields; never rename."""

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from shared.cloudevents import EventData, register
from shared.vocabulary import Capability, GeoPoint, Need, Priority

REQUESTS_TOPIC = "mutualaid.requests.v1"
AVAILABILITY_TOPIC = "mutualaid.availability.v1"
TASKING_TOPIC = "mutualaid.tasking.v1"
TOPICS = (REQUESTS_TOPIC, AVAILABILITY_TOPIC, TASKING_TOPIC)


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlq"


class UnitStatus(StrEnum):
    AVAILABLE = "AVAILABLE"
    COMMITTED = "COMMITTED"
    UNAVAILABLE = "UNAVAILABLE"
    WITHDRAWN = "WITHDRAWN"


class UnitState(BaseModel):
    """A unit's full state, carried by every availability event so readers never call back."""

    unit_id: str
    force: str
    region: str
    capability: Capability
    base: GeoPoint
    readiness_minutes: int
    available_from: datetime
    available_until: datetime
    status: UnitStatus
    committed_to: str | None = None
    version: int = Field(ge=1, description="Increases with every change; readers keep the newest")


class Allocation(BaseModel):
    unit_id: str
    force: str
    capability: Capability
    eta_minutes: int
    distance_km: float


class Shortfall(BaseModel):
    capability: Capability
    quantity: int = Field(ge=1)
    reason: str = ""


# --- requests topic -------------------------------------------------------------------------------


class _RequestEvent(EventData):
    topic = REQUESTS_TOPIC
    request_id: str

    def subject(self) -> str:
        return self.request_id


@register
class RequestSubmitted(_RequestEvent):
    """An operator submitted a mutual aid request."""

    event_type = "request.submitted"
    requesting_force: str
    requesting_region: str
    operation: str
    priority: Priority
    location: GeoPoint
    required_by: datetime
    end: datetime
    needs: list[Need]
    notes: str = ""
    submitted_by: str


# --- availability topic ---------------------------------------------------------------------------


class _UnitEvent(EventData):
    topic = AVAILABILITY_TOPIC
    unit: UnitState

    def subject(self) -> str:
        return self.unit.unit_id


@register
class UnitDeclared(_UnitEvent):
    """A force declared a unit it can lend."""

    event_type = "unit.declared"


@register
class UnitUpdated(_UnitEvent):
    """A declared unit changed: its details, its window or its status."""

    event_type = "unit.updated"


class CommitFailure(BaseModel):
    unit_id: str
    rule: str
    reason: str


class _CommitmentEvent(EventData):
    topic = AVAILABILITY_TOPIC
    request_id: str
    proposal_id: str

    def subject(self) -> str:
        return self.request_id


@register
class UnitsCommitted(_CommitmentEvent):
    """Every unit of an approved tasking is now committed to the request."""

    event_type = "units.committed"
    units: list[UnitState]


@register
class CommitRejected(_CommitmentEvent):
    """An approved tasking could not be committed; no unit of it was."""

    event_type = "commit.rejected"
    failures: list[CommitFailure]


# --- tasking topic --------------------------------------------------------------------------------


class _TaskingEvent(EventData):
    topic = TASKING_TOPIC
    request_id: str

    def subject(self) -> str:
        return self.request_id


@register
class MatchingStarted(_TaskingEvent):
    """Tasking has the request and is planning it."""

    event_type = "matching.started"


class ProposalStatus(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    SUPERSEDED = "SUPERSEDED"


@register
class ProposalCreated(_TaskingEvent):
    """The matcher proposed units for a request; a coordinator must approve it."""

    event_type = "proposal.created"
    proposal_id: str
    allocations: list[Allocation]
    unfilled: list[Shortfall]
    planner: str


@register
class ProposalSuperseded(_TaskingEvent):
    """A pending or approved proposal was replaced by a new one."""

    event_type = "proposal.superseded"
    proposal_id: str
    superseded_by: str | None
    reason: str


@register
class TaskingApproved(_TaskingEvent):
    """A coordinator approved a proposal: the lending units are to be committed."""

    event_type = "tasking.approved"
    proposal_id: str
    requesting_force: str
    requesting_region: str
    start: datetime
    end: datetime
    allocations: list[Allocation]
    approved_by: str
    reason: str = ""


@register
class TaskingRejected(_TaskingEvent):
    """A coordinator rejected a proposal, with a reason."""

    event_type = "tasking.rejected"
    proposal_id: str
    rejected_by: str
    reason: str


@register
class RequestUnfilled(_TaskingEvent):
    """Nobody can fill the request; each shortfall carries its reason."""

    event_type = "request.unfilled"
    unfilled: list[Shortfall]
