"""What people and systems do, as steps on a service-layer Harness: declare, submit, decide, stand down.

Each step goes through the real HTTP routes and then delivers the events it caused, as the broker
would, unless told not to.
"""

import uuid
from datetime import timedelta
from typing import Any

import httpx

from shared.auth import Role
from shared.forces import forces
from tests.support.builders import SOON, bearer
from tests.support.harness import Harness

INTEGRATION = bearer(Role.INTEGRATION)
NATIONAL = bearer(Role.NATIONAL_COORDINATOR)
AUDITOR = bearer(Role.AUDITOR)


def coordinator(region: str) -> dict[str, str]:
    return bearer(Role.COORDINATOR, region=region)


def operator(force: str) -> dict[str, str]:
    return bearer(Role.OPERATOR, force=force)


def headquarters(force: str) -> dict[str, float]:
    hq = forces()[force]
    return {"lat": hq.hq_lat, "lon": hq.hq_lon}


def checked(response: httpx.Response, *expected: int) -> Any:
    assert response.status_code in expected, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json()


async def declare(
    h: Harness, force: str, capability: str = "PSU", *, unit_id: str | None = None, deliver: bool = True, **extra: Any
) -> str:
    """A resource manager declares a unit at the force's headquarters, free from yesterday for 60 days."""
    unit = unit_id or f"{force}-{capability.lower()}-{uuid.uuid4().hex[:6]}"
    body = {
        "force": force,
        "capability": capability,
        "base": headquarters(force),
        "readiness_minutes": 30,
        "available_from": (SOON - timedelta(days=3)).isoformat(),
        "available_until": (SOON + timedelta(days=60)).isoformat(),
        **extra,
    }
    checked(await h.client("availability").put(f"/v1/units/{unit}", json=body, headers=INTEGRATION), 200, 201)
    if deliver:
        await h.deliver()
    return unit


async def submit(
    h: Harness, force: str, capability: str = "PSU", quantity: int = 1, *, priority: str = "P2", deliver: bool = True
) -> str:
    """A control-room operator of the force asks for units at its headquarters, from SOON for 3 days."""
    body = {
        "requesting_force": force,
        "operation": f"Op {uuid.uuid4().hex[:6]}",
        "priority": priority,
        "location": headquarters(force),
        "required_by": SOON.isoformat(),
        "end": (SOON + timedelta(days=3)).isoformat(),
        "needs": [{"capability": capability, "quantity": quantity}],
    }
    headers = operator(force) | {"Idempotency-Key": str(uuid.uuid4())}
    request_id: str = checked(await h.client("requests").post("/v1/requests", json=body, headers=headers), 201)["id"]
    if deliver:
        await h.deliver()
    return request_id


async def proposals(h: Harness, request_id: str, status: str | None = None) -> list[dict[str, Any]]:
    query = f"?request_id={request_id}" + (f"&status={status}" if status else "")
    items: list[dict[str, Any]] = checked(await h.client("tasking").get(f"/v1/proposals{query}", headers=AUDITOR), 200)[
        "items"
    ]
    return items


async def pending(h: Harness, request_id: str) -> dict[str, Any]:
    [proposal] = await proposals(h, request_id, "PENDING")
    return proposal


async def decide(h: Harness, verb: str, proposal_id: str, headers: dict[str, str], **body: Any) -> httpx.Response:
    """approve, reject or replan through the tasking API, with a reason (and what else the body says)."""
    return await h.client("tasking").post(
        f"/v1/proposals/{proposal_id}/{verb}", json={"reason": f"{verb} in a test", **body}, headers=headers
    )


async def stand_down(h: Harness, request_id: str, force: str) -> httpx.Response:
    return await h.client("tasking").post(
        f"/v1/requests/{request_id}/stand-down", json={"reason": "deployment over"}, headers=operator(force)
    )


async def request_status(h: Harness, request_id: str) -> str:
    status: str = checked(await h.client("requests").get(f"/v1/requests/{request_id}", headers=AUDITOR), 200)["status"]
    return status


async def unit(h: Harness, unit_id: str) -> dict[str, Any]:
    body: dict[str, Any] = checked(await h.client("availability").get(f"/v1/units/{unit_id}", headers=AUDITOR), 200)
    return body
