"""Commands from the requests API: submit, cancel and extend; each owns its transaction."""

import hashlib
import uuid
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from services.requests.domain import (
    Contact,
    RequestRules,
    RequestStatus,
    check_cancellable,
    check_extension,
    check_new_request,
)
from services.requests.models import IdempotencyRecord, MutualAidRequest
from services.requests.schemas import RequestCreate
from services.requests.timeline import describe, move, on_timeline, timeline_entry
from shared.auth import Principal
from shared.cloudevents import new_event
from shared.db import retry_on_conflict
from shared.errors import Conflict, Forbidden, NotFound
from shared.events import (
    RequestCancelled,
    RequestExtended,
    RequestSubmitted,
    TaskingApproved,
)
from shared.forces import region_of
from shared.messaging import UnitOfWork, UowFactory, utcnow

SOURCE = "/mutualaid/requests"
APPROVED = TaskingApproved.event_type


async def submit_request(
    command: RequestCreate,
    *,
    principal: Principal,
    idempotency_key: str | None,
    uow: UowFactory,
    rules: RequestRules,
    now: datetime,
) -> tuple[MutualAidRequest, bool]:
    """Record a new request and its request.submitted event; returns (request, replayed).

    Raises Forbidden (another force), InvalidInput (a period that ended, is too long or makes no
    sense) and Conflict (the Idempotency-Key was used with another body, or the external reference is another
    request's of the same force)."""
    if not principal.acts_for_force(command.requesting_force):
        raise Forbidden(f"an operator of {principal.force} cannot submit for {command.requesting_force}")
    check_new_request(required_by=command.required_by, end=command.end, needs=command.wanted(), now=now, rules=rules)
    body_hash = hashlib.sha256(command.model_dump_json().encode()).hexdigest()
    try:
        async with uow() as work:
            if idempotency_key:
                replay = await _replay(work, principal.sub, idempotency_key, body_hash)
                if replay is not None:
                    return replay, True
            await _check_external_reference(work, command)
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
            work.session.add(timeline_entry(request.id, event, RequestStatus.SUBMITTED, "submitted"))
            work.publish(event, _submitted(request))
            await work.commit()
            return request, False
    except IntegrityError:
        async with uow() as work:  # a concurrent call with the same key, or the same external reference, won
            replay = await _replay(work, principal.sub, idempotency_key, body_hash) if idempotency_key else None
            if replay is None:
                await _check_external_reference(work, command)
                raise
            return replay, True


async def _check_external_reference(work: UnitOfWork, command: RequestCreate) -> None:
    """Conflict (409) naming the request that already holds the command's external reference for its force."""
    if command.external_reference is None:
        return
    query = select(MutualAidRequest.id).where(
        MutualAidRequest.requesting_force == command.requesting_force,
        MutualAidRequest.external_reference == command.external_reference,
    )
    holder = (await work.session.exec(query)).first()
    if holder is not None:
        raise Conflict(
            f"external_reference {command.external_reference!r} of {command.requesting_force} is request {holder}"
        )


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
        needs=command.wanted(),
        notes=command.notes,
        submitted_by=principal.sub,
        incident_reference=command.incident_reference,
        external_reference=command.external_reference,
        contact=command.contact and Contact.model_validate(command.contact.model_dump()),
        cost_recovery=command.cost_recovery,
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


@retry_on_conflict
async def cancel_request(request_id: str, *, principal: Principal, reason: str, uow: UowFactory) -> MutualAidRequest:
    """The requesting force cancels its request before approval; request.cancelled tells tasking."""
    async with uow() as work:
        request = await work.session.get(MutualAidRequest, request_id, with_for_update=True)
        if request is None:
            raise NotFound(f"no request {request_id}")
        if not principal.acts_for_force(request.requesting_force):
            raise Forbidden(f"an operator of {principal.force} cannot cancel a request of {request.requesting_force}")
        approved_before = await on_timeline(work.session, request.id, APPROVED)
        check_cancellable(request.status, approved_before=approved_before)
        cancelled = RequestCancelled(request_id=request.id, cancelled_by=principal.sub, reason=reason)
        event = new_event(cancelled, source=SOURCE)
        move(request, RequestStatus.CANCELLED)
        work.session.add_all([request, timeline_entry(request.id, event, RequestStatus.CANCELLED, describe(cancelled))])
        work.publish(event, cancelled)
        await work.commit()
        return request


@retry_on_conflict
async def extend_request(
    request_id: str,
    *,
    principal: Principal,
    end: datetime,
    reason: str,
    uow: UowFactory,
    rules: RequestRules,
    now: datetime,
) -> MutualAidRequest:
    """The requesting force extends its deployment to a later end (UTC); request.extended tells tasking,
    which plans the extra time. The status stays as it is until tasking answers.

    Raises NotFound, Forbidden (another force), Conflict (the request is over) and InvalidInput (an end
    not later than the current one, or making the request longer than rules.longest)."""
    async with uow() as work:
        request = await work.session.get(MutualAidRequest, request_id, with_for_update=True)
        if request is None:
            raise NotFound(f"no request {request_id}")
        if not principal.acts_for_force(request.requesting_force):
            raise Forbidden(f"an operator of {principal.force} cannot extend a request of {request.requesting_force}")
        check_extension(
            request.status, required_by=request.required_by, end=request.end, new_end=end, now=now, rules=rules
        )
        extended = RequestExtended(
            request_id=request.id, previous_end=request.end, end=end, extended_by=principal.sub, reason=reason
        )
        event = new_event(extended, source=SOURCE)
        # Only if the end is still the one read: of two extensions at once, the second is refused (SQLite
        # ignores FOR UPDATE, so the row's own end is the guard).
        moved = await work.session.exec(
            update(MutualAidRequest)
            .where(col(MutualAidRequest.id) == request.id, col(MutualAidRequest.end) == request.end)
            .values(end=end, version=MutualAidRequest.version + 1, updated_at=utcnow())
        )
        if moved.rowcount != 1:
            raise Conflict("the request was extended by someone else meanwhile: read it again and decide")
        work.session.add(timeline_entry(request.id, event, RequestStatus(request.status), describe(extended)))
        work.publish(event, extended)
        await work.commit()
        await work.session.refresh(request)
        return request
