"""Who may do what: every /v1 route of the OpenAPI documents x every role x a resource in the caller's scope
and one outside it, with the expected answer of each cell in one table (README, Roles and what each may read
and write).

The callers: an operator of west-midlands, a resource manager of staffordshire, a coordinator of West
Midlands, and a national coordinator, an auditor and an integration with no force or region. Two worlds:
OURS, where west-midlands asks for a PSU and staffordshire lends one (a REGIONAL proposal), and THEIRS,
where avon-and-somerset asks and devon-and-cornwall lends. A route's {request_id}, {proposal_id},
{unit_id} and {code} name the world's request, its proposal, the lent unit and the lending force; a
list is asked for everything and the cell says whether the world's item is in it.

Answers: 200 (read), 403 (refused), ok (a write gets past authorisation: 2xx, 404, 409 or 422 are all
fine), + / - (a list answers 200 with / without the world's item).
"""

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.auth import Role
from tests.support.builders import SOON, bearer
from tests.support.harness import Harness
from tests.support.steps import declare, pending, submit

OPENAPI = Path(__file__).parents[2] / "contracts" / "openapi"
ROLES = (
    Role.OPERATOR,
    Role.RESOURCE_MANAGER,
    Role.COORDINATOR,
    Role.NATIONAL_COORDINATOR,
    Role.AUDITOR,
    Role.INTEGRATION,
)

# Each cell: <answer in OURS>/<answer in THEIRS>. Routes without their /v1 prefix.
# fmt: off
MATRIX: dict[str, str] = {
    # route                                                          operator manager coord.  nation. auditor integr.
    "requests GET /requests":                                        "+/-     -/-     +/-     +/+     +/+     +/+",
    "requests POST /requests":                                       "ok/403  403/403 403/403 403/403 403/403 ok/ok",
    "requests GET /requests/{request_id}":                           "200/403 403/403 200/403 200/200 200/200 200/200",
    "requests POST /requests/{request_id}/cancel":                   "ok/403  403/403 403/403 403/403 403/403 ok/ok",
    "requests POST /requests/{request_id}/extend":                   "ok/403  403/403 403/403 403/403 403/403 ok/ok",
    "availability GET /forces":                                      "200/200 200/200 200/200 200/200 200/200 200/200",
    "availability GET /capabilities":                                "200/200 200/200 200/200 200/200 200/200 200/200",
    "availability GET /capacity":                                    "403/403 403/403 200/200 200/200 200/200 200/200",
    "availability GET /forces/{code}/capacity":                      "403/403 200/403 200/200 200/200 200/200 200/200",
    "availability GET /forces/{code}/policy":                        "403/403 200/403 200/200 200/200 200/200 200/200",
    "availability PUT /forces/{code}/policy":                        "403/403 ok/403  403/403 403/403 403/403 ok/ok",
    "availability PUT /forces/{code}/units":                         "403/403 ok/403  403/403 403/403 403/403 ok/ok",
    "availability GET /units":                                       "-/-     +/-     +/-     +/+     +/+     +/+",
    "availability GET /units/{unit_id}":                             "403/403 200/403 200/403 200/200 200/200 200/200",
    "availability PUT /units/{unit_id}":                             "403/403 ok/403  403/403 403/403 403/403 ok/ok",
    "availability POST /units/{unit_id}/recall":                     "403/403 ok/403  403/403 403/403 403/403 ok/ok",
    "tasking GET /proposals":                                        "+/-     +/-     +/-     +/+     +/+     +/+",
    "tasking GET /proposals/{proposal_id}":                          "200/403 200/403 200/403 200/200 200/200 200/200",
    "tasking GET /proposals/{proposal_id}/explanation":              "200/403 200/403 200/403 200/200 200/200 200/200",
    "tasking POST /proposals/{proposal_id}/approve":                 "403/403 403/403 ok/403  ok/ok   403/403 403/403",
    "tasking POST /proposals/{proposal_id}/reject":                  "403/403 403/403 ok/403  ok/ok   403/403 403/403",
    "tasking POST /proposals/{proposal_id}/replan":                  "403/403 403/403 ok/403  ok/ok   403/403 403/403",
    "tasking POST /proposals/{proposal_id}/units/{unit_id}/accept":  "403/403 ok/403  403/403 403/403 403/403 ok/ok",
    "tasking POST /proposals/{proposal_id}/units/{unit_id}/decline": "403/403 ok/403  403/403 403/403 403/403 ok/ok",
    "tasking POST /requests/{request_id}/stand-down":                "ok/403  403/403 403/403 403/403 403/403 ok/ok",
    "tasking GET /units":                                            "-/-     +/-     +/-     +/+     +/+     +/+",
    "tasking GET /audit":                                            "403/403 403/403 200/403 200/200 200/200 200/200",
    "tasking GET /audit/verify":                                     "403/403 403/403 200/200 200/200 200/200 200/200",
}
# fmt: on


LISTS = {route for route, row in MATRIX.items() if "+" in row or "-" in row}


def documented_routes() -> set[str]:
    """Every /v1 route of the three services' OpenAPI documents (contracts/openapi), as '<service> <METHOD> <path>'."""
    routes = set()
    for document in OPENAPI.glob("*.json"):
        for path, operations in json.loads(document.read_text())["paths"].items():
            if path.startswith("/v1/"):
                routes |= {f"{document.stem} {method.upper()} {path.removeprefix('/v1')}" for method in operations}
    return routes


def test_the_matrix_has_a_row_for_every_documented_route() -> None:
    assert set(MATRIX) == documented_routes()


@dataclass(frozen=True)
class World:
    """One side of the matrix: a request of `host`, the proposal lending it `unit` of `lender`."""

    host: str
    lender: str
    region: str
    request_id: str
    proposal_id: str
    unit_id: str


CALLERS = {
    Role.OPERATOR: {"force": "west-midlands"},
    Role.RESOURCE_MANAGER: {"force": "staffordshire"},
    Role.COORDINATOR: {"region": "West Midlands"},
}


async def world(system: Harness, host: str, lender: str, region: str) -> World:
    unit_id = await declare(system, lender, "PSU")
    request_id = await submit(system, host, "PSU")
    await system.plan()
    await system.deliver()
    proposal = await pending(system, request_id)
    assert [a["unit_id"] for a in proposal["allocations"]] == [unit_id]
    return World(host, lender, region, request_id, proposal["id"], unit_id)


def body_for(route: str, w: World) -> dict[str, Any] | None:
    """A body that would pass validation, so that only authorisation can refuse the call."""
    unit = {
        "force": w.lender,
        "capability": "PSU",
        "base": {"lat": 52.5, "lon": -2.0},
        "readiness_minutes": 30,
        "available_from": (SOON - timedelta(days=3)).isoformat(),
        "available_until": (SOON + timedelta(days=60)).isoformat(),
    }
    bodies: dict[str, dict[str, Any]] = {
        "requests POST /requests": {
            "requesting_force": w.host,
            "operation": "Op matrix",
            "priority": "P2",
            "location": {"lat": 52.5, "lon": -2.0},
            "required_by": SOON.isoformat(),
            "end": (SOON + timedelta(days=3)).isoformat(),
            "needs": [{"capability": "PSU", "quantity": 1}],
        },
        "requests POST /requests/{request_id}/extend": {
            "end": (SOON + timedelta(days=4)).isoformat(),
            "reason": "the matrix",
        },
        "availability PUT /forces/{code}/policy": {"reserve": {"PSU": 0}},
        "availability PUT /forces/{code}/units": {"items": [unit | {"unit_id": w.unit_id}]},
        "availability PUT /units/{unit_id}": unit,
        "tasking POST /proposals/{proposal_id}/approve": {"reason": "the matrix"},
    }
    if route in bodies:
        return bodies[route]
    return {"reason": "the matrix"} if route.split()[1] in ("POST", "PUT") else None


async def answer(system: Harness, route: str, role: Role, w: World) -> str:
    """What the service answered the caller of the role, in the table's words."""
    service, method, template = route.split()
    template = f"/v1{template}"
    url = template.format(request_id=w.request_id, proposal_id=w.proposal_id, unit_id=w.unit_id, code=w.lender)
    params = {"request_id": w.request_id} if template == "/v1/audit" else {}
    if template == "/v1/capacity":
        params = {"region": w.region}
    headers = bearer(role, **CALLERS.get(role, {})) | {"Idempotency-Key": str(uuid.uuid4())}
    response = await system.client(service).request(
        method, url, params=params, json=body_for(route, w), headers=headers
    )
    return in_words(response, route, w)


def in_words(response: httpx.Response, route: str, w: World) -> str:
    status = response.status_code
    if status in (401, 403) or status >= 500:
        return str(status)
    if route.split()[1] != "GET":
        return "ok"
    if route in LISTS and status == 200:
        ids = {item.get("id") or item.get("unit_id") for item in response.json()["items"]}
        return "+" if ids & {w.request_id, w.proposal_id, w.unit_id} else "-"
    return str(status)


@pytest.mark.parametrize("route", sorted(MATRIX))
async def test_each_role_gets_the_answer_of_the_matrix(system: Harness, route: str) -> None:
    ours = await world(system, "west-midlands", "staffordshire", "West Midlands")
    theirs = await world(system, "avon-and-somerset", "devon-and-cornwall", "South West")
    expected = {
        (role, side): cell.split("/")[index]
        for role, cell in zip(ROLES, MATRIX[route].split(), strict=True)
        for index, side in enumerate(("ours", "theirs"))
    }
    # refusals first: an allowed write may change what a later call finds (then 409 or 404, still "ok")
    order = sorted(expected, key=lambda cell: expected[cell] != "403")
    got = {(role, side): await answer(system, route, role, ours if side == "ours" else theirs) for role, side in order}
    wrong = {
        f"{role.value} {side}": f"{got[role, side]} (expected {want})"
        for (role, side), want in expected.items()
        if got[role, side] != want
    }
    assert not wrong, wrong


async def test_a_host_force_reads_the_units_lent_to_it_once_they_are_booked(system: Harness) -> None:
    ours = await world(system, "west-midlands", "staffordshire", "West Midlands")
    operator = bearer(Role.OPERATOR, force="west-midlands")
    assert await answer(system, "availability GET /units/{unit_id}", Role.OPERATOR, ours) == "403"  # only proposed
    national = bearer(Role.NATIONAL_COORDINATOR)
    approve = f"/v1/proposals/{ours.proposal_id}/approve"
    assert (await system.client("tasking").post(approve, json={"reason": "go"}, headers=national)).status_code == 200
    await system.deliver()
    unit = await system.client("availability").get(f"/v1/units/{ours.unit_id}", headers=operator)
    assert unit.status_code == 200
    listed = await system.client("availability").get("/v1/units?status=COMMITTED", headers=operator)
    assert [item["unit_id"] for item in listed.json()["items"]] == [ours.unit_id]
