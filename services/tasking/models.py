"""Tables of the tasking service: its read model of requests and units, its proposals, runs and audit trail.

Requests and proposals carry a version (optimistic concurrency, shared.db.version_column): every
decision about them is checked against the state it was made on. See docs/decisions/0005.
"""

from datetime import datetime, timedelta
from typing import Any, ClassVar

from pydantic import BaseModel
from sqlalchemy import JSON, Column, Index, Integer, Text
from sqlmodel import Field, SQLModel

from services.tasking.domain import Period, RequestState, tours
from shared.db import UTCDateTime, empty_dict, empty_list, enum_column, json_column, version_column
from shared.events import Allocation, BookingState, ProposalStatus, Shortfall, Tier, UnitStatus
from shared.messaging import utcnow
from shared.vocabulary import Capability, LendingScope, Need, Priority, Window

_REQUEST_VERSION = version_column()
_PROPOSAL_VERSION = version_column()


class DonorResponse(BaseModel):
    """A lending force's answer to the tasking of one of its units: accepted, or declined with a reason."""

    unit_id: str
    accepted: bool
    by: str
    reason: str = ""
    at: datetime


class RequestView(SQLModel, table=True):
    """A submitted request, as tasking learnt it from request.submitted, and where tasking stands with it."""

    __tablename__ = "tasking_request"
    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": _REQUEST_VERSION}

    request_id: str = Field(primary_key=True, max_length=36)
    requesting_force: str = Field(max_length=64)
    requesting_region: str = Field(max_length=64)
    priority: Priority = Field(sa_column=enum_column(Priority))
    location_lat: float
    location_lon: float
    required_by: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    end: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    needs: list[Need] = Field(sa_column=json_column(list[Need]))
    state: RequestState = Field(default=RequestState.OPEN, sa_column=enum_column(RequestState))
    received_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    correlation_id: str = Field(default="", max_length=64)
    committed: dict[str, Capability] = Field(
        default_factory=empty_dict, sa_column=json_column(dict[str, Capability]), description="unit id -> capability"
    )
    excluded_units: list[str] = Field(default_factory=empty_list, sa_column=json_column(list[str]))
    supersedes: list[str] = Field(
        default_factory=empty_list, sa_column=json_column(list[str]), description="proposals the next one replaces"
    )
    short: bool = Field(default=False, description="Its last planning left part of it unfilled")
    top_up: bool = Field(default=False, description="Short, and capacity appeared since: plan it again")
    extended_from: list[datetime] = Field(
        default_factory=empty_list,
        sa_column=json_column(list[datetime]),
        description="The ends it had before each extension (UTC): its later tours start there",
    )
    version: int = Field(default=1, sa_column=_REQUEST_VERSION)

    def period(self) -> Period:
        return self.required_by, self.end

    def tours(self, length: timedelta) -> list[Period]:
        """Its tours (UTC): cut where each extension began, then every `length` (services.tasking.domain.tours)."""
        return tours(self.required_by, self.end, length, self.extended_from)


class UnitView(SQLModel, table=True):
    """A unit's newest known state, from the availability events (event-carried state transfer)."""

    __tablename__ = "tasking_unit"

    unit_id: str = Field(primary_key=True, max_length=64)
    force: str = Field(index=True, max_length=64)
    region: str = Field(max_length=64)
    capability: Capability = Field(sa_column=enum_column(Capability, index=True))
    base_lat: float
    base_lon: float
    readiness_minutes: int
    available_from: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    available_until: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    windows: list[Window] = Field(default_factory=empty_list, sa_column=json_column(list[Window]))
    scope: LendingScope = Field(default=LendingScope.NATIONAL, sa_column=enum_column(LendingScope))
    status: UnitStatus = Field(sa_column=enum_column(UnitStatus))
    committed_to: str | None = Field(default=None, max_length=36)
    version: int
    declared: UnitStatus = Field(default=UnitStatus.AVAILABLE, sa_column=enum_column(UnitStatus))
    bookings: list[BookingState] = Field(default_factory=empty_list, sa_column=json_column(list[BookingState]))


class Proposal(SQLModel, table=True):
    """Units proposed for a request, waiting for (or having had) a coordinator's decision."""

    __tablename__ = "proposal"
    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": _PROPOSAL_VERSION}

    id: str = Field(primary_key=True, max_length=36)
    request_id: str = Field(index=True, max_length=36)
    status: ProposalStatus = Field(default=ProposalStatus.PENDING, sa_column=enum_column(ProposalStatus, index=True))
    allocations: list[Allocation] = Field(sa_column=json_column(list[Allocation]))
    unfilled: list[Shortfall] = Field(sa_column=json_column(list[Shortfall]))
    planner: str = Field(max_length=50)
    tier: Tier = Field(default=Tier.REGIONAL, sa_column=enum_column(Tier))
    planning_run_id: str | None = Field(default=None, max_length=36, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    decided_by: str | None = Field(default=None, max_length=200)
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    decision_reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    superseded_by: str | None = Field(default=None, max_length=36)
    passed_over: list[str] = Field(
        default_factory=empty_list, sa_column=json_column(list[str]), description="units the approval left out"
    )
    donor_responses: list[DonorResponse] = Field(default_factory=empty_list, sa_column=json_column(list[DonorResponse]))
    version: int = Field(default=1, sa_column=_PROPOSAL_VERSION)

    def live_allocations(self) -> list[Allocation]:
        """Its allocations less the units an approval of part of it left out."""
        return [allocation for allocation in self.allocations if allocation.unit_id not in self.passed_over]

    def unit_ids(self) -> set[str]:
        return {allocation.unit_id for allocation in self.live_allocations()}


class PolicyView(SQLModel, table=True):
    """A force's reserve per capability, from policy.updated (the planner never plans below it)."""

    __tablename__ = "tasking_policy"

    force: str = Field(primary_key=True, max_length=64)
    reserve: dict[Capability, int] = Field(default_factory=empty_dict, sa_column=json_column(dict[Capability, int]))
    policy_version: int


class PlanningRun(SQLModel, table=True):
    """One planner run over a batch: its exact inputs and settings, so it can be explained and replayed.

    Past TASKING_PLANNING_INPUTS_RETENTION_DAYS (if set) the inputs are emptied and inputs_purged_at
    set; the run, its settings and its digest stay (docs/decisions/0008).
    """

    __tablename__ = "planning_run"
    # what the purge goes by: the runs whose inputs are still there, oldest first
    __table_args__ = (Index("ix_planning_run_inputs_purged_at_created_at", "inputs_purged_at", "created_at"),)

    id: str = Field(primary_key=True, max_length=36)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    priority: Priority = Field(sa_column=enum_column(Priority))
    tier: Tier = Field(sa_column=enum_column(Tier))
    planner: str = Field(max_length=50)
    parameters: dict[str, Any] = Field(default_factory=empty_dict, sa_column=Column(JSON, nullable=False))
    rule_set: str = Field(max_length=50)
    inputs: dict[str, Any] = Field(default_factory=empty_dict, sa_column=Column(JSON, nullable=False))
    digest: str = Field(max_length=64, description="SHA-256 of the inputs: the read model as the planner saw it")
    inputs_purged_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class AuditEntry(SQLModel, table=True):
    """One decision or refusal, chained to the entry before it by a keyed hash (services.tasking.audit);
    rows are only ever appended. `key_version` names the key that sealed it (0: written before keys)."""

    __tablename__ = "audit_entry"

    seq: int = Field(primary_key=True)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    action: str = Field(max_length=50)
    request_id: str | None = Field(default=None, index=True, max_length=36)
    proposal_id: str | None = Field(default=None, max_length=36)
    actor: str = Field(max_length=200)
    role: str = Field(max_length=50)
    detail: dict[str, Any] = Field(default_factory=empty_dict, sa_column=Column(JSON, nullable=False))
    previous_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)
    key_version: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


class AuditHead(SQLModel, table=True):
    """The newest entry of the audit trail (one row): every append updates it first, so appends queue up
    behind each other on it instead of colliding on the next sequence number."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    hash: str = Field(max_length=64)


OWN_TABLES = frozenset(
    {"tasking_request", "tasking_unit", "proposal", "tasking_policy", "audit_entry", "audit_head", "planning_run"}
)
