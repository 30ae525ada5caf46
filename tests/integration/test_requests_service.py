"""The requests service against a real broker, on SQLite and on PostgreSQL."""

import json
import uuid
from collections.abc import AsyncIterator

import pytest

from shared.auth import Role
from shared.cloudevents import new_event
from shared.events import (
    REQUESTS_TOPIC,
    TASKING_TOPIC,
    Allocation,
    MatchingStarted,
    ProposalCreated,
    TaskingApproved,
    UnitsCommitted,
    UnitState,
    dead_letter_topic,
)
from shared.settings import CommonSettings
from shared.vocabulary import Capability
from tests.support.builders import SOON, bearer, request_body
from tests.support.kafka import Publisher, TopicProbe
from tests.support.services import RunningService, eventually, running_service

OPERATOR = bearer(Role.OPERATOR, force="west-midlands")


@pytest.fixture
async def service(database_url: str, kafka: CommonSettings) -> AsyncIterator[RunningService]:
    async with running_service("requests", database_url=database_url, kafka=kafka) as running:
        yield running


@pytest.fixture
async def publisher(kafka: CommonSettings) -> AsyncIterator[Publisher]:
    async with Publisher(kafka) as publisher:
        yield publisher


async def submit(service: RunningService, **overrides: object) -> dict[str, object]:
    response = await service.client.post("/v1/requests", json=request_body(**overrides), headers=OPERATOR)
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def status_of(service: RunningService, request_id: str) -> str:
    response = await service.client.get(f"/v1/requests/{request_id}", headers=OPERATOR)
    return str(response.json()["status"])


async def test_a_submitted_request_is_stored_and_announced(service: RunningService, kafka: CommonSettings) -> None:
    created = await submit(service)
    assert created["status"] == "SUBMITTED"
    assert created["requesting_region"] == "West Midlands"
    async with TopicProbe(kafka, REQUESTS_TOPIC) as probe:
        event = await probe.event("request.submitted", request_id=created["id"])
    assert event["specversion"] == "1.0"
    assert event["subject"] == created["id"]
    assert event["data"]["needs"] == [{"capability": "PSU", "quantity": 2, "composition": None}]
    fetched = await service.client.get(f"/v1/requests/{created['id']}", headers=OPERATOR)
    assert [entry["status"] for entry in fetched.json()["timeline"]] == ["SUBMITTED"]


async def test_the_same_idempotency_key_and_body_returns_the_same_request(service: RunningService) -> None:
    body = request_body()
    headers = OPERATOR | {"Idempotency-Key": str(uuid.uuid4())}
    first = await service.client.post("/v1/requests", json=body, headers=headers)
    second = await service.client.post("/v1/requests", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json()["id"] == first.json()["id"]
    assert second.headers["Idempotent-Replayed"] == "true"
    listed = await service.client.get("/v1/requests", headers=OPERATOR)
    assert [item["id"] for item in listed.json()["items"]] == [first.json()["id"]]


async def test_the_same_idempotency_key_with_another_body_is_a_conflict(service: RunningService) -> None:
    headers = OPERATOR | {"Idempotency-Key": str(uuid.uuid4())}
    await service.client.post("/v1/requests", json=request_body(), headers=headers)
    response = await service.client.post("/v1/requests", json=request_body(priority="P1"), headers=headers)
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"


async def test_outcomes_move_the_request_to_mobilised_with_a_timeline(
    service: RunningService, publisher: Publisher
) -> None:
    request_id = str((await submit(service))["id"])
    proposal_id = str(uuid.uuid4())
    allocation = Allocation(
        unit_id="u1", force="staffordshire", capability=Capability.PSU, eta_minutes=80, distance_km=60
    )
    source = "/test/tasking"
    for data in [
        MatchingStarted(request_id=request_id),
        ProposalCreated(
            request_id=request_id, proposal_id=proposal_id, allocations=[allocation], unfilled=[], planner="test"
        ),
        TaskingApproved(
            request_id=request_id,
            proposal_id=proposal_id,
            requesting_force="west-midlands",
            requesting_region="West Midlands",
            start=SOON,
            end=SOON,
            allocations=[allocation],
            approved_by="coordinator",
        ),
    ]:
        await publisher.event(new_event(data, source=source), data)
    await eventually(lambda: _status_is(service, request_id, "APPROVED"))
    committed = UnitsCommitted(request_id=request_id, proposal_id=proposal_id, units=[_committed_unit(request_id)])
    await publisher.event(new_event(committed, source="/test/availability"), committed)
    await eventually(lambda: _status_is(service, request_id, "MOBILISED"))
    detail = (await service.client.get(f"/v1/requests/{request_id}", headers=OPERATOR)).json()
    assert [entry["status"] for entry in detail["timeline"]] == [
        "SUBMITTED",
        "MATCHING",
        "PROPOSED",
        "APPROVED",
        "MOBILISED",
    ]
    assert [entry["event_type"] for entry in detail["timeline"]][-1] == "units.committed"


async def test_an_event_delivered_twice_is_applied_once(service: RunningService, publisher: Publisher) -> None:
    request_id = str((await submit(service))["id"])
    data = ProposalCreated(request_id=request_id, proposal_id="p1", allocations=[], unfilled=[], planner="test")
    event = new_event(data, source="/test/tasking")
    await publisher.event(event, data)
    await eventually(lambda: _status_is(service, request_id, "PROPOSED"))
    before = (await service.client.get(f"/v1/requests/{request_id}", headers=OPERATOR)).json()

    await publisher.event(event, data)
    marker = MatchingStarted(request_id=str((await submit(service))["id"]))
    await publisher.event(new_event(marker, source="/test/tasking"), marker)
    await eventually(lambda: _status_is(service, marker.request_id, "MATCHING"))

    after = (await service.client.get(f"/v1/requests/{request_id}", headers=OPERATOR)).json()
    assert after == before
    assert [entry["event_type"] for entry in after["timeline"]].count("proposal.created") == 1


async def test_a_message_that_is_not_an_event_is_dead_lettered_and_the_consumer_goes_on(
    service: RunningService, publisher: Publisher, kafka: CommonSettings
) -> None:
    request_id = str((await submit(service))["id"])
    await publisher.raw(TASKING_TOPIC, b"{not json at all", key=request_id)
    wrong: dict[str, object] = {"specversion": "1.0", "id": "x", "source": "/t", "time": "2026-11-26T10:00:00Z"}
    wrong |= {"type": "uk.police.mutualaid.proposal.created.v1", "data": {"request_id": request_id}}
    await publisher.raw(TASKING_TOPIC, json.dumps(wrong).encode(), key=request_id)
    good = MatchingStarted(request_id=request_id)
    await publisher.event(new_event(good, source="/test/tasking"), good)

    await eventually(lambda: _status_is(service, request_id, "MATCHING"))
    async with TopicProbe(kafka, dead_letter_topic(TASKING_TOPIC)) as dlq:
        garbage = await dlq.wait_for(lambda record: record.value == b"{not json at all")
        invalid = await dlq.wait_for(lambda record: b'"id": "x"' in record.value)
    reasons = [dict(record.headers)["dlq-reason"].decode() for record in (garbage, invalid)]
    assert reasons[0].startswith("not a CloudEvents 1.0 JSON envelope")
    assert reasons[1].startswith("data does not match uk.police.mutualaid.proposal.created.v1")
    assert dict(garbage.headers)["dlq-original-topic"].decode() == kafka.namespaced(TASKING_TOPIC)


async def test_the_service_reports_health_readiness_and_metrics(service: RunningService) -> None:
    assert (await service.client.get("/healthz")).json() == {"status": "ok", "service": "requests"}

    async def ready() -> dict[str, object] | None:
        response = await service.client.get("/readyz")
        return response.json() if response.status_code == 200 else None

    assert (await eventually(ready))["checks"] == {"database": True, "broker": True, "consumers": True}
    await service.client.get("/v1/requests", headers=OPERATOR)
    metrics = (await service.client.get("/metrics")).text
    assert 'mutualaid_http_requests_total{method="GET",route="/v1/requests",service="requests",status="200"}' in metrics


async def _status_is(service: RunningService, request_id: str, status: str) -> bool:
    return await status_of(service, request_id) == status


def _committed_unit(request_id: str) -> UnitState:
    return UnitState.model_validate(
        {
            "unit_id": "u1",
            "force": "staffordshire",
            "region": "West Midlands",
            "capability": "PSU",
            "base": {"lat": 52.8, "lon": -2.1},
            "readiness_minutes": 60,
            "available_from": SOON,
            "available_until": SOON,
            "status": "COMMITTED",
            "committed_to": request_id,
            "version": 2,
        }
    )


async def test_a_composition_override_travels_with_the_request(service: RunningService, kafka: CommonSettings) -> None:
    composition = [
        {"role": "inspector", "count": 1},
        {"role": "sergeant", "count": 4},
        {"role": "constable", "count": 16},
    ]
    created = await submit(service, needs=[{"capability": "PSU", "quantity": 1, "composition": composition}])
    async with TopicProbe(kafka, REQUESTS_TOPIC) as probe:
        event = await probe.event("request.submitted", request_id=created["id"])
    assert event["data"]["needs"][0]["composition"] == composition
    fetched = await service.client.get(f"/v1/requests/{created['id']}", headers=OPERATOR)
    assert fetched.json()["needs"][0]["composition"] == composition
