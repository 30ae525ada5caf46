"""Availability: catalogue, versions, windows, lending scope, reserves, capacity, recall and release."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from shared.auth import Role
from shared.cloudevents import new_event
from shared.events import AVAILABILITY_TOPIC, Allocation, TaskingApproved, TaskingStoodDown
from shared.settings import CommonSettings
from shared.vocabulary import Capability
from tests.support.builders import SOON, bearer, unit_body, unit_id
from tests.support.kafka import Publisher, TopicProbe
from tests.support.services import RunningService, running_service

STAFFORDSHIRE = bearer(Role.RESOURCE_MANAGER, force="staffordshire")
DAY = timedelta(days=1)


@pytest.fixture
async def service(database_url: str, kafka: CommonSettings) -> AsyncIterator[RunningService]:
    async with running_service("availability", database_url=database_url, kafka=kafka) as running:
        yield running


async def declare(service: RunningService, unit: str, **overrides: Any) -> dict[str, Any]:
    response = await service.client.put(f"/v1/units/{unit}", json=unit_body(**overrides), headers=STAFFORDSHIRE)
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


async def approve(kafka: CommonSettings, *unit_ids: str, region: str = "West Midlands") -> dict[str, Any]:
    """Deliver a tasking.approved for the units and return availability's answer to it."""
    data = TaskingApproved(
        request_id=str(uuid.uuid4()),
        proposal_id=str(uuid.uuid4()),
        requesting_force="west-midlands" if region == "West Midlands" else "metropolitan",
        requesting_region=region,
        start=SOON,
        end=SOON + DAY,
        allocations=[
            Allocation(unit_id=u, force="staffordshire", capability=Capability.PSU, eta_minutes=60, distance_km=40)
            for u in unit_ids
        ],
        approved_by="coordinator",
    )
    async with Publisher(kafka) as publisher, TopicProbe(kafka, AVAILABILITY_TOPIC) as probe:
        await publisher.event(new_event(data, source="/test/tasking"), data)
        return await probe.wait_for_event(("units.committed", "commit.rejected"), request_id=data.request_id)


async def capacity_of(
    service: RunningService, force: str = "staffordshire", *, during: tuple[datetime, datetime] | None = None
) -> dict[str, dict[str, Any]]:
    period = {"from": during[0].isoformat(), "until": during[1].isoformat()} if during else {}
    response = await service.client.get(f"/v1/forces/{force}/capacity", params=period, headers=STAFFORDSHIRE)
    assert response.status_code == 200
    return {item["capability"]: item for item in response.json()["items"]}


async def test_the_catalogue_describes_every_capability_with_its_composition(service: RunningService) -> None:
    response = await service.client.get("/v1/capabilities", headers=STAFFORDSHIRE)
    catalogue = response.json()
    items = {item["code"]: item for item in catalogue["items"]}
    assert set(items) == {c.value for c in Capability}
    assert {"POM", "POLSA", "DOG", "MOUNTED", "NEGOTIATOR", "DVI"} <= set(items)
    assert items["PSU"]["kind"] == "TEAM"
    assert {"role": "inspector", "count": 1} in items["PSU"]["composition"]
    assert items["NEGOTIATOR"]["kind"] == "INDIVIDUAL"
    assert catalogue["version"]


async def test_an_update_based_on_a_stale_version_is_refused_with_412(service: RunningService) -> None:
    unit = unit_id()
    created = await service.client.put(f"/v1/units/{unit}", json=unit_body(), headers=STAFFORDSHIRE)
    assert created.headers["ETag"] == '"1"'
    fresh = await service.client.put(
        f"/v1/units/{unit}", json=unit_body(readiness_minutes=20), headers=STAFFORDSHIRE | {"If-Match": '"1"'}
    )
    assert (fresh.status_code, fresh.json()["version"]) == (200, 2)
    stale = await service.client.put(
        f"/v1/units/{unit}", json=unit_body(readiness_minutes=10), headers=STAFFORDSHIRE | {"If-Match": '"1"'}
    )
    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"
    in_body = await service.client.put(
        f"/v1/units/{unit}", json=unit_body(readiness_minutes=10, version=1), headers=STAFFORDSHIRE
    )
    assert in_body.status_code == 412
    assert (await service.client.get(f"/v1/units/{unit}", headers=STAFFORDSHIRE)).json()["readiness_minutes"] == 20


async def test_if_none_match_star_declares_a_new_unit_and_never_touches_an_existing_one(
    service: RunningService,
) -> None:
    unit = unit_id()
    create_only = STAFFORDSHIRE | {"If-None-Match": "*"}
    racing = await asyncio.gather(
        service.client.put(f"/v1/units/{unit}", json=unit_body(readiness_minutes=20), headers=create_only),
        service.client.put(f"/v1/units/{unit}", json=unit_body(readiness_minutes=30), headers=create_only),
    )
    assert sorted(response.status_code for response in racing) == [201, 412]
    winner = next(response for response in racing if response.status_code == 201).json()
    again = await service.client.put(f"/v1/units/{unit}", json=unit_body(readiness_minutes=5), headers=create_only)
    assert again.status_code == 412
    assert "already declared" in again.json()["detail"]
    held = (await service.client.get(f"/v1/units/{unit}", headers=STAFFORDSHIRE)).json()
    assert (held["version"], held["readiness_minutes"]) == (1, winner["readiness_minutes"])
    other = await service.client.put(
        f"/v1/units/{unit}", json=unit_body(), headers=STAFFORDSHIRE | {"If-None-Match": '"1"'}
    )
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"


async def test_a_unit_may_have_several_windows_and_they_are_merged(service: RunningService) -> None:
    windows = [
        {"start": (SOON + 10 * DAY).isoformat(), "end": (SOON + 12 * DAY).isoformat()},
        {"start": (SOON - DAY).isoformat(), "end": (SOON + 2 * DAY).isoformat()},
        {"start": (SOON + 2 * DAY).isoformat(), "end": (SOON + 3 * DAY).isoformat()},
    ]
    body = unit_body(windows=windows)
    del body["available_from"], body["available_until"]
    unit = await service.client.put(f"/v1/units/{unit_id()}", json=body, headers=STAFFORDSHIRE)
    assert unit.status_code == 201, unit.text
    assert [(w["start"], w["end"]) for w in unit.json()["windows"]] == [
        (windows[1]["start"].replace("+00:00", "Z"), windows[2]["end"].replace("+00:00", "Z")),
        (windows[0]["start"].replace("+00:00", "Z"), windows[0]["end"].replace("+00:00", "Z")),
    ]
    both = unit_body(windows=windows)
    assert (await service.client.put(f"/v1/units/{unit_id()}", json=both, headers=STAFFORDSHIRE)).status_code == 422


async def test_units_outside_their_window_or_scope_are_not_committed(
    service: RunningService, kafka: CommonSettings
) -> None:
    short, regional, home = unit_id(), unit_id(), unit_id()
    await declare(service, short, available_until=(SOON + DAY / 2).isoformat())
    await declare(service, regional, scope="REGION")
    await declare(service, home, scope="FORCE")
    assert (await approve(kafka, short))["data"]["failures"][0]["rule"] == "window"
    assert (await approve(kafka, home))["data"]["failures"][0]["rule"] == "scope"
    assert (await approve(kafka, regional, region="London"))["data"]["failures"][0]["rule"] == "scope"
    assert (await approve(kafka, regional))["type"].endswith("units.committed.v1")


async def test_a_force_keeps_its_reserve_and_capacity_shows_it(service: RunningService, kafka: CommonSettings) -> None:
    units = [unit_id() for _ in range(3)]
    for unit in units:
        await declare(service, unit)
    policy = await service.client.put(
        "/v1/forces/staffordshire/policy",
        json={"reserve": {"PSU": 2}, "national_commitment": {"PSU": 3}},
        headers=STAFFORDSHIRE,
    )
    assert (policy.status_code, policy.json()["version"]) == (200, 1)
    assert (await capacity_of(service))["PSU"] | {"capability": "PSU"} == {
        "capability": "PSU",
        "declared": 3,
        "available": 3,
        "committed": 0,
        "reserve": 2,
        "lendable": 1,
        "national_commitment": 3,
        "commitment_met": False,
    }
    refused = await approve(kafka, units[0], units[1])
    assert {failure["rule"] for failure in refused["data"]["failures"]} == {"reserve"}
    assert "reserve would be breached in staffordshire" in refused["data"]["failures"][0]["reason"]
    assert (await approve(kafka, units[0]))["type"].endswith("units.committed.v1")
    psu = (await capacity_of(service, during=(SOON, SOON + DAY)))["PSU"]
    assert (psu["available"], psu["committed"], psu["lendable"]) == (2, 1, 0)
    before = (await capacity_of(service, during=(SOON - 3 * DAY, SOON - 2 * DAY)))["PSU"]
    assert (before["available"], before["committed"], before["lendable"]) == (3, 0, 1)  # booked only from SOON


async def test_the_regional_and_national_pictures_add_up_the_forces(service: RunningService) -> None:
    await declare(service, unit_id())
    warwickshire = bearer(Role.RESOURCE_MANAGER, force="warwickshire")
    body = unit_body(force="warwickshire")
    assert (await service.client.put(f"/v1/units/{unit_id()}", json=body, headers=warwickshire)).status_code == 201
    coordinator = bearer(Role.COORDINATOR, region="South West")  # every coordinator reads every picture
    region = (await service.client.get("/v1/capacity?region=West Midlands", headers=coordinator)).json()
    assert region["region"] == "West Midlands"
    assert sorted(force["force"] for force in region["forces"]) == ["staffordshire", "warwickshire"]
    assert region["summary"][0]["declared"] == 2
    national = (await service.client.get("/v1/capacity", headers=coordinator)).json()
    assert (national["region"], national["summary"][0]["available"]) == (None, 2)
    unknown = await service.client.get("/v1/capacity?region=Atlantis", headers=coordinator)
    assert unknown.status_code == 404
    # each force's reserve is in the picture: a resource manager reads its own force's figures only
    assert (await service.client.get("/v1/capacity", headers=STAFFORDSHIRE)).status_code == 403


async def test_only_a_forces_resource_manager_sets_its_policy(service: RunningService) -> None:
    body = {"reserve": {"PSU": 1}}
    other = bearer(Role.RESOURCE_MANAGER, force="warwickshire")
    assert (await service.client.put("/v1/forces/staffordshire/policy", json=body, headers=other)).status_code == 403
    negative = {"reserve": {"PSU": -1}}
    response = await service.client.put("/v1/forces/staffordshire/policy", json=negative, headers=STAFFORDSHIRE)
    assert response.status_code == 422
    unknown = await service.client.put("/v1/forces/atlantis/policy", json=body, headers=STAFFORDSHIRE)
    assert unknown.status_code == 404


async def test_a_recalled_unit_goes_home_and_tasking_is_told(service: RunningService, kafka: CommonSettings) -> None:
    unit = unit_id()
    await declare(service, unit)
    committed = await approve(kafka, unit)
    request_id = committed["data"]["request_id"]
    recall = await service.client.post(
        f"/v1/units/{unit}/recall", json={"reason": "riot at home"}, headers=STAFFORDSHIRE
    )
    assert (recall.status_code, recall.json()["status"], recall.json()["committed_to"]) == (200, "UNAVAILABLE", None)
    async with TopicProbe(kafka, AVAILABILITY_TOPIC) as probe:
        recalled = await probe.event("units.recalled", request_id=request_id)
    assert recalled["data"]["reason"] == "riot at home"
    assert recalled["data"]["units"][0]["status"] == "UNAVAILABLE"
    again = await service.client.post(f"/v1/units/{unit}/recall", json={"reason": "x"}, headers=STAFFORDSHIRE)
    assert again.status_code == 409
    no_reason = await service.client.post(f"/v1/units/{unit}/recall", json={}, headers=STAFFORDSHIRE)
    assert no_reason.status_code == 422


async def test_stand_down_releases_the_units(service: RunningService, kafka: CommonSettings) -> None:
    first, second = unit_id(), unit_id()
    await declare(service, first)
    await declare(service, second)
    request_id = (await approve(kafka, first, second))["data"]["request_id"]
    stood_down = TaskingStoodDown(request_id=request_id, stood_down_by="operator", reason="match over")
    async with Publisher(kafka) as publisher, TopicProbe(kafka, AVAILABILITY_TOPIC) as probe:
        await publisher.event(new_event(stood_down, source="/test/tasking"), stood_down)
        released = await probe.event("units.released", request_id=request_id)
    assert sorted(u["unit_id"] for u in released["data"]["units"]) == sorted([first, second])
    unit = (await service.client.get(f"/v1/units/{first}", headers=STAFFORDSHIRE)).json()
    assert (unit["status"], unit["committed_to"]) == ("AVAILABLE", None)


async def test_a_withdrawn_unit_is_announced_and_no_longer_counted(
    service: RunningService, kafka: CommonSettings
) -> None:
    unit = unit_id()
    await declare(service, unit)
    withdrawn = await declare(service, unit, status="WITHDRAWN")
    assert withdrawn["status"] == "WITHDRAWN"
    async with TopicProbe(kafka, AVAILABILITY_TOPIC) as probe:
        event = await probe.event("unit.withdrawn")
    assert event["data"]["unit"]["unit_id"] == unit
    assert (await capacity_of(service)) == {}
    committed = await service.client.put(f"/v1/units/{unit}", json=unit_body(status="COMMITTED"), headers=STAFFORDSHIRE)
    assert committed.status_code == 422


async def test_a_force_replaces_its_whole_set_in_one_go(service: RunningService) -> None:
    kept, dropped, new = unit_id(), unit_id(), unit_id()
    await declare(service, kept)
    await declare(service, dropped)
    items = [unit_body() | {"unit_id": kept}, unit_body(readiness_minutes=15) | {"unit_id": new}]
    response = await service.client.put("/v1/forces/staffordshire/units", json={"items": items}, headers=STAFFORDSHIRE)
    counts = {k: v for k, v in response.json().items() if k != "units"}
    assert counts == {
        "force": "staffordshire",
        "declared": 1,
        "updated": 0,
        "unchanged": 1,
        "withdrawn": 1,
        "kept": 0,
        "dry_run": False,
    }
    statuses = {
        unit["unit_id"]: unit["status"]
        for unit in (await service.client.get("/v1/units?force=staffordshire", headers=STAFFORDSHIRE)).json()["items"]
    }
    assert statuses == {kept: "AVAILABLE", dropped: "WITHDRAWN", new: "AVAILABLE"}
    foreign = [unit_body(force="warwickshire") | {"unit_id": unit_id()}]
    refused = await service.client.put("/v1/forces/staffordshire/units", json={"items": foreign}, headers=STAFFORDSHIRE)
    assert refused.status_code == 422
