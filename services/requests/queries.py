"""Reads of the requests service: a request with its timeline, and lists of requests."""

from sqlmodel import col, select

from services.requests.domain import (
    RequestStatus,
)
from services.requests.models import MutualAidRequest, TimelineEntry
from shared.auth import Principal
from shared.db import SessionFactory, list_matching, within
from shared.errors import NotFound
from shared.scopes import check_reads, scope_of


async def get_request(
    request_id: str, *, reader: Principal, sessions: SessionFactory
) -> tuple[MutualAidRequest, list[TimelineEntry]]:
    """A request and its timeline, oldest first; NotFound (404), Forbidden (403) outside the reader's scope."""
    async with sessions() as session:
        request = await session.get(MutualAidRequest, request_id)
        if request is None:
            raise NotFound(f"no request {request_id}")
        where = {"force": request.requesting_force, "region": request.requesting_region}
        check_reads(reader, f"request {request_id}", **where)
        timeline = await session.exec(
            select(TimelineEntry)
            .where(TimelineEntry.request_id == request_id)
            .order_by(col(TimelineEntry.at), col(TimelineEntry.id))
        )
        return request, list(timeline.all())


async def list_requests(
    *,
    reader: Principal,
    sessions: SessionFactory,
    force: str | None,
    status: RequestStatus | None,
    limit: int,
    external_reference: str | None = None,
) -> list[MutualAidRequest]:
    """The requests within the reader's scope, newest first, optionally of a force, in a status and with an
    external reference."""
    scoped = within(
        scope_of(reader), force=MutualAidRequest.requesting_force, region=MutualAidRequest.requesting_region
    )
    query = select(MutualAidRequest).where(scoped).order_by(col(MutualAidRequest.created_at).desc()).limit(limit)
    return await list_matching(
        sessions,
        query,
        [
            (MutualAidRequest.requesting_force, force),
            (MutualAidRequest.status, status),
            (MutualAidRequest.external_reference, external_reference),
        ],
    )
