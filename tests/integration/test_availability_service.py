"""The availability service against a real broker, on SQLite and on PostgreSQL."""

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from shared.auth import Role
from shared.cloudevents import new_event
from shared.events import AVAILABILITY_TOPIC, Allocation, TaskingApproved
from shared.settings import CommonSettings
from shared.vocabulary import Capability
from tests.support.builders import SOON, bearer, unit_body, unit_id
from tests.support.kafka import Publisher, TopicProbe
from tests.support.services import RunningService, running_service

STAFFORDSHIRE = bearer(Role.RESOURCE_MANAGER, force="staffordshire")


@pytest.fixture
async def service(database_url: str, kafka: CommonSettings) -> AsyncIterator[RunningService]:
    async with running_service("availability", database_url=database_url, kafka=kafka) as running:
        yield running


async def declare(service: RunningService, unit: str, **overrides: Any) -> dict[str, Any]:
    response = await service.client.put(f"/v1/units/{unit}", json=unit_body(**overrides), headers=STAFFORDSHIRE)
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def approval(request_id: str, *unit_ids: str) -> TaskingApproved:
    return TaskingApproved(
        request_id=request_id,
        proposal_id=str(uuid.uuid4()),
        requesting_force="west-midlands",
        requesting_region="West Midlands",
        start=SOON,
        end=SOON + timedelta(days=1),
        allocations=[
            Allocation(unit_id=u, force="staffordshire", capability=Capability.PSU, eta_minutes=90, distance_km=50)
            for u in unit_ids
        ],
        approved_by="coordinator@West Midlands",
    )


async def test_a_declared_unit_is_available_and_announced_with_its_full_state(
    service: RunningService, kafka: CommonSettings
) -> None:
    unit = unit_id()
    response = await service.client.put(f"/v1/units/{unit}", json=unit_body(), headers=STAFFORDSHIRE)
    assert response.status_code == 201
    body = response.json()
    assert (body["unit_id"], body["status"], body["version"], body["region"]) == (unit, "AVAILABLE", 1, "West Midlands")
    async with TopicProbe(kafka, AVAILABILITY_TOPIC) as probe:
        event = await probe.event("unit.declared")
    assert event["data"]["unit"]["unit_id"] == unit
    assert event["data"]["unit"]["base"]["description"] == "Stafford"
    assert event["subject"] == unit


async def test_an_update_bumps_the_version_and_a_repeat_changes_nothing(
    service: RunningService, kafka: CommonSettings
) -> None:
    unit = unit_id()
    await declare(service, unit)
    updated = await declare(service, unit, readiness_minutes=30)
    repeated = await declare(service, unit, readiness_minutes=30)
    assert (updated["version"], updated["readiness_minutes"]) == (2, 30)
    assert repeated["version"] == 2
    async with TopicProbe(kafka, AVAILABILITY_TOPIC) as probe:
        event = await probe.event("unit.updated")
        await probe.drain(seconds=0.5)
    assert event["data"]["unit"]["version"] == 2
    assert sum(b'"unit.updated' in record.value or b".unit.updated." in record.value for record in probe.records) == 1


async def test_units_can_be_listed_by_force_capability_and_status(service: RunningService) -> None:
    psu, afo = unit_id(), unit_id()
    await declare(service, psu)
    await declare(service, afo, capability="AFO")
    listed = await service.client.get(
        "/v1/units?force=staffordshire&capability=AFO&status=AVAILABLE", headers=STAFFORDSHIRE
    )
    assert [item["unit_id"] for item in listed.json()["items"]] == [afo]


async def test_an_approved_tasking_commits_every_unit(service: RunningService, kafka: CommonSettings) -> None:
    first, second = unit_id(), unit_id()
    await declare(service, first)
    await declare(service, second)
    request_id = str(uuid.uuid4())
    async with Publisher(kafka) as publisher, TopicProbe(kafka, AVAILABILITY_TOPIC) as probe:
        data = approval(request_id, first, second)
        await publisher.event(new_event(data, source="/test/tasking"), data)
        event = await probe.event("units.committed", request_id=request_id)
    assert [unit["status"] for unit in event["data"]["units"]] == ["COMMITTED", "COMMITTED"]
    unit = (await service.client.get(f"/v1/units/{first}", headers=STAFFORDSHIRE)).json()
    assert (unit["status"], unit["committed_to"], unit["version"]) == ("COMMITTED", request_id, 2)


async def test_a_tasking_with_one_unit_taken_commits_none(service: RunningService, kafka: CommonSettings) -> None:
    taken, free = unit_id(), unit_id()
    await declare(service, taken)
    await declare(service, free)
    first_request, second_request = str(uuid.uuid4()), str(uuid.uuid4())
    async with Publisher(kafka) as publisher, TopicProbe(kafka, AVAILABILITY_TOPIC) as probe:
        first, second = approval(first_request, taken), approval(second_request, free, taken)
        await publisher.event(new_event(first, source="/test/tasking"), first)
        await probe.event("units.committed", request_id=first_request)
        await publisher.event(new_event(second, source="/test/tasking"), second)
        rejected = await probe.event("commit.rejected", request_id=second_request)
    [failure] = rejected["data"]["failures"]
    assert (failure["unit_id"], failure["rule"]) == (taken, "booked")
    assert failure["reason"].startswith(f"unit is booked for request {first_request} from ")
    unit = (await service.client.get(f"/v1/units/{free}", headers=STAFFORDSHIRE)).json()
    assert (unit["status"], unit["committed_to"]) == ("AVAILABLE", None)


async def test_a_committed_unit_cannot_be_redeclared(service: RunningService, kafka: CommonSettings) -> None:
    unit = unit_id()
    await declare(service, unit)
    async with Publisher(kafka) as publisher, TopicProbe(kafka, AVAILABILITY_TOPIC) as probe:
        data = approval(str(uuid.uuid4()), unit)
        await publisher.event(new_event(data, source="/test/tasking"), data)
        await probe.event("units.committed", request_id=data.request_id)
    response = await service.client.put(f"/v1/units/{unit}", json=unit_body(readiness_minutes=5), headers=STAFFORDSHIRE)
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"


async def test_a_resource_manager_declares_only_their_own_forces_units(service: RunningService) -> None:
    response = await service.client.put(
        f"/v1/units/{unit_id()}", json=unit_body(force="warwickshire"), headers=STAFFORDSHIRE
    )
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    operator = bearer(Role.OPERATOR, force="staffordshire")
    assert (await service.client.put(f"/v1/units/{unit_id()}", json=unit_body(), headers=operator)).status_code == 403


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"capability": "TANK"}, "body.capability"),
        ({"force": "atlantis"}, "body.force"),
        ({"readiness_minutes": -1}, "body.readiness_minutes"),
        ({"available_from": "2026-12-01T00:00:00"}, "body.available_from"),
        ({"base": {"lat": 10.0, "lon": 0}}, "body.base.lat"),
    ],
)
async def test_bad_declarations_are_refused_with_a_problem(
    service: RunningService, change: dict[str, Any], where: str
) -> None:
    response = await service.client.put(f"/v1/units/{unit_id()}", json=unit_body(**change), headers=STAFFORDSHIRE)
    assert response.status_code == 422
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["detail"].startswith(where)
