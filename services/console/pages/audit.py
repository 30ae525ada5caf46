"""The audit trail: every proposal, decision and refused attempt about a request, and whether the chain holds."""

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.console.backend import path
from services.console.web import Auditor, page

router = APIRouter()


@router.get("/audit", response_class=HTMLResponse)
async def audit_home(request: Request, me: Auditor) -> Response:
    """Whether the whole trail verifies, and the requests whose trail can be opened."""
    verdict, listed = await asyncio.gather(
        me.backend.get("tasking", "/v1/audit/verify"), me.backend.get("requests", "/v1/requests", limit=100)
    )
    return page(request, "audit.html", me.principal, verdict=verdict, requests=listed["items"])


@router.get("/audit/{request_id}", response_class=HTMLResponse)
async def request_trail(request: Request, request_id: str, me: Auditor) -> Response:
    """A request's audit trail, oldest first, and whether the whole chain verifies."""
    detail, trail, verdict = await asyncio.gather(
        me.backend.get("requests", path("/v1/requests", request_id)),
        me.backend.get("tasking", "/v1/audit", request_id=request_id),
        me.backend.get("tasking", "/v1/audit/verify"),
    )
    return page(request, "trail.html", me.principal, detail=detail, entries=trail["items"], verdict=verdict)
