"""HTTP bodies of the requests service (v1 contract: extend, never rename)."""

from datetime import datetime

from pydantic import BaseModel, Field

from services.requests.domain import Contact, CostRecovery, RequestStatus
from shared.vocabulary import (
    HAS_TEXT_PATTERN,
    ForceCode,
    GeoPoint,
    GeoPointInput,
    Input,
    Instant,
    Need,
    NeedInput,
    Priority,
    UtcDatetime,
)


class ContactInput(Contact, Input):
    name: str = Field(min_length=1, max_length=200, pattern=HAS_TEXT_PATTERN)


class RequestBase(BaseModel):
    requesting_force: ForceCode
    operation: str = Field(min_length=1, max_length=200, examples=["Op Example"])
    priority: Priority
    location: GeoPoint
    required_by: UtcDatetime = Field(description="When the first units must be there (RFC 3339 with zone)")
    end: UtcDatetime = Field(description="When the deployment is expected to end")
    needs: list[Need] = Field(min_length=1, max_length=20)
    notes: str = Field("", max_length=4000)
    incident_reference: str | None = Field(
        None, max_length=100, description="The incident this request is for, as the requesting force numbers it"
    )
    external_reference: str | None = Field(
        None,
        max_length=100,
        description="The requesting system's own reference: unique per requesting force (409 when used already); "
        "GET /v1/requests?external_reference= finds the request by it",
    )
    contact: Contact | None = None
    cost_recovery: CostRecovery | None = Field(None, description="Mutual aid cost recovery category")


class RequestCreate(RequestBase, Input):
    operation: str = Field(min_length=1, max_length=200, pattern=HAS_TEXT_PATTERN, examples=["Op Example"])
    location: GeoPointInput
    required_by: Instant = Field(description="When the first units must be there (RFC 3339 with zone)")
    end: Instant = Field(description="When the deployment is expected to end")
    needs: list[NeedInput] = Field(min_length=1, max_length=20)  # type: ignore[assignment]
    contact: ContactInput | None = None

    def wanted(self) -> list[Need]:
        """The needs as the domain, the table and the events keep them."""
        return [Need.model_validate(need.model_dump()) for need in self.needs]


class Cancellation(Input):
    reason: str = Field(
        min_length=1, max_length=2000, pattern=HAS_TEXT_PATTERN, description="Why the request is cancelled (required)"
    )


class Extension(Input):
    end: Instant = Field(description="The deployment's new end (RFC 3339 with zone), after its current end")
    reason: str = Field(
        min_length=1, max_length=2000, pattern=HAS_TEXT_PATTERN, description="Why the deployment is extended (required)"
    )


class TimelineItem(BaseModel):
    at: datetime
    status: RequestStatus
    event_type: str
    detail: str = ""


class RequestPublic(RequestBase):
    id: str
    requesting_region: str
    status: RequestStatus
    version: int
    submitted_by: str
    created_at: datetime
    updated_at: datetime


class RequestDetail(RequestPublic):
    timeline: list[TimelineItem]


class RequestList(BaseModel):
    items: list[RequestPublic]
