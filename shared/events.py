"""The v1 event contracts: each model is one event type's data. Extend with new fields; never rename."""

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from shared.cloudevents import EventData, register
from shared.vocabulary import Capability, GeoPoint, LendingScope, Need, Priority, Window

REQUESTS_TOPIC = "mutualaid.requests.v1"
AVAILABILITY_TOPIC = "mutualaid.availability.v1"
TASKING_TOPIC = "mutualaid.tasking.v1"
AUDIT_TOPIC = "mutualaid.audit.v1"
TOPICS = (REQUESTS_TOPIC, AVAILABILITY_TOPIC, TASKING_TOPIC, AUDIT_TOPIC)


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlq"


class UnitStatus(StrEnum):
    AVAILABLE = "AVAILABLE"
    COMMITTED = "COMMITTED"
    UNAVAILABLE = "UNAVAILABLE"
    WITHDRAWN = "WITHDRAWN"


class BookingState(BaseModel):
    """A unit booked for a request: from when it leaves base until it is back (UTC), travel included."""

    request_id: str
    start: datetime
    end: datetime


class UnitState(BaseModel):
    """A unit's full state, carried by every availability event so readers never call back."""

    unit_id: str
    force: str
    region: str
    capability: Capability
    base: GeoPoint
    readiness_minutes: int
    available_from: datetime = Field(description="Start of the earliest availability window")
    available_until: datetime = Field(description="End of the latest availability window")
    windows: list[Window] = Field(
        default_factory=list, description="Every availability window, merged and in order (empty: from..until)"
    )
    scope: LendingScope = LendingScope.NATIONAL
    status: UnitStatus = Field(
        description="AVAILABLE, UNAVAILABLE or WITHDRAWN as declared; COMMITTED while a booking of it has not ended"
    )
    committed_to: str | None = Field(None, description="The request of its earliest booking that has not ended")
    version: int = Field(ge=1, description="Increases with every change; readers keep the newest")
    declared: UnitStatus | None = Field(
        None, description="AVAILABLE, UNAVAILABLE or WITHDRAWN: what its force declared, bookings aside"
    )
    bookings: list[BookingState] = Field(
        default_factory=list, description="Every booking of the unit that has not ended, earliest first"
    )

    def declared_status(self) -> UnitStatus:
        """What the force declared; events from before bookings carry only status (COMMITTED meant AVAILABLE)."""
        if self.declared is not None:
            return self.declared
        return UnitStatus.AVAILABLE if self.status == UnitStatus.COMMITTED else self.status

    def availability(self) -> list[Window]:
        """The unit's windows; events from before windows existed carry only from and until."""
        return self.windows or [Window(start=self.available_from, end=self.available_until)]


class Allocation(BaseModel):
    unit_id: str
    force: str
    capability: Capability
    eta_minutes: int = Field(description="Readiness plus travel, in minutes")
    distance_km: float
    late: bool = Field(False, description="Cannot arrive by required_by; proposed only because nothing else can")
    via: list[str] = Field(
        default_factory=list, description="The ferry crossings on the way, in order (empty: by road only)"
    )
    start: datetime | None = Field(
        None, description="When this unit's tour begins (relief in tours); none: it serves from required_by"
    )
    end: datetime | None = Field(None, description="When this unit's tour ends; none: it serves until the end")


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


@register
class RequestCancelled(_RequestEvent):
    """The requesting force cancelled its request before it was approved."""

    event_type = "request.cancelled"
    cancelled_by: str
    reason: str


@register
class RequestExtended(_RequestEvent):
    """The requesting force extended its deployment: the period now ends later (UTC); tasking plans the extra
    time, keeping on the units serving the request where they can stay."""

    event_type = "request.extended"
    previous_end: datetime
    end: datetime
    extended_by: str
    reason: str


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


@register
class UnitWithdrawn(_UnitEvent):
    """A force withdrew a unit from what it can lend."""

    event_type = "unit.withdrawn"


class CommitFailure(BaseModel):
    """Why one unit of a tasking cannot be committed (availability's commit rules)."""

    unit_id: str = Field(description="The unit, or * for the tasking as a whole")
    rule: str = Field(
        description="exists, available, window, booked, scope, in_need (its force receives that capability"
        " in an overlapping period), reserve (its force would keep fewer free than its reserve at some instant)"
        " or distinct (a unit named twice)"
    )
    reason: str = Field(description="The same in words, with the figures")


class _DeploymentEvent(EventData):
    """An availability event about the units of one request, keyed by the request."""

    topic = AVAILABILITY_TOPIC
    request_id: str

    def subject(self) -> str:
        return self.request_id


class _CommitmentEvent(_DeploymentEvent):
    proposal_id: str


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


@register
class UnitsRecalled(_DeploymentEvent):
    """A donor recalled committed units; tasking must re-plan what they covered."""

    event_type = "units.recalled"
    units: list[UnitState]
    reason: str
    recalled_by: str


@register
class UnitsReleased(_DeploymentEvent):
    """The deployment was stood down: the units committed to it are available again."""

    event_type = "units.released"
    units: list[UnitState]


@register
class PolicyUpdated(EventData):
    """A force set its business-as-usual reserve and national commitment per capability."""

    event_type = "policy.updated"
    topic = AVAILABILITY_TOPIC
    force: str
    reserve: dict[Capability, int]
    national_commitment: dict[Capability, int]
    policy_version: int = Field(ge=1, description="Increases with every change; readers keep the newest")

    def subject(self) -> str:
        return self.force


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


class Tier(StrEnum):
    REGIONAL = "REGIONAL"
    NATIONAL = "NATIONAL"


@register
class ProposalCreated(_TaskingEvent):
    """The matcher proposed units for a request; a coordinator must approve it."""

    event_type = "proposal.created"
    proposal_id: str
    allocations: list[Allocation]
    unfilled: list[Shortfall]
    planner: str
    tier: Tier = Field(Tier.REGIONAL, description="REGIONAL: units of the host's region; NATIONAL: from any region")


@register
class RequestEscalated(_TaskingEvent):
    """The host's region cannot fill the request: what is missing goes to national planning."""

    event_type = "request.escalated"
    shortfall: list[Shortfall]


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
    partial: bool = Field(False, description="The approved proposal leaves part of the request unfilled")


@register
class TaskingRejected(_TaskingEvent):
    """A coordinator rejected a proposal, with a reason."""

    event_type = "tasking.rejected"
    proposal_id: str
    rejected_by: str
    reason: str
    closes_request: bool = Field(
        True,
        description="The request ends (REJECTED): false when another proposal of it, approved units or "
        "committed units keep it going",
    )


@register
class RequestUnfilled(_TaskingEvent):
    """Nobody can fill the request; each shortfall carries its reason."""

    event_type = "request.unfilled"
    unfilled: list[Shortfall]
    partially_filled: bool = Field(
        False, description="Units already approved or committed still serve the request: it is short, not empty"
    )


@register
class TaskingStoodDown(_TaskingEvent):
    """The host force stood the deployment down: the lent units go home."""

    event_type = "tasking.stood_down"
    stood_down_by: str
    reason: str = ""


# --- audit topic ----------------------------------------------------------------------------------


@register
class AuditCheckpointed(EventData):
    """The tasking audit trail as a decision left it: how many entries and the newest one's hash, signed.

    Kept outside the database, checkpoints let `mutualaid audit verify` find entries deleted from the end of
    the trail or a trail rewritten under another key (docs/decisions/0015).
    """

    event_type = "audit.checkpointed"
    topic = AUDIT_TOPIC
    seq: int = Field(ge=1, description="The sequence number of the trail's newest entry: how many entries it holds")
    head_hash: str = Field(pattern="^[0-9a-f]{64}$", description="That entry's hash (HMAC-SHA256, hex)")
    key_version: int = Field(ge=1, description="The version of the audit key that signed the checkpoint")
    signature: str = Field(
        pattern="^[0-9a-f]{64}$", description='HMAC-SHA256 (hex) of "checkpoint:{seq}:{head_hash}" under that key'
    )

    def subject(self) -> str:
        return "audit"
