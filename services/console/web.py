"""The console's pages: server-rendered HTML forms over the services' APIs, one page per piece of work.

Times are shown and entered in UK local time (Europe/London, with the zone shown) and sent as UTC.
Every page holds regions marked data-live that static/live.js fetches again when an event arrives.
"""

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates

from services.console.backend import Backend, Refused
from services.console.config import ConsoleSettings
from services.console.live import Hub
from shared.auth import Principal, decode_token, issue_token
from shared.errors import Unauthorized
from shared.forces import forces, regions
from shared.vocabulary import Capability, Priority, Role

UK = ZoneInfo("Europe/London")
COOKIE = "mutualaid_console"
COORDINATORS = (Role.COORDINATOR, Role.NATIONAL_COORDINATOR)

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
router = APIRouter()


def uk_time(moment: str | datetime | None) -> str:
    """A UTC time (ISO text or datetime) as UK local time with its zone, e.g. 'Sat 3 Aug 14:30 BST'."""
    if moment is None:
        return ""
    value = datetime.fromisoformat(moment.replace("Z", "+00:00")) if isinstance(moment, str) else moment
    local = value.astimezone(UK)
    return f"{local:%a} {local.day} {local:%b %H:%M %Z}"


templates.env.filters["uk_time"] = uk_time


def from_uk_time(text: str) -> str:
    """A datetime-local field (UK local time, no zone) as RFC 3339 UTC; raises ValueError when it is not a time."""
    return datetime.fromisoformat(text).replace(tzinfo=UK).astimezone(UTC).isoformat()


def settings_of(request: Request) -> ConsoleSettings:
    settings: ConsoleSettings = request.app.state.settings
    return settings


def token_of(request: Request) -> str | None:
    """The person's bearer token: the sign-in cookie (development) or the Authorization header (bearer)."""
    if settings_of(request).auth == "bearer":
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return token if scheme.lower() == "bearer" and token else None
    return request.cookies.get(COOKIE)


def signed_in(request: Request) -> tuple[Principal, Backend] | None:
    token = token_of(request)
    if token is None:
        return None
    try:
        principal = decode_token(settings_of(request).jwt_secret.get_secret_value(), token)
    except Unauthorized:
        return None
    return principal, Backend(settings_of(request), request.app.state.http, token)


def page(request: Request, name: str, principal: Principal | None, status_code: int = 200, **context: Any) -> Response:
    return templates.TemplateResponse(
        request, name, {"me": principal, "roles": Role, **context}, status_code=status_code
    )


def to_sign_in() -> Response:
    return RedirectResponse("/sign-in", status_code=303)


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    """Each role starts at its own work: operators at their requests, coordinators at their queue."""
    me = signed_in(request)
    if me is None:
        return to_sign_in()
    return RedirectResponse("/proposals" if me[0].role in COORDINATORS else "/requests", status_code=303)


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_form(request: Request) -> Response:
    if settings_of(request).auth != "development":
        return page(request, "message.html", None, 401, message="Sign in through your force's identity provider.")
    return page(request, "sign_in.html", None, forces=_forces_by_name(), regions=regions())


def _forces_by_name() -> list[Any]:
    return sorted(forces().values(), key=lambda force: force.name)


@router.post("/sign-in")
async def sign_in(
    request: Request,
    name: Annotated[str, Form(min_length=1, max_length=100)],
    role: Annotated[Role, Form()],
    force: Annotated[str, Form()] = "",
    region: Annotated[str, Form()] = "",
) -> Response:
    """Development sign-in: a token with the claims `mutualaid token` would give (12 hours)."""
    if settings_of(request).auth != "development":
        return to_sign_in()
    needs_force = role in (Role.OPERATOR, Role.RESOURCE_MANAGER)
    if (needs_force and force not in forces()) or (role == Role.COORDINATOR and region not in regions()):
        problem = "Choose your force." if needs_force else "Choose your region."
        context = {"forces": _forces_by_name(), "regions": regions(), "error": problem}
        return page(request, "sign_in.html", None, 422, **context)
    token = issue_token(
        settings_of(request).jwt_secret.get_secret_value(),
        sub=name,
        role=role,
        force=force if needs_force else None,
        region=region if role == Role.COORDINATOR else None,
    )
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", max_age=12 * 3600)
    return response


@router.post("/sign-out")
async def sign_out() -> Response:
    response = to_sign_in()
    response.delete_cookie(COOKIE)
    return response


@router.get("/requests", response_class=HTMLResponse)
async def request_list(request: Request) -> Response:
    """Operators: raise a request, and the force's requests with their live status. Others: every request."""
    me = signed_in(request)
    if me is None:
        return to_sign_in()
    principal, backend = me
    return await _request_page(request, principal, backend)


async def _request_page(
    request: Request, principal: Principal, backend: Backend, status_code: int = 200, **context: Any
) -> Response:
    force = principal.force if principal.role == Role.OPERATOR else None
    listed = await backend.get("requests", "/v1/requests", force=force, limit=50)
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
    me = signed_in(request)
    if me is None:
        return to_sign_in()
    principal, backend = me
    form = dict(await request.form())
    try:
        body = {
            "requesting_force": principal.force or "",
            "operation": operation,
            "priority": priority,
            "location": {"lat": float(lat), "lon": float(lon), **({"description": place} if place else {})},
            "required_by": from_uk_time(required_by),
            "end": from_uk_time(end),
            "needs": [{"capability": capability, "quantity": int(quantity)}],
            "notes": notes,
        }
        created = await backend.post("requests", "/v1/requests", body, **{"Idempotency-Key": idempotency_key})
    except ValueError:
        problem = "Enter the times as dates and times, the quantity as a whole number and the place as coordinates."
        return await _request_page(request, principal, backend, 422, error=problem, form=form)
    except Refused as refused:
        problem = refused.in_plain_words()
        return await _request_page(request, principal, backend, refused.status, error=problem, form=form)
    return RedirectResponse(f"/requests/{created['id']}", status_code=303)


@router.get("/requests/{request_id}", response_class=HTMLResponse)
async def request_detail(request: Request, request_id: str) -> Response:
    """A request, its timeline and its proposals."""
    me = signed_in(request)
    if me is None:
        return to_sign_in()
    principal, backend = me
    try:
        detail, listed = await asyncio.gather(
            backend.get("requests", f"/v1/requests/{request_id}"),
            backend.get("tasking", "/v1/proposals", request_id=request_id),
        )
    except Refused as refused:
        return page(request, "message.html", principal, refused.status, message=refused.in_plain_words())
    return page(request, "request.html", principal, detail=detail, proposals=listed["items"])


@router.get("/proposals", response_class=HTMLResponse)
async def queue(request: Request) -> Response:
    """Coordinators: the pending proposals in their scope (a regional coordinator's own region; national: all)."""
    me = signed_in(request)
    if me is None:
        return to_sign_in()
    principal, backend = me
    pending = (await backend.get("tasking", "/v1/proposals", status="PENDING"))["items"]
    asked = await asyncio.gather(*(backend.get("requests", f"/v1/requests/{p['request_id']}") for p in pending))
    rows = [
        {"proposal": proposal, "request": req}
        for proposal, req in zip(pending, asked, strict=True)
        if principal.role != Role.COORDINATOR or req["requesting_region"] == principal.region
    ]
    return page(request, "queue.html", principal, rows=rows)


@router.get("/proposals/{proposal_id}", response_class=HTMLResponse)
async def proposal_detail(request: Request, proposal_id: str, error: str = "", status_code: int = 200) -> Response:
    """A proposal: its units, arrival times, lateness, what is unfilled, the planner's explanation, and the
    decision form (or, when the coordinator may not decide it, why)."""
    me = signed_in(request)
    if me is None:
        return to_sign_in()
    principal, backend = me
    try:
        proposal = await backend.get("tasking", f"/v1/proposals/{proposal_id}")
        detail, explanation = await asyncio.gather(
            backend.get("requests", f"/v1/requests/{proposal['request_id']}"),
            backend.get("tasking", f"/v1/proposals/{proposal_id}/explanation"),
        )
    except Refused as refused:
        return page(request, "message.html", principal, refused.status, message=refused.in_plain_words())
    return page(
        request,
        "proposal.html",
        principal,
        status_code,
        proposal=proposal,
        detail=detail,
        explanation=explanation,
        why_not=why_not_decide(principal, proposal, detail),
        error=error,
    )


def why_not_decide(principal: Principal, proposal: dict[str, Any], detail: dict[str, Any]) -> str:
    """Why this person may not decide the proposal, in words; empty when they may (tasking still decides)."""
    if principal.role not in COORDINATORS:
        return "Only regional and national coordinators decide proposals."
    if proposal["status"] != "PENDING":
        return f"This proposal is {proposal['status']}: only a pending proposal can be decided."
    if principal.role == Role.COORDINATOR and proposal["tier"] == "NATIONAL":
        return (
            "This is a NATIONAL proposal: it draws on units from every region, so only a national coordinator"
            " (NPoCC) can approve or reject it."
        )
    if principal.role == Role.COORDINATOR and detail["requesting_region"] != principal.region:
        return f"This request is from the {detail['requesting_region']} region, not yours."
    return ""


@router.post("/proposals/{proposal_id}/decide")
async def decide(
    request: Request,
    proposal_id: str,
    verb: Annotated[str, Form(pattern="^(approve|reject)$")],
    reason: Annotated[str, Form()] = "",
    unit_ids: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Approve (all, or the ticked units) or reject (the ticked units, or all) with a reason."""
    me = signed_in(request)
    if me is None:
        return to_sign_in()
    _, backend = me
    proposal = await backend.get("tasking", f"/v1/proposals/{proposal_id}")
    every = [a["unit_id"] for a in proposal["allocations"] if a["unit_id"] not in proposal["passed_over"]]
    body: dict[str, Any] = {"reason": reason.strip() or f"{verb}d in the console"}
    if unit_ids is not None and sorted(unit_ids) != sorted(every):
        body["unit_ids"] = unit_ids
    try:
        await backend.post("tasking", f"/v1/proposals/{proposal_id}/{verb}", body)
    except Refused as refused:
        return await proposal_detail(request, proposal_id, refused.in_plain_words(), refused.status)
    return RedirectResponse(f"/requests/{proposal['request_id']}", status_code=303)


@router.get("/live")
async def live(request: Request) -> Response:
    """Server-sent events: one `data:` line per event on the three topics (its type and subject)."""
    hub: Hub = request.app.state.hub

    async def stream() -> Any:
        async with hub.subscribe() as queue:
            yield ": connected\n\n"
            while not await request.is_disconnected():
                try:
                    notice = await asyncio.wait_for(queue.get(), timeout=15)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                yield f"data: {notice}\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})
