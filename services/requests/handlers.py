"""Event handlers of the requests service: the outcomes other services report, each applied once."""

import logging

from sqlmodel.ext.asyncio.session import AsyncSession

from services.requests.domain import (
    CAUGHT_UP,
    RequestStatus,
    next_status,
    only_on_timeline,
    outcome_of,
)
from services.requests.models import MutualAidRequest
from services.requests.timeline import describe, move, on_timeline, timeline_entry
from shared.cloudevents import CloudEvent, EventData
from shared.events import (
    ProposalSuperseded,
    RequestUnfilled,
    TaskingApproved,
    TaskingRejected,
)
from shared.messaging import UowFactory

log = logging.getLogger(__name__)

CONSUMER = "requests"


async def record_outcome(event: CloudEvent, data: EventData, *, uow: UowFactory) -> None:
    """Apply a tasking or availability outcome to the request it names, once."""
    await record_outcomes([(event, data)], uow=uow)


async def record_outcomes(batch: list[tuple[CloudEvent, EventData]], *, uow: UowFactory) -> None:
    """Apply a run of outcomes of one type, in their order and in one transaction, each once."""
    async with uow() as work:
        for event, data in await work.not_yet_applied(consumer=CONSUMER, events=batch):
            await _apply_outcome(work.session, event, data)
        await work.commit()


async def _apply_outcome(session: AsyncSession, event: CloudEvent, data: EventData) -> None:
    """Move the request the outcome names on and put the outcome on its timeline (an unknown request: nothing)."""
    partial = (isinstance(data, TaskingApproved) and data.partial) or (
        isinstance(data, RequestUnfilled) and data.partially_filled
    )
    outcome = outcome_of(data.event_type, partial=partial)
    closes = not isinstance(data, TaskingRejected) or data.closes_request
    moves = not only_on_timeline(data.event_type, closes_request=closes)
    request_id = _request_id(data)
    request = await session.get(MutualAidRequest, request_id, with_for_update=True)
    if request is None:
        log.warning("%s names unknown request %s; recorded as applied", event.type, request_id)
        return
    proposal_id = getattr(data, "proposal_id", None)
    shown = outcome if moves else request.status
    session.add(timeline_entry(request.id, event, shown, describe(data), proposal_id=proposal_id))
    replaced = isinstance(data, ProposalSuperseded) and data.superseded_by is not None
    status = next_status(request.status, outcome, event_type=data.event_type, replaced=replaced) if moves else None
    if status is not None:
        move(request, await _caught_up(session, request.id, status, proposal_id))
        session.add(request)


async def _caught_up(
    session: AsyncSession, request_id: str, status: RequestStatus, proposal_id: str | None
) -> RequestStatus:
    """The status, or the one after it when the outcome leading there overtook this one and is on the timeline."""
    if status not in CAUGHT_UP:
        return status
    event_type, following = CAUGHT_UP[status]
    return following if await on_timeline(session, request_id, event_type, proposal_id=proposal_id) else status


def _request_id(data: EventData) -> str:
    request_id = getattr(data, "request_id", None)
    if not isinstance(request_id, str):
        raise TypeError(f"{data.event_type} carries no request_id")
    return request_id
