"""End to end, through the three services as real processes: how a plan is chosen and how it changes."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from mutualaid.runner import Stack
from shared.auth import Role
from tests.support.builders import SOON, bearer, request_body
from tests.support.replay import every_plan_replays, reconciles
from tests.support.services import eventually

pytestmark = pytest.mark.e2e

OPERATOR = bearer(Role.OPERATOR, force="west-midlands")
INTEGRATION = bearer(Role.INTEGRATION)
REGIONAL = bearer(Role.COORDINATOR, region="West Midlands")
NATIONAL = bearer(Role.NATIONAL_COORDINATOR)

# Places in and around the West Midlands, and one far away.
VILLA_PARK = {"lat": 52.509, "lon": -1.885}
STAFFORD = {"lat": 52.814, "lon": -2.092}
WOLVERHAMPTON = {"lat": 52.586, "lon": -2.128}
COVENTRY = {"lat": 52.408, "lon": -1.510}
WARWICK = {"lat": 52.283, "lon": -1.585}
BRISTOL = {"lat": 51.455, "lon": -2.588}


class Flow:
    """A client of the running stack that speaks the walkthrough's steps."""

    def __init__(self, stack: Stack, client: httpx.AsyncClient) -> None:
        self.stack, self.client = stack, client

    def url(self, service: str, path: str) -> str:
        return f"{self.stack.url(service)}{path}"

    async def declare(self, force: str, base: dict[str, float], *, capability: str = "PSU", **extra: Any) -> str:
        unit_id = f"{force}-{capability.lower()}-{uuid.uuid4().hex[:6]}"
        body = {
            "force": force,
            "capability": capability,
            "base": base,
            "readiness_minutes": 30,
            "available_from": (SOON - timedelta(days=1)).isoformat(),
            "available_until": (SOON + timedelta(days=30)).isoformat(),
            **extra,
        }
        response = await self.client.put(
            self.url("availability", f"/v1/units/{unit_id}"), json=body, headers=INTEGRATION
        )
        assert response.status_code == 201, response.text
        await eventually(lambda: self._planner_knows(unit_id))
        return unit_id

    async def _planner_knows(self, unit_id: str) -> bool:
        units = (await self.client.get(self.url("tasking", "/v1/units"), headers=INTEGRATION)).json()["items"]
        return any(unit["unit_id"] == unit_id for unit in units)

    async def submit(self, *, headers: dict[str, str] = OPERATOR, **overrides: Any) -> str:
        response = await self.client.post(
            self.url("requests", "/v1/requests"), json=request_body(**overrides), headers=headers
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def request(self, request_id: str) -> dict[str, Any]:
        response = await self.client.get(self.url("requests", f"/v1/requests/{request_id}"), headers=OPERATOR)
        body: dict[str, Any] = response.json()
        return body

    async def reaches(self, request_id: str, status: str, *, timeout: float = 30) -> dict[str, Any]:
        async def there() -> dict[str, Any] | None:
            request = await self.request(request_id)
            return request if request["status"] == status else None

        result: dict[str, Any] = await eventually(there, timeout=timeout)
        return result

    async def proposals(self, request_id: str, status: str | None = None) -> list[dict[str, Any]]:
        query = f"/v1/proposals?request_id={request_id}" + (f"&status={status}" if status else "")
        items: list[dict[str, Any]] = (await self.client.get(self.url("tasking", query), headers=NATIONAL)).json()[
            "items"
        ]
        return items

    async def pending(self, request_id: str, *, count: int = 1) -> list[dict[str, Any]]:
        async def found() -> list[dict[str, Any]] | None:
            items = await self.proposals(request_id, "PENDING")
            return items if len(items) >= count else None

        result: list[dict[str, Any]] = await eventually(found)
        return result

    async def approve(self, proposal_id: str, headers: dict[str, str] = NATIONAL) -> httpx.Response:
        return await self.client.post(
            self.url("tasking", f"/v1/proposals/{proposal_id}/approve"), json={"reason": "approved"}, headers=headers
        )


@pytest.fixture
async def flow(tmp_path: Path) -> AsyncIterator[Flow]:
    stack = Stack(workdir=tmp_path)
    await stack.start()
    try:
        async with httpx.AsyncClient(timeout=15) as client:
            yield Flow(stack, client)
        await every_plan_replays(tmp_path / "tasking.db")
        await reconciles(tmp_path)
    finally:
        await stack.stop()


def units_of(proposal: dict[str, Any]) -> list[str]:
    return [allocation["unit_id"] for allocation in proposal["allocations"]]


async def test_two_requests_planned_together_get_the_jointly_best_plan(flow: Flow) -> None:
    # Both want one PSU. Wolverhampton is nearest to both grounds; Warwick is near Coventry but far from Molineux.
    shared_unit = await flow.declare("staffordshire", WOLVERHAMPTON)
    coventry_unit = await flow.declare("warwickshire", WARWICK)
    coventry, molineux = await asyncio.gather(
        flow.submit(location=COVENTRY | {"description": "Coventry"}, needs=[{"capability": "PSU", "quantity": 1}]),
        flow.submit(location={"lat": 52.590, "lon": -2.130, "description": "Molineux"},
                    needs=[{"capability": "PSU", "quantity": 1}]),
    )  # fmt: skip
    [for_coventry] = await flow.pending(coventry)
    [for_molineux] = await flow.pending(molineux)
    assert units_of(for_coventry) == [coventry_unit]
    assert units_of(for_molineux) == [shared_unit]


async def test_what_the_region_cannot_fill_escalates_to_a_national_proposal(flow: Flow) -> None:
    regional_unit = await flow.declare("staffordshire", STAFFORD)
    national_unit = await flow.declare("avon-and-somerset", BRISTOL)
    request_id = await flow.submit(needs=[{"capability": "PSU", "quantity": 2}])
    proposals = await flow.pending(request_id, count=2)
    by_tier = {proposal["tier"]: proposal for proposal in proposals}
    assert units_of(by_tier["REGIONAL"]) == [regional_unit]
    assert units_of(by_tier["NATIONAL"]) == [national_unit]

    async def escalated() -> bool:
        return "ESCALATED" in [entry["status"] for entry in (await flow.request(request_id))["timeline"]]

    await eventually(escalated)

    refused = await flow.approve(by_tier["NATIONAL"]["id"], headers=REGIONAL)
    assert refused.status_code == 403
    assert (await flow.approve(by_tier["REGIONAL"]["id"], headers=REGIONAL)).status_code == 200
    assert (await flow.approve(by_tier["NATIONAL"]["id"], headers=NATIONAL)).status_code == 200
    await flow.reaches(request_id, "MOBILISED")
    audit = (await flow.client.get(flow.url("tasking", f"/v1/audit?request_id={request_id}"), headers=NATIONAL)).json()
    assert "refused" in [entry["action"] for entry in audit["items"]]


async def test_a_partial_fill_is_explicit_and_what_nobody_can_fill_says_why(flow: Flow) -> None:
    await flow.declare("staffordshire", STAFFORD)
    request_id = await flow.submit(
        needs=[{"capability": "PSU", "quantity": 2}, {"capability": "CBRN_T1", "quantity": 1}]
    )
    [proposal] = await flow.pending(request_id)
    unfilled = {item["capability"]: item for item in proposal["unfilled"]}
    assert unfilled["PSU"]["quantity"] == 1
    assert unfilled["CBRN_T1"]["quantity"] == 1
    assert "CBRN_T1" in unfilled["CBRN_T1"]["reason"]
    assert (await flow.approve(proposal["id"], headers=REGIONAL)).status_code == 200
    await flow.reaches(request_id, "PARTIALLY_FILLED")

    nobody = await flow.submit(needs=[{"capability": "DVI", "quantity": 1}])
    unfilled_request = await flow.reaches(nobody, "UNFILLED")
    assert "DVI" in unfilled_request["timeline"][-1]["detail"]


async def test_a_higher_priority_takes_a_unit_only_a_pending_proposal_holds(flow: Flow) -> None:
    only = await flow.declare("staffordshire", STAFFORD)
    planned = await flow.submit(priority="P3", needs=[{"capability": "PSU", "quantity": 1}])
    [held] = await flow.pending(planned)
    assert units_of(held) == [only]
    urgent = await flow.submit(priority="P1", needs=[{"capability": "PSU", "quantity": 1}])
    [taken] = await flow.pending(urgent)
    assert units_of(taken) == [only]
    superseded = await eventually(lambda: flow.proposals(planned, "SUPERSEDED"))
    assert superseded[0]["id"] == held["id"]
    await flow.reaches(planned, "UNFILLED")
    # Nothing takes a unit from an approved tasking.
    assert (await flow.approve(taken["id"], headers=REGIONAL)).status_code == 200
    again = await flow.submit(priority="P1", needs=[{"capability": "PSU", "quantity": 1}])
    await flow.reaches(again, "UNFILLED")


async def test_a_rejected_commit_is_replanned_at_once(flow: Flow) -> None:
    first = await flow.declare("staffordshire", WOLVERHAMPTON)
    second = await flow.declare("west-mercia", {"lat": 52.215, "lon": -2.178})
    request_id = await flow.submit(needs=[{"capability": "PSU", "quantity": 1}])
    [proposal] = await flow.pending(request_id)
    assert units_of(proposal) == [first]
    gone = {"force": "staffordshire", "capability": "PSU", "base": WOLVERHAMPTON, "readiness_minutes": 30,
            "available_from": (SOON - timedelta(days=1)).isoformat(),
            "available_until": (SOON + timedelta(days=30)).isoformat(), "status": "UNAVAILABLE"}  # fmt: skip
    assert (
        await flow.client.put(flow.url("availability", f"/v1/units/{first}"), json=gone, headers=INTEGRATION)
    ).is_success
    assert (await flow.approve(proposal["id"], headers=REGIONAL)).status_code == 200
    [replacement] = await flow.pending(request_id)
    assert units_of(replacement) == [second]
    old = (await flow.client.get(flow.url("tasking", f"/v1/proposals/{proposal['id']}"), headers=NATIONAL)).json()
    assert (old["status"], old["superseded_by"]) == ("SUPERSEDED", replacement["id"])
    await flow.reaches(request_id, "PROPOSED")


async def test_a_recalled_unit_is_replaced_by_a_new_proposal(flow: Flow) -> None:
    lent = await flow.declare("staffordshire", WOLVERHAMPTON)
    spare = await flow.declare("west-mercia", {"lat": 52.215, "lon": -2.178})
    request_id = await flow.submit(needs=[{"capability": "PSU", "quantity": 1}])
    [proposal] = await flow.pending(request_id)
    await flow.approve(proposal["id"], headers=REGIONAL)
    await flow.reaches(request_id, "MOBILISED")
    recall = await flow.client.post(
        flow.url("availability", f"/v1/units/{lent}/recall"), json={"reason": "disorder at home"}, headers=INTEGRATION
    )
    assert recall.status_code == 200
    [replacement] = await flow.pending(request_id)
    assert units_of(replacement) == [spare]
    await flow.reaches(request_id, "PROPOSED")


async def test_a_request_cancelled_before_approval_plans_nothing_more(flow: Flow) -> None:
    await flow.declare("staffordshire", STAFFORD)
    request_id = await flow.submit(needs=[{"capability": "PSU", "quantity": 1}])
    [proposal] = await flow.pending(request_id)
    cancel = await flow.client.post(
        flow.url("requests", f"/v1/requests/{request_id}/cancel"), json={"reason": "match postponed"}, headers=OPERATOR
    )
    assert cancel.status_code == 200
    await flow.reaches(request_id, "CANCELLED")
    superseded = await eventually(lambda: flow.proposals(request_id, "SUPERSEDED"))
    assert superseded[0]["id"] == proposal["id"]


async def test_stand_down_releases_the_units_and_closes_the_request(flow: Flow) -> None:
    unit = await flow.declare("staffordshire", STAFFORD)
    request_id = await flow.submit(needs=[{"capability": "PSU", "quantity": 1}])
    [proposal] = await flow.pending(request_id)
    await flow.approve(proposal["id"], headers=REGIONAL)
    await flow.reaches(request_id, "MOBILISED")
    other_force = bearer(Role.OPERATOR, force="staffordshire")
    stand_down = flow.url("tasking", f"/v1/requests/{request_id}/stand-down")
    assert (await flow.client.post(stand_down, json={}, headers=other_force)).status_code == 403
    assert (await flow.client.post(stand_down, json={"reason": "match over"}, headers=OPERATOR)).status_code == 200
    closed = await flow.reaches(request_id, "CLOSED")
    assert [entry["status"] for entry in closed["timeline"]][-2:] == ["STOOD_DOWN", "CLOSED"]
    unit_url = flow.url("availability", f"/v1/units/{unit}")
    released = (await flow.client.get(unit_url, headers=bearer(Role.RESOURCE_MANAGER, force="staffordshire"))).json()
    assert (released["status"], released["committed_to"]) == ("AVAILABLE", None)
    assert (await flow.client.get(unit_url, headers=OPERATOR)).status_code == 403  # no longer booked for the host
