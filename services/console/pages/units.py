"""A force's units: the resource manager sees them with their status and bookings, declares and edits them."""

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.console.backend import Refused, path
from services.console.uk_clock import NotAUkTime, field_value, shown_with_offset, to_utc
from services.console.web import Person, ResourceManager, page
from shared.events import UnitStatus
from shared.forces import forces
from shared.vocabulary import Capability, LendingScope

router = APIRouter()
DECLARABLE = [UnitStatus.AVAILABLE, UnitStatus.UNAVAILABLE, UnitStatus.WITHDRAWN]
NOT_A_DECLARATION = "Enter the base as coordinates, the readiness in whole minutes and the window as dates and times."


@router.get("/units", response_class=HTMLResponse)
async def unit_list(request: Request, me: ResourceManager) -> Response:
    """The force's units with their status and bookings, and a form to declare one."""
    return await _units_page(request, me)


async def _units_page(request: Request, me: Person, status_code: int = 200, **context: Any) -> Response:
    listed = await me.backend.get("availability", "/v1/units", force=me.principal.force)
    hq = forces()[me.principal.force or ""]
    blank = {"base_description": hq.hq_town[:200], "base_lat": hq.hq_lat, "base_lon": hq.hq_lon}
    context.setdefault("form", blank)
    return page(request, "units.html", me.principal, status_code, units=listed["items"], **choices(), **context)


def choices() -> dict[str, Any]:
    return {"capabilities": list(Capability), "scopes": list(LendingScope), "statuses": DECLARABLE}


@router.post("/units")
async def declare_unit(request: Request, me: ResourceManager) -> Response:
    """Declare a new unit of the force (never overwrites one already declared: If-None-Match: *)."""
    form = dict(await request.form())
    unit_id = str(form.get("unit_id", "")).strip()
    if not unit_id:
        return await _units_page(request, me, 422, error="Enter the unit's id (its call sign).", form=form)
    try:
        body = declaration(form, me.principal.force or "", windows=None)
        await me.backend.put("availability", unit_path(unit_id), body, **{"If-None-Match": "*"})
    except ValueError as unreadable:
        return await _units_page(request, me, 422, error=in_words(unreadable), form=form)
    except Refused as refused:
        taken = f"A unit {unit_id} is already declared: open it from the list below to edit it."
        problem = taken if refused.status == 412 else refused.in_plain_words()
        return await _units_page(request, me, refused.status, error=problem, form=form)
    return RedirectResponse(f"/units/{quote(unit_id, safe='')}", status_code=303)


def in_words(unreadable: ValueError) -> str:
    return str(unreadable) if isinstance(unreadable, NotAUkTime) else NOT_A_DECLARATION


def unit_path(unit_id: str) -> str:
    return path("/v1/units", unit_id)


def declaration(form: dict[str, Any], force: str, *, windows: list[dict[str, str]] | None) -> dict[str, Any]:
    """The PUT /v1/units body a unit form stands for: the form's one window, or `windows` when it has none.

    Raises ValueError when a number or a time is not one."""
    if form.get("available_from") or windows is None:
        windows = [
            {
                "start": to_utc(form.get("available_from", ""), shown=form.get("available_from_shown", "")),
                "end": to_utc(form.get("available_until", ""), shown=form.get("available_until_shown", "")),
            }
        ]
    return {
        "force": force,
        "capability": form.get("capability"),
        "base": {
            "lat": float(form.get("base_lat", "")),
            "lon": float(form.get("base_lon", "")),
            "description": str(form.get("base_description", "")).strip(),
        },
        "readiness_minutes": int(form.get("readiness_minutes", "")),
        "scope": form.get("scope"),
        "status": form.get("status"),
        "windows": windows,
    }


@router.get("/units/{unit_id}", response_class=HTMLResponse)
async def unit_detail(request: Request, unit_id: str, me: ResourceManager) -> Response:
    """One unit of the force: its status, bookings and windows, and a form to edit its declaration."""
    unit = await _own_unit(me, unit_id)
    return _unit_page(request, me, unit, form_of(unit))


def _unit_page(
    request: Request, me: Person, unit: dict[str, Any], form: dict[str, Any], status_code: int = 200, error: str = ""
) -> Response:
    return page(request, "unit.html", me.principal, status_code, unit=unit, form=form, error=error, **choices())


async def _own_unit(me: Person, unit_id: str) -> dict[str, Any]:
    unit: dict[str, Any] = await me.backend.get("availability", unit_path(unit_id))
    if unit["force"] != me.principal.force:
        raise Refused(403, f"unit {unit_id} belongs to {unit['force']}, not to your force")
    return unit


def form_of(unit: dict[str, Any]) -> dict[str, Any]:
    """The edit form's fields for a unit as the service has it (its one window, in UK time)."""
    one = len(unit["windows"]) == 1
    return {
        "capability": unit["capability"],
        "base_description": unit["base"]["description"],
        "base_lat": unit["base"]["lat"],
        "base_lon": unit["base"]["lon"],
        "readiness_minutes": unit["readiness_minutes"],
        "scope": unit["scope"],
        "status": UnitStatus.AVAILABLE if unit["status"] == UnitStatus.COMMITTED else unit["status"],
        "available_from": field_value(unit["available_from"]) if one else "",
        "available_until": field_value(unit["available_until"]) if one else "",
        "available_from_shown": shown_with_offset(unit["available_from"]) if one else "",
        "available_until_shown": shown_with_offset(unit["available_until"]) if one else "",
        "version": unit["version"],
    }


@router.post("/units/{unit_id}")
async def edit_unit(request: Request, unit_id: str, me: ResourceManager) -> Response:
    """Save a unit's declaration, if nobody changed it since the form was opened (If-Match: its version)."""
    unit = await _own_unit(me, unit_id)
    form = dict(await request.form())
    try:
        body = declaration(form, unit["force"], windows=unit["windows"])
        await me.backend.put("availability", unit_path(unit_id), body, **{"If-Match": f'"{form.get("version")}"'})
    except ValueError as unreadable:
        return _unit_page(request, me, unit, form, 422, error=in_words(unreadable))
    except Refused as refused:
        return _unit_page(request, me, unit, form, refused.status, error=refused.in_plain_words())
    return RedirectResponse(f"/units/{quote(unit_id, safe='')}", status_code=303)
