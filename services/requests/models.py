"""Tables of the requests service."""

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from services.requests.domain import Contact, CostRecovery, RequestStatus
from shared.db import UTCDateTime, enum_column, json_column
from shared.messaging import utcnow
from shared.vocabulary import Need, Priority


class MutualAidRequest(SQLModel, table=True):
    __tablename__ = "request"

    id: str = Field(primary_key=True, max_length=36)
    requesting_force: str = Field(index=True, max_length=64)
    requesting_region: str = Field(max_length=64)
    operation: str = Field(max_length=200)
    priority: Priority = Field(sa_column=enum_column(Priority))
    location_lat: float
    location_lon: float
    location_description: str = Field(default="", max_length=200)
    required_by: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    end: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    needs: list[Need] = Field(sa_column=json_column(list[Need]))
    notes: str = Field(default="", sa_column=Column(Text, nullable=False))
    status: RequestStatus = Field(default=RequestStatus.SUBMITTED, sa_column=enum_column(RequestStatus, index=True))
    version: int = 1
    submitted_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    incident_reference: str | None = Field(default=None, max_length=100)
    external_reference: str | None = Field(default=None, max_length=100)  # unique per requesting force
    contact: Contact | None = Field(default=None, sa_column=json_column(Contact | None, nullable=True))
    cost_recovery: CostRecovery | None = Field(default=None, sa_column=enum_column(CostRecovery, nullable=True))

    __table_args__ = (UniqueConstraint("requesting_force", "external_reference", name="uq_request_external_reference"),)


class TimelineEntry(SQLModel, table=True):
    __tablename__ = "request_timeline"

    id: int | None = Field(default=None, primary_key=True)
    request_id: str = Field(foreign_key="request.id", index=True, max_length=36)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    status: RequestStatus = Field(sa_column=enum_column(RequestStatus))
    event_type: str = Field(max_length=100)
    event_id: str = Field(max_length=64)
    proposal_id: str | None = Field(default=None, max_length=64, description="The proposal the event is about")
    detail: str = Field(default="", sa_column=Column(Text, nullable=False))


class IdempotencyRecord(SQLModel, table=True):
    """An Idempotency-Key already used by a caller, the body it came with and what it created."""

    __tablename__ = "idempotency_key"

    caller: str = Field(primary_key=True, max_length=200)
    key: str = Field(primary_key=True, max_length=200)
    body_hash: str = Field(max_length=64)
    request_id: str = Field(max_length=36)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True)
    )  # indexed for the purge (REQUESTS_IDEMPOTENCY_KEY_RETENTION_HOURS)


OWN_TABLES = frozenset({"request", "request_timeline", "idempotency_key"})
