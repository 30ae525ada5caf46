"""The national picture, for coordinators and auditors: what each force can lend, on a map and in a table,
and the open and unfilled demand of each region; live, as every page is."""

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from services.console.geo import UK, outline_paths
from services.console.picture import BANDS, OPEN, demand_by_region, force_points, region_areas
from services.console.web import COORDINATORS, Person, page, role_in
from shared.forces import forces, regions
from shared.vocabulary import Capability, Role

router = APIRouter()

Overseer = Annotated[
    Person,
    Depends(role_in(*COORDINATORS, Role.AUDITOR, work="the national picture is for coordinators and auditors")),
]


@router.get("/national", response_class=HTMLResponse)
async def national_picture(
    request: Request, me: Overseer, capability: Annotated[Capability | None, Query()] = None
) -> Response:
    """Every force's lendable, committed and reserve units (of one capability, or all), and each region's demand."""
    capacity, requests = await asyncio.gather(me.backend.get("availability", "/v1/capacity"), open_requests(me))
    points = force_points(capacity, forces().values(), capability.value if capability else None)
    context: dict[str, Any] = {
        "capability": capability,
        "capabilities": list(Capability),
        "points": points,
        "areas": region_areas(points),
        "demand": demand_by_region(requests, regions()),
        "bands": BANDS,
        "projection": UK,
        "outline": outline_paths(),
    }
    return page(request, "national.html", me.principal, **context)


async def open_requests(me: Person) -> list[dict[str, Any]]:
    """Every open request, asked status by status (the list is newest first and capped, and most requests are over)."""
    lists = await asyncio.gather(
        *(me.backend.get("requests", "/v1/requests", status=status, limit=1000) for status in OPEN)
    )
    return [item for listed in lists for item in listed["items"]]
