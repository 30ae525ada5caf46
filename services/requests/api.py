"""HTTP routes of the requests service: thin, they call commands and queries."""

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response

from services.requests import commands, queries
from services.requests.domain import RequestRules, RequestStatus
from services.requests.models import MutualAidRequest, TimelineEntry
from services.requests.schemas import (
    Cancellation,
    Extension,
    RequestCreate,
    RequestDetail,
    RequestList,
    RequestPublic,
    TimelineItem,
)
from shared.auth import CurrentPrincipal, Principal, Role, require
from shared.messaging import utcnow
from shared.service import Runtime

router = APIRouter(prefix="/v1", tags=["requests"])

RequestId = Annotated[str, Path(max_length=36, description="The request's id (a UUID)")]
Submitter = Annotated[Principal, Depends(require(Role.OPERATOR, Role.INTEGRATION))]


async def rules_of(request: Request) -> RequestRules:
    """FastAPI dependency: the rules new requests must respect, from the settings bootstrap read."""
    rules = request.app.state.rules
    if not isinstance(rules, RequestRules):
        raise TypeError("the requests app was built without its RequestRules (see services.requests.bootstrap)")
    return rules


Rules = Annotated[RequestRules, Depends(rules_of)]


@router.post(
    "/requests",
    status_code=201,
    response_model=RequestPublic,
    responses={409: {"description": "The Idempotency-Key was used with another body"}},
)
async def submit_request(
    body: RequestCreate,
    principal: Submitter,
    rt: Runtime,
    response: Response,
    rules: Rules,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> RequestPublic:
    """Submit a mutual aid request for your force; repeat safely with the same Idempotency-Key."""
    request, replayed = await commands.submit_request(
        body, principal=principal, idempotency_key=idempotency_key, uow=rt.uow, rules=rules, now=utcnow()
    )
    response.headers["Location"] = f"/v1/requests/{request.id}"
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return to_public(request)


@router.get("/requests/{request_id}", response_model=RequestDetail)
async def get_request(request_id: RequestId, reader: CurrentPrincipal, rt: Runtime) -> RequestDetail:
    """A request with its timeline: every status it went through and the event that moved it. Read by its
    force, coordinators of its region, national coordinators, auditors and integrations (403 otherwise)."""
    request, timeline = await queries.get_request(request_id, reader=reader, sessions=rt.sessions)
    return RequestDetail(**to_public(request).model_dump(), timeline=[to_timeline_item(e) for e in timeline])


@router.post(
    "/requests/{request_id}/cancel",
    response_model=RequestPublic,
    responses={409: {"description": "The request can no longer be cancelled"}},
)
async def cancel_request(request_id: RequestId, body: Cancellation, principal: Submitter, rt: Runtime) -> RequestPublic:
    """Cancel your force's request before it is approved, with a reason; tasking is told by request.cancelled."""
    request = await commands.cancel_request(request_id, principal=principal, reason=body.reason, uow=rt.uow)
    return to_public(request)


@router.post(
    "/requests/{request_id}/extend",
    response_model=RequestPublic,
    responses={409: {"description": "The request is over or changed meanwhile"}},
)
async def extend_request(
    request_id: RequestId, body: Extension, principal: Submitter, rt: Runtime, rules: Rules
) -> RequestPublic:
    """Extend your force's deployment to a later end, with a reason; tasking keeps on the units serving it
    where they can stay and plans the rest of the extra time (request.extended). 409 once it is over."""
    request = await commands.extend_request(
        request_id, principal=principal, end=body.end, reason=body.reason, uow=rt.uow, rules=rules, now=utcnow()
    )
    return to_public(request)


@router.get("/requests", response_model=RequestList)
async def list_requests(
    reader: CurrentPrincipal,
    rt: Runtime,
    force: Annotated[str | None, Query(description="Requesting force code")] = None,
    status: RequestStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    external_reference: Annotated[
        str | None, Query(max_length=100, description="The requesting system's reference (with `force`: one request)")
    ] = None,
) -> RequestList:
    """The requests you may read (your force's; a coordinator: the region's; others: all), newest first,
    optionally by requesting force, status and external reference."""
    requests = await queries.list_requests(
        reader=reader,
        sessions=rt.sessions,
        force=force,
        status=status,
        limit=limit,
        external_reference=external_reference,
    )
    return RequestList(items=[to_public(request) for request in requests])


def to_public(request: MutualAidRequest) -> RequestPublic:
    return RequestPublic.model_validate(
        {
            **request.model_dump(),
            "location": {
                "lat": request.location_lat,
                "lon": request.location_lon,
                "description": request.location_description,
            },
        }
    )


def to_timeline_item(entry: TimelineEntry) -> TimelineItem:
    return TimelineItem(at=entry.at, status=entry.status, event_type=entry.event_type, detail=entry.detail)
