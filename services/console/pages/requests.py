"""Requests: operators raise them and follow their force's; everyone can read a request and its timeline."""

import asyncio
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.console import composition
from services.console.backend import Refused, path
from services.console.geo import UK, outline_paths
from services.console.uk_clock import NotAUkTime, to_utc
from services.console.web import Me, Person, forces_by_name, page
from shared.forces import forces
from shared.vocabulary import Capability, Priority, Role

router = APIRouter()


@router.get("/requests", response_class=HTMLResponse)
async def request_list(request: Request, me: Me) -> Response:
    """Operators: raise a request, and the force's requests with their live status. Others: every request."""
    return await _request_page(request, me)


async def _request_page(request: Request, me: Person, status_code: int = 200, **context: Any) -> Response:
    principal = me.principal
    operator = principal.role == Role.OPERATOR
    listed, defaults = await asyncio.gather(
        me.backend.get("requests", "/v1/requests", force=principal.force if operator else None, limit=50),
        default_compositions(me) if operator else asyncio.sleep(0, {}),
    )
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
        defaults={code: composition.as_text(lines) for code, lines in defaults.items()},
        forces=forces_by_name(),
        projection=UK,
        outline=outline_paths(),
        **context,
    )


async def default_compositions(me: Person) -> dict[str, list[dict[str, Any]]]:
    """Each capability's default composition, from the availability service's catalogue."""
    listed = await me.backend.get("availability", "/v1/capabilities")
    return {entry["code"]: entry["composition"] for entry in listed["items"]}


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
    idempotency_key: Annotated[str, Form()],
    lat: Annotated[str, Form()] = "",
    lon: Annotated[str, Form()] = "",
    place: Annotated[str, Form()] = "",
    hq: Annotated[str, Form()] = "",
    composition_typed: Annotated[str, Form(alias="composition")] = "",
    composition_of: Annotated[str, Form()] = "",
    notes: Annotated[str, Form()] = "",
) -> Response:
    """Raise a request for the operator's force; the form's Idempotency-Key makes a double click harmless.
    The place is the force headquarters picked, else the coordinates typed (or clicked on the map); the
    composition is sent as an override only when it differs from the catalogue's default it was filled with."""
    form = dict(await request.form())
    try:
        defaults = await default_compositions(me)
        typed = composition.override(composition_typed, defaults.get(composition_of or capability, []))
        need: dict[str, Any] = {"capability": capability, "quantity": int(quantity)}
        body = {
            "requesting_force": me.principal.force or "",
            "operation": operation,
            "priority": priority,
            "location": location(lat, lon, place, hq),
            "required_by": to_utc(required_by),
            "end": to_utc(end),
            "needs": [need | ({"composition": typed} if typed is not None else {}), *also_needed(form)],
            "notes": notes,
        }
        created = await me.backend.post("requests", "/v1/requests", body, **{"Idempotency-Key": idempotency_key})
    except composition.UnreadableComposition as unreadable:
        return await _request_page(request, me, 422, error=f"Check {unreadable}.", form=form)
    except NotAUkTime as unclear:
        return await _request_page(request, me, 422, error=str(unclear), form=form)
    except ValueError:
        problem = "Enter the times as dates and times, the quantity as a whole number and the place as coordinates."
        return await _request_page(request, me, 422, error=problem, form=form)
    except Refused as refused:
        return await _request_page(request, me, refused.status, error=refused.in_plain_words(), form=form)
    return RedirectResponse(f"/requests/{created['id']}", status_code=303)


def also_needed(form: dict[str, Any]) -> list[dict[str, Any]]:
    """The further needs of the form's "Also needed" rows that name a capability (ValueError for a quantity
    that is not a whole number); the service judges the rest."""
    rows = [(form.get(f"also_capability_{i}", ""), form.get(f"also_quantity_{i}", "") or "1") for i in (1, 2)]
    return [{"capability": capability, "quantity": int(quantity)} for capability, quantity in rows if capability]


def location(lat: str, lon: str, place: str, hq: str) -> dict[str, Any]:
    """The force headquarters picked, else the coordinates typed or clicked (ValueError when they are not numbers).
    On the page, clicking the map or typing coordinates unpicks the headquarters."""
    if hq in forces():
        lat, lon, place = str(forces()[hq].hq_lat), str(forces()[hq].hq_lon), place or forces()[hq].hq_town
    return {"lat": float(lat), "lon": float(lon), **({"description": place} if place else {})}


@router.get("/requests/{request_id}", response_class=HTMLResponse)
async def request_detail(request: Request, request_id: str, me: Me) -> Response:
    """A request, its timeline and its proposals."""
    detail, listed = await asyncio.gather(
        me.backend.get("requests", path("/v1/requests", request_id)),
        me.backend.get("tasking", "/v1/proposals", request_id=request_id),
    )
    return page(request, "request.html", me.principal, detail=detail, proposals=listed["items"])
