"""One function per command or event; each owns its transaction."""

import hashlib
import logging
import uuid
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.requests.domain import (
    CAUGHT_UP,
    RequestStatus,
    check_cancellable,
    check_new_request,
    next_status,
    only_on_timeline,
    outcome_of,
)
from services.requests.models import IdempotencyRecord, MutualAidRequest, TimelineEntry
from services.requests.schemas import RequestCreate
from shared.auth import Principal
from shared.cloudevents import CloudEvent, EventData, new_event
from shared.db import SessionFactory, list_matching, retry_on_conflict
from shared.errors import Conflict, Forbidden, NotFound
from shared.events import (
    CommitRejected,
    ProposalCreated,
    ProposalSuperseded,
    RequestCancelled,
    RequestEscalated,
    RequestSubmitted,
    RequestUnfilled,
    Shortfall,
    TaskingApproved,
    TaskingRejected,
    TaskingStoodDown,
    UnitsCommitted,
    UnitsRecalled,
    UnitsReleased,
    UnitState,
)
from shared.forces import region_of
from shared.messaging import UnitOfWork, utcnow

log = logging.getLogger(__name__)

SOURCE = "/mutualaid/requests"
CONSUMER = "requests"
APPROVED = TaskingApproved.event_type

UowFactory = Callable[[], UnitOfWork]


async def submit_request(
    command: RequestCreate, *, principal: Principal, idempotency_key: str | None, uow: UowFactory
) -> tuple[MutualAidRequest, bool]:
    """Record a new request and its request.submitted event; returns (request, replayed)."""
    if not principal.acts_for_force(command.requesting_force):
        raise Forbidden(f"an operator of {principal.force} cannot submit for {command.requesting_force}")
    check_new_request(required_by=command.required_by, end=command.end, needs=command.needs)
    body_hash = hashlib.sha256(command.model_dump_json().encode()).hexdigest()
    try:
        async with uow() as work:
            if idempotency_key:
                replay = await _replay(work, principal.sub, idempotency_key, body_hash)
                if replay is not None:
                    return replay, True
            request = _new_request(command, principal)
            work.session.add(request)
            await work.session.flush()
            if idempotency_key:
                work.session.add(
                    IdempotencyRecord(
                        caller=principal.sub, key=idempotency_key, body_hash=body_hash, request_id=request.id
                    )
                )
            event = new_event(_submitted(request), source=SOURCE)
            work.session.add(_timeline(request.id, event, RequestStatus.SUBMITTED, "submitted"))
            work.publish(event, _submitted(request))
            await work.commit()
            return request, False
    except IntegrityError:
        if not idempotency_key:
            raise
        async with uow() as work:  # a concurrent call with the same key won the race
            replay = await _replay(work, principal.sub, idempotency_key, body_hash)
            if replay is None:
                raise
            return replay, True


async def _replay(work: UnitOfWork, caller: str, key: str, body_hash: str) -> MutualAidRequest | None:
    record = await work.session.get(IdempotencyRecord, (caller, key))
    if record is None:
        return None
    if record.body_hash != body_hash:
        raise Conflict("this Idempotency-Key was already used with a different body")
    return await work.session.get(MutualAidRequest, record.request_id)


def _new_request(command: RequestCreate, principal: Principal) -> MutualAidRequest:
    return MutualAidRequest(
        id=str(uuid.uuid4()),
        requesting_force=command.requesting_force,
        requesting_region=region_of(command.requesting_force),
        operation=command.operation,
        priority=command.priority,
        location_lat=command.location.lat,
        location_lon=command.location.lon,
        location_description=command.location.description,
        required_by=command.required_by,
        end=command.end,
        needs=[need.model_dump(mode="json") for need in command.needs],
        notes=command.notes,
        submitted_by=principal.sub,
    )


def _submitted(request: MutualAidRequest) -> RequestSubmitted:
    return RequestSubmitted.model_validate(
        {
            "request_id": request.id,
            "requesting_force": request.requesting_force,
            "requesting_region": request.requesting_region,
            "operation": request.operation,
            "priority": request.priority,
            "location": {
                "lat": request.location_lat,
                "lon": request.location_lon,
                "description": request.location_description,
            },
            "required_by": request.required_by,
            "end": request.end,
            "needs": request.needs,
            "notes": request.notes,
            "submitted_by": request.submitted_by,
        }
    )


def _timeline(
    request_id: str, event: CloudEvent, status: RequestStatus, detail: str, *, proposal_id: str | None = None
) -> TimelineEntry:
    short_type = event.type.removeprefix("uk.police.mutualaid.").rsplit(".v", 1)[0]
    return TimelineEntry(
        request_id=request_id,
        at=event.time,
        status=status,
        event_type=short_type,
        event_id=event.id,
        proposal_id=proposal_id,
        detail=detail,
    )


async def get_request(request_id: str, *, sessions: SessionFactory) -> tuple[MutualAidRequest, list[TimelineEntry]]:
    async with sessions() as session:
        request = await session.get(MutualAidRequest, request_id)
        if request is None:
            raise NotFound(f"no request {request_id}")
        timeline = await session.exec(
            select(TimelineEntry)
            .where(TimelineEntry.request_id == request_id)
            .order_by(col(TimelineEntry.at), col(TimelineEntry.id))
        )
        return request, list(timeline.all())


async def list_requests(
    *, sessions: SessionFactory, force: str | None, status: RequestStatus | None, limit: int
) -> list[MutualAidRequest]:
    query = select(MutualAidRequest).order_by(col(MutualAidRequest.created_at).desc()).limit(limit)
    return await list_matching(
        sessions, query, [(MutualAidRequest.requesting_force, force), (MutualAidRequest.status, status)]
    )


@retry_on_conflict
async def cancel_request(request_id: str, *, principal: Principal, reason: str, uow: UowFactory) -> MutualAidRequest:
    """The requesting force cancels its request before approval; request.cancelled tells tasking."""
    async with uow() as work:
        request = await work.session.get(MutualAidRequest, request_id, with_for_update=True)
        if request is None:
            raise NotFound(f"no request {request_id}")
        if not principal.acts_for_force(request.requesting_force):
            raise Forbidden(f"an operator of {principal.force} cannot cancel a request of {request.requesting_force}")
        approved_before = await _on_timeline(work.session, request.id, APPROVED)
        check_cancellable(request.status, approved_before=approved_before)
        cancelled = RequestCancelled(request_id=request.id, cancelled_by=principal.sub, reason=reason)
        event = new_event(cancelled, source=SOURCE)
        _move(request, RequestStatus.CANCELLED)
        work.session.add_all([request, _timeline(request.id, event, RequestStatus.CANCELLED, _describe(cancelled))])
        work.publish(event, cancelled)
        await work.commit()
        return request


async def record_outcome(event: CloudEvent, data: EventData, *, uow: UowFactory) -> None:
    """Apply a tasking or availability outcome to the request it names, once."""
    outcome = outcome_of(data.event_type, partial=isinstance(data, TaskingApproved) and data.partial)
    closes = not isinstance(data, TaskingRejected) or data.closes_request
    moves = not only_on_timeline(data.event_type, closes_request=closes)
    request_id = _request_id(data)
    async with uow() as work:
        if await work.already_applied(consumer=CONSUMER, event=event):
            return
        request = await work.session.get(MutualAidRequest, request_id, with_for_update=True)
        if request is None:
            log.warning("%s names unknown request %s; recorded as applied", event.type, request_id)
            await work.commit()
            return
        proposal_id = getattr(data, "proposal_id", None)
        shown = outcome if moves else request.status
        work.session.add(_timeline(request.id, event, shown, _describe(data), proposal_id=proposal_id))
        replaced = isinstance(data, ProposalSuperseded) and data.superseded_by is not None
        status = next_status(request.status, outcome, event_type=data.event_type, replaced=replaced) if moves else None
        if status is not None:
            _move(request, await _caught_up(work.session, request.id, status, proposal_id))
            work.session.add(request)
        await work.commit()


async def _caught_up(
    session: AsyncSession, request_id: str, status: RequestStatus, proposal_id: str | None
) -> RequestStatus:
    """The status, or the one after it when the outcome leading there overtook this one and is on the timeline."""
    if status not in CAUGHT_UP:
        return status
    event_type, following = CAUGHT_UP[status]
    return following if await _on_timeline(session, request_id, event_type, proposal_id=proposal_id) else status


async def _on_timeline(
    session: AsyncSession, request_id: str, event_type: str, *, proposal_id: str | None = None
) -> bool:
    """Whether an event of this type (about this proposal, if given) is on the request's timeline."""
    query = select(TimelineEntry.id).where(
        TimelineEntry.request_id == request_id, TimelineEntry.event_type == event_type
    )
    if proposal_id is not None:
        query = query.where(TimelineEntry.proposal_id == proposal_id)
    return (await session.exec(query.limit(1))).first() is not None


def _move(request: MutualAidRequest, status: RequestStatus) -> None:
    request.status = status
    request.version += 1
    request.updated_at = utcnow()


def _request_id(data: EventData) -> str:
    request_id = getattr(data, "request_id", None)
    if not isinstance(request_id, str):
        raise TypeError(f"{data.event_type} carries no request_id")
    return request_id


def _describe(data: EventData) -> str:
    """A short human reading of an outcome for the timeline."""
    match data:
        case ProposalCreated():
            return f"proposal {data.proposal_id}: {len(data.allocations)} unit(s), {_shortfalls(data.unfilled)}"
        case RequestEscalated():
            return "national planning for " + ", ".join(f"{s.quantity} {s.capability.value}" for s in data.shortfall)
        case ProposalSuperseded():
            replacement = f" by {data.superseded_by}" if data.superseded_by else ""
            return f"proposal {data.proposal_id} superseded{replacement}: {data.reason}"
        case TaskingApproved():
            partially = "partially " if data.partial else ""
            return f"{partially}approved by {data.approved_by}" + (f": {data.reason}" if data.reason else "")
        case TaskingRejected():
            return f"rejected by {data.rejected_by}: {data.reason}"
        case RequestUnfilled():
            return "; ".join(f"{s.quantity} {s.capability.value}: {s.reason}" for s in data.unfilled)
        case UnitsCommitted():
            return f"{len(data.units)} unit(s) committed: {_unit_ids(data.units)}"
        case CommitRejected():
            return "; ".join(f"{f.unit_id}: {f.reason}" for f in data.failures)
        case UnitsRecalled():
            return f"{_unit_ids(data.units)} recalled by {data.recalled_by}: {data.reason}"
        case TaskingStoodDown():
            return f"stood down by {data.stood_down_by}" + (f": {data.reason}" if data.reason else "")
        case UnitsReleased():
            return f"{len(data.units)} unit(s) released" + (f": {_unit_ids(data.units)}" if data.units else "")
        case RequestCancelled():
            return f"cancelled by {data.cancelled_by}: {data.reason}"
    return ""


def _unit_ids(units: list[UnitState]) -> str:
    return ", ".join(unit.unit_id for unit in units)


def _shortfalls(unfilled: list[Shortfall]) -> str:
    if not unfilled:
        return "fully filled"
    return "unfilled: " + ", ".join(f"{s.quantity} {s.capability.value}" for s in unfilled)
