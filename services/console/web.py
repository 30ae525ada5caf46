"""What every page of the console shares: templates, UK time, who is signed in, and the live stream.

Times are shown and entered in UK local time (Europe/London, with the zone shown) and sent as UTC.
Every page holds regions marked data-live that static/live.js fetches again when an event arrives.
A route says who may open it by its parameters: `Me` (anyone signed in) or `Role_in(...)`; a visitor
who is not signed in is sent to the sign-in page, one of another role is told so in words.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates

from services.console.backend import Backend, Refused
from services.console.config import ConsoleSettings
from services.console.live import Hub
from services.console.uk_clock import UK
from shared.auth import Principal, TokenVerifier, development_token
from shared.errors import Unauthorized, Unavailable
from shared.forces import forces, regions
from shared.vocabulary import Role

COOKIE = "mutualaid_console"
COORDINATORS = (Role.COORDINATOR, Role.NATIONAL_COORDINATOR)
HOME = {
    Role.COORDINATOR: "/proposals",
    Role.NATIONAL_COORDINATOR: "/proposals",
    Role.RESOURCE_MANAGER: "/units",
    Role.AUDITOR: "/audit",
}

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


def settings_of(request: Request) -> ConsoleSettings:
    settings: ConsoleSettings = request.app.state.settings
    return settings


def token_of(request: Request) -> str | None:
    """The person's bearer token: the sign-in cookie (development) or the Authorization header (bearer)."""
    if settings_of(request).auth == "bearer":
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return token if scheme.lower() == "bearer" and token else None
    return request.cookies.get(COOKIE)


@dataclass(frozen=True)
class Person:
    """Who is signed in (the claims of their token), and the services as they may use them."""

    principal: Principal
    backend: Backend


class SignInNeeded(Exception):
    """Nobody (or nobody with a valid token) is signed in: the app sends the visitor to the sign-in page."""


async def signed_in(request: Request) -> Person | None:
    """The signed-in person, or None: no token, one the services would refuse, or none that can be checked now
    (the identity provider's keys cannot be fetched)."""
    token = token_of(request)
    if token is None:
        return None
    verifier: TokenVerifier = request.app.state.tokens
    try:
        principal = await verifier.principal(token)
    except (Unauthorized, Unavailable):
        return None
    return Person(principal, Backend(settings_of(request), request.app.state.http, token))


async def person(request: Request) -> Person:
    """FastAPI dependency: the signed-in person; raises SignInNeeded when there is none."""
    found = await signed_in(request)
    if found is None:
        raise SignInNeeded
    return found


Me = Annotated[Person, Depends(person)]


def role_in(*roles: Role, work: str) -> Callable[[Person], Person]:
    """FastAPI dependency: the signed-in person if their role is one of `roles` (their work: `work`);
    Refused (403) in words otherwise. The services check again: this only keeps each role to its own pages."""

    def check(me: Me) -> Person:
        if me.principal.role not in roles:
            raise Refused(403, f"{work}, and you are signed in as {me.principal.role.value.replace('_', ' ')}")
        return me

    return check


ResourceManager = Annotated[
    Person, Depends(role_in(Role.RESOURCE_MANAGER, work="these pages are for a force's resource manager"))
]
Coordinator = Annotated[
    Person, Depends(role_in(*COORDINATORS, work="the proposals to decide are for regional and national coordinators"))
]
Auditor = Annotated[
    Person,
    Depends(role_in(Role.AUDITOR, *COORDINATORS, work="the audit trail is for auditors and coordinators")),
]


def page(request: Request, name: str, principal: Principal | None, status_code: int = 200, **context: Any) -> Response:
    return templates.TemplateResponse(
        request, name, {"me": principal, "roles": Role, **context}, status_code=status_code
    )


def to_sign_in() -> Response:
    return RedirectResponse("/sign-in", status_code=303)


@router.get("/", response_class=HTMLResponse)
async def home(me: Me) -> Response:
    """Each role starts at its own work: coordinators at their queue, resource managers at their force's
    units, auditors at the audit trail, operators at their requests."""
    return RedirectResponse(HOME.get(me.principal.role, "/requests"), status_code=303)


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_form(request: Request) -> Response:
    if settings_of(request).auth != "development":
        return page(request, "message.html", None, 401, message="Sign in through your force's identity provider.")
    return page(request, "sign_in.html", None, forces=forces_by_name(), regions=regions())


def forces_by_name() -> list[Any]:
    return sorted(forces().values(), key=lambda force: force.name)


@router.post("/sign-in")
async def sign_in(
    request: Request,
    name: Annotated[str, Form(max_length=100)] = "",
    chosen: Annotated[str, Form(alias="role")] = "",
    force: Annotated[str, Form()] = "",
    region: Annotated[str, Form()] = "",
) -> Response:
    """Development sign-in: a token with the claims `mutualaid token` would give (12 hours)."""
    if settings_of(request).auth != "development":
        return to_sign_in()
    role = Role(chosen) if chosen in set(Role) else None
    problem = sign_in_problem(name, role, force, region) if role else "Choose your role."
    if problem or role is None:
        context = {"forces": forces_by_name(), "regions": regions(), "error": problem}
        return page(request, "sign_in.html", None, 422, **context)
    needs_force = role in (Role.OPERATOR, Role.RESOURCE_MANAGER)
    token = development_token(
        settings_of(request),
        sub=name.strip(),
        role=role,
        force=force if needs_force else None,
        region=region if role == Role.COORDINATOR else None,
    )
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", max_age=12 * 3600)
    return response


def sign_in_problem(name: str, role: Role, force: str, region: str) -> str:
    """What is wrong with a development sign-in, in words; empty when nothing is."""
    if not name.strip() or not name.isprintable():
        return "Enter your name: letters, digits and spaces, not blank."
    if role == Role.INTEGRATION:
        return "The integration role is for other systems, not for people: choose the role you work in."
    if role in (Role.OPERATOR, Role.RESOURCE_MANAGER) and force not in forces():
        return "Choose your force."
    if role == Role.COORDINATOR and region not in regions():
        return "Choose your region."
    return ""


@router.post("/sign-out")
async def sign_out() -> Response:
    response = to_sign_in()
    response.delete_cookie(COOKIE)
    return response


@router.get("/live")
async def live(request: Request, me: Me) -> Response:
    """Server-sent events for a signed-in person: one `data:` line per event on the three topics (its type and
    subject). Each process serves at most CONSOLE_LIVE_LIMIT pages at once; one more is refused (503)."""
    hub: Hub = request.app.state.hub
    if hub.crowded:
        raise Refused(503, "too many pages follow live updates now: this page works, reload it to see changes")

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
