"""The request's timeline: an entry for each event, the event told in words, and moving the status on."""

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.requests.domain import RequestStatus
from services.requests.models import MutualAidRequest, TimelineEntry
from shared.cloudevents import CloudEvent, EventData
from shared.events import (
    Allocation,
    CommitRejected,
    ProposalCreated,
    ProposalSuperseded,
    RequestCancelled,
    RequestEscalated,
    RequestExtended,
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
from shared.messaging import utcnow


def timeline_entry(
    request_id: str, event: CloudEvent, status: RequestStatus, detail: str, *, proposal_id: str | None = None
) -> TimelineEntry:
    """The timeline entry of an event: when it happened (its time, UTC), the status it stands for, and in words."""
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


async def on_timeline(
    session: AsyncSession, request_id: str, event_type: str, *, proposal_id: str | None = None
) -> bool:
    """Whether an event of this type (about this proposal, if given) is on the request's timeline."""
    query = select(TimelineEntry.id).where(
        TimelineEntry.request_id == request_id, TimelineEntry.event_type == event_type
    )
    if proposal_id is not None:
        query = query.where(TimelineEntry.proposal_id == proposal_id)
    return (await session.exec(query.limit(1))).first() is not None


def move(request: MutualAidRequest, status: RequestStatus) -> None:
    """Set the request's status, bumping its version and update time."""
    request.status = status
    request.version += 1
    request.updated_at = utcnow()


def describe(data: EventData) -> str:
    """A short human reading of an outcome for the timeline."""
    match data:
        case ProposalCreated():
            units = f"{len(data.allocations)} unit(s){_tours(data.allocations)}"
            return f"proposal {data.proposal_id}: {units}, {_shortfalls(data.unfilled)}"
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
        case RequestExtended():
            return f"extended to {data.end:%d %b %Y %H:%M} UTC by {data.extended_by}: {data.reason}"
    return ""


def _unit_ids(units: list[UnitState]) -> str:
    return ", ".join(unit.unit_id for unit in units)


def _shortfalls(unfilled: list[Shortfall]) -> str:
    if not unfilled:
        return "fully filled"
    return "unfilled: " + ", ".join(f"{s.quantity} {s.capability.value}" for s in unfilled)


def _tours(allocations: list[Allocation]) -> str:
    """The tours a proposal's units serve, when they serve part of the request (relief, an extension)."""
    periods = sorted({(a.start, a.end) for a in allocations if a.start is not None and a.end is not None})
    if not periods:
        return ""
    return " for tours " + ", ".join(f"{start:%d %b %H:%M} to {end:%d %b %H:%M} UTC" for start, end in periods)
