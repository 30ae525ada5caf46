"""The fault suite's load: unit declarations, requests and approvals that keep trying through crashes.

A caller of a service that was just killed sees its connection refused or dropped, or a 5xx while the
service comes back; it tries again (a submission with the same Idempotency-Key, a declaration with
If-None-Match: *), as a real client would, until the service answers.
"""

import asyncio
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from mutualaid.runner import Stack
from shared.auth import Role
from tests.support.builders import SOON, bearer
from tests.support.stacks import NATIONAL, at_hq, proposals, psu_at_hq

INTEGRATION = bearer(Role.INTEGRATION)
DONORS = [
    "staffordshire",
    "warwickshire",
    "west-mercia",
    "merseyside",
    "cheshire",
    "lancashire",
    "cumbria",
    "dyfed-powys",
]
HOSTS = ["west-midlands", "greater-manchester", "west-yorkshire"]
RESERVE = 1  # PSUs each donor keeps at home
SETTLED = {"MOBILISED", "PARTIALLY_FILLED", "UNFILLED"}  # approved and committed, or a shortfall recorded
RETRY_S = 0.2
GIVE_UP_S = 120.0  # a service down longer than this is a failure of the suite, not a fault it injected


class ServiceDown(AssertionError):
    """A service did not answer within GIVE_UP_S."""


@dataclass
class Load:
    """What the load did: requests accepted (201), units declared, approval answers by status, calls retried."""

    accepted: list[str] = field(default_factory=list)
    declared: list[str] = field(default_factory=list)
    approvals: Counter[int] = field(default_factory=Counter)
    retried: int = 0


async def call(load: Load, client: httpx.AsyncClient, method: str, url: str, **options: Any) -> httpx.Response:
    """The first answer below 500, trying again every RETRY_S while the service is down; raises ServiceDown."""
    deadline = asyncio.get_running_loop().time() + GIVE_UP_S
    while True:
        try:
            response = await client.request(method, url, **options)
            if response.status_code < 500:
                return response
        except httpx.TransportError:
            pass
        if asyncio.get_running_loop().time() > deadline:
            raise ServiceDown(f"{method} {url} got no answer below 500 within {GIVE_UP_S}s")
        load.retried += 1
        await asyncio.sleep(RETRY_S)


async def declare_donors(load: Load, client: httpx.AsyncClient, stack: Stack, *, units_per_force: int) -> None:
    """Each donor keeps RESERVE PSUs at home and declares units_per_force PSUs at its headquarters."""
    for force in DONORS:
        url = f"{stack.url('availability')}/v1/forces/{force}/policy"
        answer = await call(load, client, "PUT", url, json={"reserve": {"PSU": RESERVE}}, headers=INTEGRATION)
        assert answer.status_code == 200, answer.text
    await asyncio.gather(*(declare(load, client, stack, force) for force in DONORS for _ in range(units_per_force)))


async def declare(load: Load, client: httpx.AsyncClient, stack: Stack, force: str) -> None:
    """Declare a new PSU of the force; a 412 on a try again means an earlier try created it."""
    unit_id = f"{force}-psu-{uuid.uuid4().hex[:6]}"
    url, headers = f"{stack.url('availability')}/v1/units/{unit_id}", INTEGRATION | {"If-None-Match": "*"}
    answer = await call(load, client, "PUT", url, json=psu_at_hq(force, 30), headers=headers)
    assert answer.status_code in (201, 412), answer.text
    load.declared.append(unit_id)


async def submit_requests(load: Load, client: httpx.AsyncClient, stack: Stack, *, count: int, seconds: float) -> None:
    """Submit `count` requests of one or two PSUs at an even pace over `seconds`, each tried until accepted."""
    rng = random.Random(7)
    submissions = []
    for number in range(count):
        force = rng.choice(HOSTS)
        body = {
            "requesting_force": force,
            "operation": f"Op fault {number}",
            "priority": f"P{rng.choice('123')}",
            "location": at_hq(force),
            "required_by": SOON.isoformat(),
            "end": (SOON + timedelta(days=2)).isoformat(),
            "needs": [{"capability": "PSU", "quantity": rng.choice((1, 1, 2))}],
        }
        submissions.append(asyncio.create_task(submit(load, client, stack, body)))
        await asyncio.sleep(seconds / count)
    await asyncio.gather(*submissions)


async def submit(load: Load, client: httpx.AsyncClient, stack: Stack, body: dict[str, Any]) -> None:
    headers = bearer(Role.OPERATOR, force=body["requesting_force"]) | {"Idempotency-Key": str(uuid.uuid4())}
    answer = await call(load, client, "POST", f"{stack.url('requests')}/v1/requests", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    load.accepted.append(answer.json()["id"])


async def approve_pending(load: Load, client: httpx.AsyncClient, stack: Stack) -> int:
    """Approve every proposal tasking lists as PENDING now (as a national coordinator); returns how many.
    A 409 is a proposal decided or superseded meanwhile."""
    pending = await call_proposals(load, client, stack)
    for proposal in pending:
        url = f"{stack.url('tasking')}/v1/proposals/{proposal['id']}/approve"
        answer = await call(load, client, "POST", url, json={"reason": "fault load"}, headers=NATIONAL)
        assert answer.status_code in (200, 409), answer.text
        load.approvals[answer.status_code] += 1
    return len(pending)


async def call_proposals(load: Load, client: httpx.AsyncClient, stack: Stack) -> list[Any]:
    deadline = asyncio.get_running_loop().time() + GIVE_UP_S
    while True:
        try:
            return await proposals(client, stack, "tasking", "PENDING")
        except (httpx.TransportError, ValueError, KeyError):  # down, or an error body while it comes back
            if asyncio.get_running_loop().time() > deadline:
                raise ServiceDown(f"tasking listed no proposals within {GIVE_UP_S}s") from None
            load.retried += 1
            await asyncio.sleep(RETRY_S)


async def keep_approving(load: Load, client: httpx.AsyncClient, stack: Stack) -> None:
    """Approve what is pending, every half second, until cancelled."""
    while True:
        await approve_pending(load, client, stack)
        await asyncio.sleep(0.5)


async def settled(load: Load, client: httpx.AsyncClient, stack: Stack) -> bool:
    """Whether every accepted request is settled (SETTLED) with nothing left pending; approves what is pending."""
    if await approve_pending(load, client, stack):
        return False
    for request_id in load.accepted:  # one at a time, stopping at the first unsettled: polled every half second
        if await status_of(load, client, stack, request_id) not in SETTLED:
            return False
    return True


async def status_of(load: Load, client: httpx.AsyncClient, stack: Stack, request_id: str) -> str:
    url = f"{stack.url('requests')}/v1/requests/{request_id}"
    answer = await call(load, client, "GET", url, headers=NATIONAL)
    return str(answer.json()["status"])
