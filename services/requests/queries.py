"""Reads of the requests service: a request with its timeline, and lists of requests."""

from sqlmodel import col, select

from services.requests.domain import (
    RequestStatus,
)
from services.requests.models import MutualAidRequest, TimelineEntry
from shared.db import SessionFactory, list_matching
from shared.errors import NotFound


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
