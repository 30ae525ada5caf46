"""The tasking service against a real broker, on SQLite and on PostgreSQL."""

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from services.tasking.models import UnitView
from services.tasking.planner.problem import RULE_SET_VERSION
from shared.auth import Role
from shared.cloudevents import new_event
from shared.events import (
    TASKING_TOPIC,
    CommitFailure,
    CommitRejected,
    RequestSubmitted,
    UnitDeclared,
    UnitState,
    UnitStatus,
    UnitUpdated,
)
from shared.messaging import InboxEntry
from shared.settings import CommonSettings
from tests.support.builders import SOON, bearer, request_body, unit_id
from tests.support.kafka import Publisher, TopicProbe
from tests.support.services import RunningService, eventually, running_service

COORDINATOR = bearer(Role.COORDINATOR, region="West Midlands")

# Bases at increasing distance from Villa Park (52.509, -1.885).
WOLVERHAMPTON = {"lat": 52.586, "lon": -2.128}
STAFFORD = {"lat": 52.814, "lon": -2.092}
WORCESTER = {"lat": 52.215, "lon": -2.178}


@pytest.fixture
async def service(database_url: str, kafka: CommonSettings) -> AsyncIterator[RunningService]:
    async with running_service("tasking", database_url=database_url, kafka=kafka) as running:
        yield running


@pytest.fixture
async def publisher(kafka: CommonSettings) -> AsyncIterator[Publisher]:
    async with Publisher(kafka) as publisher:
        yield publisher


@pytest.fixture
async def tasking_events(kafka: CommonSettings) -> AsyncIterator[TopicProbe]:
    async with TopicProbe(kafka, TASKING_TOPIC) as probe:
        yield probe


def unit_state(force: str, base: dict[str, float], **overrides: Any) -> UnitState:
    state = {
        "unit_id": unit_id(force),
        "force": force,
        "region": "West Midlands",
        "capability": "PSU",
        "base": base,
        "readiness_minutes": 30,
        "available_from": SOON - timedelta(days=1),
        "available_until": SOON + timedelta(days=30),
        "status": "AVAILABLE",
        "version": 1,
    }
    return UnitState.model_validate(state | overrides)


async def declare(service: RunningService, publisher: Publisher, *states: UnitState) -> None:
    """Publish unit states and wait until the read model holds them (unit and request events are not ordered)."""
    for state in states:
        data = UnitDeclared(unit=state) if state.version == 1 else UnitUpdated(unit=state)
        await publisher.event(new_event(data, source="/test/availability"), data)
    newest: dict[str, int] = {}
    for state in states:
        newest[state.unit_id] = max(newest.get(state.unit_id, 0), state.version)

    async def known() -> bool:
        async with service.runtime.sessions() as session:
            rows = await session.exec(select(UnitView).where(col(UnitView.unit_id).in_(newest)))
            return {unit.unit_id: unit.version for unit in rows.all()} == newest

    await eventually(known)


async def submit(publisher: Publisher, **overrides: Any) -> str:
    body = request_body(**overrides)
    request_id = str(uuid.uuid4())
    data = RequestSubmitted.model_validate(
        body | {"request_id": request_id, "requesting_region": "West Midlands", "submitted_by": "op"}
    )
    await publisher.event(new_event(data, source="/test/requests"), data)
    return request_id


def unit_ids(event: dict[str, Any]) -> list[str]:
    return [allocation["unit_id"] for allocation in event["data"]["allocations"]]


async def test_a_request_gets_the_nearest_units_of_other_forces(
    service: RunningService, publisher: Publisher, tasking_events: TopicProbe
) -> None:
    host = unit_state("west-midlands", {"lat": 52.51, "lon": -1.88})
    near, nearer, far = (
        unit_state("staffordshire", STAFFORD),
        unit_state("staffordshire", WOLVERHAMPTON),
        unit_state("west-mercia", WORCESTER),
    )
    await declare(service, publisher, host, near, nearer, far)
    request_id = await submit(publisher, needs=[{"capability": "PSU", "quantity": 2}])

    await tasking_events.event("matching.started", request_id=request_id)
    proposed = await tasking_events.event("proposal.created", request_id=request_id)
    assert unit_ids(proposed) == [nearer.unit_id, near.unit_id]
    assert proposed["data"]["unfilled"] == []
    listed = await service.client.get(f"/v1/proposals?request_id={request_id}", headers=COORDINATOR)
    [proposal] = listed.json()["items"]
    assert proposal["status"] == "PENDING"
    assert proposal["allocations"][0] == {
        "unit_id": nearer.unit_id,
        "force": "staffordshire",
        "capability": "PSU",
        "eta_minutes": proposal["allocations"][0]["eta_minutes"],
        "distance_km": proposal["allocations"][0]["distance_km"],
        "late": False,
        "via": [],
        "start": None,
        "end": None,
    }
    assert 30 < proposal["allocations"][0]["eta_minutes"] < proposal["allocations"][1]["eta_minutes"]

    metrics = (await service.client.get("/metrics")).text
    assert 'mutualaid_proposals_pending{service="tasking"} 1.0' in metrics
    assert 'mutualaid_planning_run_seconds_count{service="tasking"}' in metrics
    lag = [
        line
        for line in metrics.splitlines()
        if line.startswith("mutualaid_consumer_lag{") and 'service="tasking"' in line
    ]
    assert lag
    assert all(line.endswith(" 0.0") for line in lag), lag  # everything sent has been read


async def test_what_cannot_be_filled_is_listed_with_a_reason(
    service: RunningService, publisher: Publisher, tasking_events: TopicProbe
) -> None:
    only = unit_state("staffordshire", STAFFORD)
    await declare(service, publisher, only)
    request_id = await submit(publisher, needs=[{"capability": "PSU", "quantity": 3}])
    proposed = await tasking_events.event("proposal.created", request_id=request_id)
    assert unit_ids(proposed) == [only.unit_id]
    [shortfall] = proposed["data"]["unfilled"]
    assert (shortfall["capability"], shortfall["quantity"]) == ("PSU", 2)
    assert "PSU" in shortfall["reason"]


async def test_a_request_nobody_can_fill_is_unfilled(
    service: RunningService, publisher: Publisher, tasking_events: TopicProbe
) -> None:
    request_id = await submit(publisher, needs=[{"capability": "CBRN_T1", "quantity": 1}])
    unfilled = await tasking_events.event("request.unfilled", request_id=request_id)
    [shortfall] = unfilled["data"]["unfilled"]
    assert (shortfall["capability"], shortfall["quantity"]) == ("CBRN_T1", 1)
    assert "CBRN_T1" in shortfall["reason"]


async def test_a_newer_unit_state_is_never_overwritten_by_an_older_one(
    service: RunningService, publisher: Publisher, tasking_events: TopicProbe
) -> None:
    withdrawn = unit_state("staffordshire", STAFFORD, status="WITHDRAWN", version=2)
    await declare(service, publisher, withdrawn)
    stale = UnitDeclared(unit=withdrawn.model_copy(update={"status": UnitStatus.AVAILABLE, "version": 1}))
    stale_event = new_event(stale, source="/test/availability")
    await publisher.event(stale_event, stale)

    async def applied() -> bool:
        async with service.runtime.sessions() as session:
            return await session.get(InboxEntry, ("tasking", stale_event.id)) is not None

    await eventually(applied)
    request_id = await submit(publisher, needs=[{"capability": "PSU", "quantity": 1}])
    await tasking_events.event("request.unfilled", request_id=request_id)


async def test_a_unit_in_a_pending_proposal_is_not_proposed_again(
    service: RunningService, publisher: Publisher, tasking_events: TopicProbe
) -> None:
    first, second = unit_state("staffordshire", STAFFORD), unit_state("west-mercia", WORCESTER)
    await declare(service, publisher, first, second)
    one = await submit(publisher, needs=[{"capability": "PSU", "quantity": 1}])
    two = await submit(publisher, needs=[{"capability": "PSU", "quantity": 1}])
    proposed = unit_ids(await tasking_events.event("proposal.created", request_id=one))
    proposed += unit_ids(await tasking_events.event("proposal.created", request_id=two))
    assert sorted(proposed) == sorted([first.unit_id, second.unit_id])


async def proposal_for(service: RunningService, request_id: str) -> dict[str, Any]:
    listed = await service.client.get(f"/v1/proposals?request_id={request_id}", headers=COORDINATOR)
    proposal: dict[str, Any] = listed.json()["items"][-1]
    return proposal


async def test_a_coordinator_approves_a_proposal_once(
    service: RunningService, publisher: Publisher, tasking_events: TopicProbe
) -> None:
    await declare(service, publisher, unit := unit_state("staffordshire", STAFFORD))
    request_id = await submit(publisher, needs=[{"capability": "PSU", "quantity": 1}])
    await tasking_events.event("proposal.created", request_id=request_id)
    proposal = await proposal_for(service, request_id)

    approve = f"/v1/proposals/{proposal['id']}/approve"
    response = await service.client.post(approve, json={"reason": "Derby day"}, headers=COORDINATOR)
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["decision_reason"]) == ("APPROVED", "Derby day")
    approved = await tasking_events.event("tasking.approved", request_id=request_id)
    assert unit_ids(approved) == [unit.unit_id]
    assert approved["data"]["requesting_force"] == "west-midlands"
    again = await service.client.post(approve, json={"reason": "twice"}, headers=COORDINATOR)
    assert again.status_code == 409


async def test_a_rejection_needs_a_reason_and_is_announced(
    service: RunningService, publisher: Publisher, tasking_events: TopicProbe
) -> None:
    await declare(service, publisher, unit_state("staffordshire", STAFFORD))
    request_id = await submit(publisher, needs=[{"capability": "PSU", "quantity": 1}])
    await tasking_events.event("proposal.created", request_id=request_id)
    reject = f"/v1/proposals/{(await proposal_for(service, request_id))['id']}/reject"

    missing = await service.client.post(reject, json={}, headers=COORDINATOR)
    assert missing.status_code == 422
    assert missing.json()["detail"].startswith("body.reason")
    response = await service.client.post(reject, json={"reason": "too far"}, headers=COORDINATOR)
    assert response.json()["status"] == "REJECTED"
    rejected = await tasking_events.event("tasking.rejected", request_id=request_id)
    assert rejected["data"]["reason"] == "too far"


async def test_only_coordinators_decide(
    service: RunningService, publisher: Publisher, tasking_events: TopicProbe
) -> None:
    await declare(service, publisher, unit_state("staffordshire", STAFFORD))
    request_id = await submit(publisher, needs=[{"capability": "PSU", "quantity": 1}])
    await tasking_events.event("proposal.created", request_id=request_id)
    approve = f"/v1/proposals/{(await proposal_for(service, request_id))['id']}/approve"

    operator = bearer(Role.OPERATOR, force="west-midlands")
    assert (await service.client.post(approve, json={}, headers=operator)).status_code == 403
    anonymous = await service.client.post(approve, json={})
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    forged = {"Authorization": "Bearer not.a.jwt"}
    assert (await service.client.post(approve, json={}, headers=forged)).status_code == 401
    assert (await proposal_for(service, request_id))["status"] == "PENDING"


async def test_a_rejected_commit_is_replanned_without_the_unit_that_failed(
    service: RunningService, publisher: Publisher, tasking_events: TopicProbe
) -> None:
    taken, spare = unit_state("staffordshire", STAFFORD), unit_state("west-mercia", WORCESTER)
    await declare(service, publisher, taken, spare)
    request_id = await submit(publisher, needs=[{"capability": "PSU", "quantity": 1}])
    first = await tasking_events.event("proposal.created", request_id=request_id)
    await service.client.post(f"/v1/proposals/{first['data']['proposal_id']}/approve", json={}, headers=COORDINATOR)

    failure = CommitFailure(unit_id=taken.unit_id, rule="available", reason="unit is COMMITTED to another request")
    data = CommitRejected(request_id=request_id, proposal_id=first["data"]["proposal_id"], failures=[failure])
    await publisher.event(new_event(data, source="/test/availability"), data)

    superseded = await tasking_events.event("proposal.superseded", request_id=request_id)
    replacement = await tasking_events.event(
        "proposal.created",
        request_id=request_id,
        where=lambda data: data["proposal_id"] != first["data"]["proposal_id"],
    )
    assert superseded["data"]["proposal_id"] == first["data"]["proposal_id"]
    assert superseded["data"]["superseded_by"] == replacement["data"]["proposal_id"]
    assert taken.unit_id in superseded["data"]["reason"]
    assert unit_ids(replacement) == [spare.unit_id]
    statuses = [
        p["status"]
        for p in (await service.client.get(f"/v1/proposals?request_id={request_id}", headers=COORDINATOR)).json()[
            "items"
        ]
    ]
    assert statuses == ["SUPERSEDED", "PENDING"]


async def test_a_proposal_explains_each_unit_chosen_and_left_out(
    service: RunningService, publisher: Publisher, tasking_events: TopicProbe
) -> None:
    host = unit_state("west-midlands", {"lat": 52.51, "lon": -1.88})
    near, far = unit_state("staffordshire", WOLVERHAMPTON), unit_state("west-mercia", WORCESTER)
    home_only = unit_state("warwickshire", STAFFORD, scope="FORCE")
    await declare(service, publisher, host, near, far, home_only)
    request_id = await submit(publisher, needs=[{"capability": "PSU", "quantity": 1}])
    proposed = await tasking_events.event("proposal.created", request_id=request_id)

    response = await service.client.get(
        f"/v1/proposals/{proposed['data']['proposal_id']}/explanation", headers=COORDINATOR
    )
    explanation = response.json()
    assert (explanation["planner"], explanation["tier"], explanation["rule_set"]) == (
        "optimal-flow",
        "REGIONAL",
        RULE_SET_VERSION,
    )
    travel = explanation["parameters"]["travel"]
    assert (travel["road_factor"], travel["convoy_speed_kmh"], travel["boarding_minutes"]) == (1.3, 80.0, 60.0)
    assert ["Cairnryan-Belfast", [54.976, -5.018], [54.623, -5.895], 135.0] in travel["crossings"]
    assert explanation["parameters"]["solver"]["cp_sat_workers"] == 1
    assert len(explanation["inputs_digest"]) == 64
    [chosen] = explanation["chosen"]
    assert chosen["unit_id"] == near.unit_id
    assert chosen["score"] == chosen["eta_minutes"]
    reasons = {item["unit_id"]: item["reason"] for item in explanation["excluded"]}
    assert reasons == {host.unit_id: "HOST_FORCE", far.unit_id: "NOT_NEEDED", home_only.unit_id: "SCOPE"}
