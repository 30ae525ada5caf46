"""Requests: operators raise them and follow their force's; everyone can read a request and its timeline."""

import asyncio
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.console.backend import Refused
from services.console.web import Me, Person, from_uk_time, page
from shared.forces import forces
from shared.vocabulary import Capability, Priority, Role

router = APIRouter()


@router.get("/requests", response_class=HTMLResponse)
async def request_list(request: Request, me: Me) -> Response:
    """Operators: raise a request, and the force's requests with their live status. Others: every request."""
    return await _request_page(request, me)


async def _request_page(request: Request, me: Person, status_code: int = 200, **context: Any) -> Response:
    principal = me.principal
    force = principal.force if principal.role == Role.OPERATOR else None
    listed = await me.backend.get("requests", "/v1/requests", force=force, limit=50)
    context.setdefault("form", {})
    return page(
        request,
        "requests.html",
        principal,
        status_code,
        requests=listed["items"],
        capabilities=list(Capability),
        priorities=list(Priority),
        idempotency_key=str(uuid.uuid4()),
        hq=forces().get(principal.force or ""),
        **context,
    )


@router.post("/requests")
async def raise_request(
    request: Request,
    me: Me,
    operation: Annotated[str, Form()],
    priority: Annotated[str, Form()],
    capability: Annotated[str, Form()],
    quantity: Annotated[str, Form()],
    required_by: Annotated[str, Form()],
    end: Annotated[str, Form()],
    lat: Annotated[str, Form()],
    lon: Annotated[str, Form()],
    idempotency_key: Annotated[str, Form()],
    place: Annotated[str, Form()] = "",
    notes: Annotated[str, Form()] = "",
) -> Response:
    """Raise a request for the operator's force; the form's Idempotency-Key makes a double click harmless."""
    form = dict(await request.form())
    try:
        body = {
            "requesting_force": me.principal.force or "",
            "operation": operation,
            "priority": priority,
            "location": {"lat": float(lat), "lon": float(lon), **({"description": place} if place else {})},
            "required_by": from_uk_time(required_by),
            "end": from_uk_time(end),
            "needs": [{"capability": capability, "quantity": int(quantity)}],
            "notes": notes,
        }
        created = await me.backend.post("requests", "/v1/requests", body, **{"Idempotency-Key": idempotency_key})
    except ValueError:
        problem = "Enter the times as dates and times, the quantity as a whole number and the place as coordinates."
        return await _request_page(request, me, 422, error=problem, form=form)
    except Refused as refused:
        return await _request_page(request, me, refused.status, error=refused.in_plain_words(), form=form)
    return RedirectResponse(f"/requests/{created['id']}", status_code=303)


@router.get("/requests/{request_id}", response_class=HTMLResponse)
async def request_detail(request: Request, request_id: str, me: Me) -> Response:
    """A request, its timeline and its proposals."""
    detail, listed = await asyncio.gather(
        me.backend.get("requests", f"/v1/requests/{request_id}"),
        me.backend.get("tasking", "/v1/proposals", request_id=request_id),
    )
    return page(request, "request.html", me.principal, detail=detail, proposals=listed["items"])
