"""The whole request lifecycle through the requests service, on SQLite and on PostgreSQL."""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from shared.auth import Role
from shared.cloudevents import EventData, new_event
from shared.events import (
    REQUESTS_TOPIC,
    Allocation,
    CommitFailure,
    CommitRejected,
    MatchingStarted,
    ProposalCreated,
    ProposalSuperseded,
    RequestEscalated,
    Shortfall,
    TaskingApproved,
    TaskingStoodDown,
    Tier,
    UnitsCommitted,
    UnitsReleased,
    UnitState,
)
from shared.settings import CommonSettings
from shared.vocabulary import Capability
from tests.support.builders import SOON, bearer, request_body, token
from tests.support.kafka import Publisher, TopicProbe
from tests.support.services import RunningService, eventually, running_service

OPERATOR = bearer(Role.OPERATOR, force="west-midlands")
UNIT = Allocation(unit_id="u1", force="staffordshire", capability=Capability.PSU, eta_minutes=80, distance_km=60)
SHORT = Shortfall(capability=Capability.PSU, quantity=1, reason="no other PSU of the region is free")


@pytest.fixture
async def service(database_url: str, kafka: CommonSettings) -> AsyncIterator[RunningService]:
    async with running_service("requests", database_url=database_url, kafka=kafka) as running:
        yield running


@pytest.fixture
async def publisher(kafka: CommonSettings) -> AsyncIterator[Publisher]:
    async with Publisher(kafka) as publisher:
        yield publisher


async def test_an_escalated_request_is_proposed_again_by_national_planning(
    service: RunningService, publisher: Publisher
) -> None:
    request_id = await submit(service)
    regional = proposal(request_id, unfilled=[SHORT])
    await deliver(publisher, MatchingStarted(request_id=request_id), regional)
    await reaches(service, request_id, "PROPOSED")
    await deliver(publisher, RequestEscalated(request_id=request_id, shortfall=[SHORT]))
    await reaches(service, request_id, "ESCALATED")
    await deliver(publisher, proposal(request_id, tier=Tier.NATIONAL))
    await reaches(service, request_id, "PROPOSED")

    timeline = await timeline_of(service, request_id)
    assert [(e["status"], e["event_type"]) for e in timeline] == [
        ("SUBMITTED", "request.submitted"),
        ("MATCHING", "matching.started"),
        ("PROPOSED", "proposal.created"),
        ("ESCALATED", "request.escalated"),
        ("PROPOSED", "proposal.created"),
    ]
    assert timeline[3]["detail"] == "national planning for 1 PSU"


async def test_a_partial_approval_leaves_the_request_partially_filled_once_its_units_are_committed(
    service: RunningService, publisher: Publisher
) -> None:
    request_id = await submit(service)
    proposed = proposal(request_id, unfilled=[SHORT])
    await deliver(publisher, proposed, approval(proposed, partial=True))
    await reaches(service, request_id, "PARTIALLY_FILLED")
    await deliver(publisher, committed(proposed))
    await eventually(lambda: has_event(service, request_id, "units.committed"))

    assert await status_of(service, request_id) == "PARTIALLY_FILLED"
    timeline = await timeline_of(service, request_id)
    assert [(e["status"], e["event_type"]) for e in timeline] == [
        ("SUBMITTED", "request.submitted"),
        ("PROPOSED", "proposal.created"),
        ("PARTIALLY_FILLED", "tasking.approved"),
        ("MOBILISED", "units.committed"),  # what the event stands for: the approved units are mobilised
    ]
    assert timeline[2]["detail"].startswith("partially approved by coordinator")
    assert timeline[3]["detail"] == "1 unit(s) committed: u1"


async def test_the_approval_of_the_rest_mobilises_a_partially_filled_request_even_after_its_commit(
    service: RunningService, publisher: Publisher
) -> None:
    request_id = await submit(service)
    regional, national = proposal(request_id, unfilled=[SHORT]), proposal(request_id, tier=Tier.NATIONAL)
    await deliver(publisher, regional, national, approval(regional, partial=True))
    await reaches(service, request_id, "PARTIALLY_FILLED")
    await deliver(publisher, committed(regional), committed(national))  # the national commit overtakes its approval
    await eventually(lambda: count_events(service, request_id, "units.committed", 2))
    assert await status_of(service, request_id) == "PARTIALLY_FILLED"

    await deliver(publisher, approval(national))
    await reaches(service, request_id, "MOBILISED")


async def test_a_stood_down_request_closes_once_its_units_are_released(
    service: RunningService, publisher: Publisher
) -> None:
    request_id = await submit(service)
    proposed = proposal(request_id)
    await deliver(publisher, MatchingStarted(request_id=request_id), proposed, approval(proposed))
    await reaches(service, request_id, "APPROVED")
    await deliver(publisher, committed(proposed))
    await reaches(service, request_id, "MOBILISED")
    await deliver(publisher, TaskingStoodDown(request_id=request_id, stood_down_by="host", reason="match over"))
    await reaches(service, request_id, "STOOD_DOWN")
    await deliver(publisher, UnitsReleased(request_id=request_id, units=[unit_state(request_id, committed_to=None)]))
    await reaches(service, request_id, "CLOSED")

    timeline = await timeline_of(service, request_id)
    assert [(e["status"], e["event_type"]) for e in timeline] == [
        ("SUBMITTED", "request.submitted"),
        ("MATCHING", "matching.started"),
        ("PROPOSED", "proposal.created"),
        ("APPROVED", "tasking.approved"),
        ("MOBILISED", "units.committed"),
        ("STOOD_DOWN", "tasking.stood_down"),
        ("CLOSED", "units.released"),
    ]
    assert [e["detail"] for e in timeline[-2:]] == ["stood down by host: match over", "1 unit(s) released: u1"]


async def test_a_release_that_overtakes_its_stand_down_closes_the_request_when_the_stand_down_arrives(
    service: RunningService, publisher: Publisher
) -> None:
    request_id = await submit(service)
    proposed = proposal(request_id)
    await deliver(publisher, proposed, approval(proposed))
    await reaches(service, request_id, "APPROVED")
    await deliver(publisher, committed(proposed))
    await reaches(service, request_id, "MOBILISED")
    await deliver(publisher, UnitsReleased(request_id=request_id, units=[unit_state(request_id, committed_to=None)]))
    await eventually(lambda: has_event(service, request_id, "units.released"))
    assert await status_of(service, request_id) == "MOBILISED"  # units.released closes only a stood-down request

    await deliver(publisher, TaskingStoodDown(request_id=request_id, stood_down_by="host"))
    await reaches(service, request_id, "CLOSED")


async def test_a_superseded_proposal_returns_the_request_to_matching_until_the_next_proposal(
    service: RunningService, publisher: Publisher
) -> None:
    request_id = await submit(service)
    first, second = proposal(request_id), proposal(request_id)
    await deliver(publisher, first)
    await reaches(service, request_id, "PROPOSED")
    superseded = ProposalSuperseded(
        request_id=request_id, proposal_id=first.proposal_id, superseded_by=None, reason="unit taken by a P1 request"
    )
    await deliver(publisher, superseded)
    await reaches(service, request_id, "MATCHING")
    await deliver(publisher, second)
    await reaches(service, request_id, "PROPOSED")

    timeline = await timeline_of(service, request_id)
    assert [(e["status"], e["event_type"]) for e in timeline] == [
        ("SUBMITTED", "request.submitted"),
        ("PROPOSED", "proposal.created"),
        ("MATCHING", "proposal.superseded"),
        ("PROPOSED", "proposal.created"),
    ]
    assert timeline[2]["detail"] == f"proposal {first.proposal_id} superseded: unit taken by a P1 request"


async def test_an_approved_proposal_superseded_by_a_new_one_returns_the_request_to_matching_then_proposed(
    service: RunningService, publisher: Publisher
) -> None:
    request_id = await submit(service)
    first, second = proposal(request_id), proposal(request_id)
    await deliver(publisher, first, approval(first))
    await reaches(service, request_id, "APPROVED")
    await deliver(publisher, replaced(first, by=second))
    await reaches(service, request_id, "MATCHING")
    await deliver(publisher, second)
    await reaches(service, request_id, "PROPOSED")

    timeline = await timeline_of(service, request_id)
    assert [e["event_type"] for e in timeline][-2:] == ["proposal.superseded", "proposal.created"]
    assert timeline[-2]["detail"] == f"proposal {first.proposal_id} superseded by {second.proposal_id}: re-planned"


async def test_a_rejected_commit_that_arrives_after_its_re_plan_is_recorded_but_moves_nothing(
    service: RunningService, publisher: Publisher
) -> None:
    request_id = await submit(service)
    first, second = proposal(request_id), proposal(request_id)
    await deliver(publisher, first, approval(first))
    await reaches(service, request_id, "APPROVED")
    # tasking's re-plan (the new proposal first, as tasking publishes them) overtakes the commit.rejected behind it
    await deliver(publisher, second, replaced(first, by=second))
    await eventually(lambda: has_event(service, request_id, "proposal.superseded"))
    assert await status_of(service, request_id) == "PROPOSED"
    failure = CommitFailure(unit_id="u1", rule="reserve", reason="would leave Staffordshire below its reserve")
    await deliver(publisher, CommitRejected(request_id=request_id, proposal_id=first.proposal_id, failures=[failure]))
    await eventually(lambda: has_event(service, request_id, "commit.rejected"))

    assert await status_of(service, request_id) == "PROPOSED"
    timeline = await timeline_of(service, request_id)
    assert [e["event_type"] for e in timeline][-1] == "commit.rejected"
    assert timeline[-1]["detail"] == "u1: would leave Staffordshire below its reserve"


async def test_the_requesting_force_cancels_its_request_and_tasking_is_told(
    service: RunningService, publisher: Publisher, kafka: CommonSettings
) -> None:
    request_id = await submit(service)
    await deliver(publisher, proposal(request_id))
    await reaches(service, request_id, "PROPOSED")
    operator = {"Authorization": f"Bearer {token(Role.OPERATOR, force='west-midlands', sub='wm-operator-7')}"}

    response = await cancel(service, request_id, operator, reason="Fixture postponed")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "CANCELLED"
    assert response.json()["version"] == 3
    async with TopicProbe(kafka, REQUESTS_TOPIC) as probe:
        event = await probe.event("request.cancelled", request_id=request_id)
    assert event["subject"] == request_id
    assert event["data"] == {"request_id": request_id, "cancelled_by": "wm-operator-7", "reason": "Fixture postponed"}

    await deliver(publisher, proposal(request_id))  # late: recorded, but a cancelled request stays cancelled
    await eventually(lambda: count_events(service, request_id, "proposal.created", 2))
    assert await status_of(service, request_id) == "CANCELLED"
    timeline = await timeline_of(service, request_id)
    cancelled = [e for e in timeline if e["event_type"] == "request.cancelled"]
    assert cancelled == [
        {
            "at": cancelled[0]["at"],
            "status": "CANCELLED",
            "event_type": "request.cancelled",
            "detail": "cancelled by wm-operator-7: Fixture postponed",
        }
    ]


async def test_an_integration_may_cancel_for_any_force(service: RunningService) -> None:
    request_id = await submit(service)
    response = await cancel(service, request_id, bearer(Role.INTEGRATION), reason="Duplicate of another request")
    assert response.status_code == 200, response.text
    assert await status_of(service, request_id) == "CANCELLED"


async def test_an_approved_request_can_no_longer_be_cancelled(service: RunningService, publisher: Publisher) -> None:
    request_id = await submit(service)
    proposed = proposal(request_id)
    await deliver(publisher, proposed, approval(proposed))
    await reaches(service, request_id, "APPROVED")

    response = await cancel(service, request_id, OPERATOR, reason="Too late")
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"].startswith("the request is APPROVED: only a request not yet approved")
    assert await status_of(service, request_id) == "APPROVED"


async def test_a_request_re_planned_after_its_approval_can_no_longer_be_cancelled(
    service: RunningService, publisher: Publisher
) -> None:
    request_id = await submit(service)
    first, second = proposal(request_id), proposal(request_id)
    await deliver(publisher, first, approval(first))
    await reaches(service, request_id, "APPROVED")
    failure = CommitFailure(unit_id="u1", rule="reserve", reason="would leave Staffordshire below its reserve")
    await deliver(publisher, CommitRejected(request_id=request_id, proposal_id=first.proposal_id, failures=[failure]))
    await reaches(service, request_id, "MATCHING")
    await deliver(publisher, second)
    await reaches(service, request_id, "PROPOSED")

    response = await cancel(service, request_id, OPERATOR, reason="Too late")
    assert response.status_code == 409
    assert "a proposal for it was approved" in response.json()["detail"]
    assert await status_of(service, request_id) == "PROPOSED"


@pytest.mark.parametrize(
    "headers",
    [bearer(Role.OPERATOR, force="staffordshire"), bearer(Role.COORDINATOR, region="West Midlands")],
    ids=["another-force", "coordinator"],
)
async def test_only_the_requesting_force_may_cancel(service: RunningService, headers: dict[str, str]) -> None:
    request_id = await submit(service)
    response = await cancel(service, request_id, headers, reason="Not ours to cancel")
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert await status_of(service, request_id) == "SUBMITTED"


async def test_a_cancellation_needs_a_reason(service: RunningService) -> None:
    request_id = await submit(service)
    url = f"/v1/requests/{request_id}/cancel"
    for body in [{}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 2001}]:
        response = await service.client.post(url, json=body, headers=OPERATOR)
        assert response.status_code == 422, body
        assert response.headers["content-type"] == "application/problem+json"
    assert await status_of(service, request_id) == "SUBMITTED"


async def test_cancelling_an_unknown_request_is_not_found(service: RunningService) -> None:
    response = await cancel(service, str(uuid.uuid4()), OPERATOR, reason="No such request")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


# --- helpers ---------------------------------------------------------------------------------------


async def submit(service: RunningService) -> str:
    response = await service.client.post("/v1/requests", json=request_body(), headers=OPERATOR)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def cancel(service: RunningService, request_id: str, headers: dict[str, str], *, reason: str) -> Any:
    return await service.client.post(f"/v1/requests/{request_id}/cancel", json={"reason": reason}, headers=headers)


async def deliver(publisher: Publisher, *events: EventData) -> None:
    """Publish events as tasking or availability would, in this order."""
    for data in events:
        await publisher.event(new_event(data, source="/test/lifecycle"), data)


async def status_of(service: RunningService, request_id: str) -> str:
    response = await service.client.get(f"/v1/requests/{request_id}", headers=OPERATOR)
    return str(response.json()["status"])


async def reaches(service: RunningService, request_id: str, status: str) -> None:
    async def check() -> bool:
        return await status_of(service, request_id) == status

    await eventually(check)


async def timeline_of(service: RunningService, request_id: str) -> list[dict[str, Any]]:
    response = await service.client.get(f"/v1/requests/{request_id}", headers=OPERATOR)
    timeline: list[dict[str, Any]] = response.json()["timeline"]
    return timeline


async def count_events(service: RunningService, request_id: str, event_type: str, count: int) -> bool:
    return [e["event_type"] for e in await timeline_of(service, request_id)].count(event_type) == count


async def has_event(service: RunningService, request_id: str, event_type: str) -> bool:
    return await count_events(service, request_id, event_type, 1)


def proposal(
    request_id: str, *, unfilled: list[Shortfall] | None = None, tier: Tier = Tier.REGIONAL
) -> ProposalCreated:
    return ProposalCreated(
        request_id=request_id,
        proposal_id=str(uuid.uuid4()),
        allocations=[UNIT],
        unfilled=unfilled or [],
        planner="test",
        tier=tier,
    )


def replaced(old: ProposalCreated, *, by: ProposalCreated) -> ProposalSuperseded:
    return ProposalSuperseded(
        request_id=old.request_id, proposal_id=old.proposal_id, superseded_by=by.proposal_id, reason="re-planned"
    )


def approval(proposed: ProposalCreated, *, partial: bool = False) -> TaskingApproved:
    return TaskingApproved(
        request_id=proposed.request_id,
        proposal_id=proposed.proposal_id,
        requesting_force="west-midlands",
        requesting_region="West Midlands",
        start=SOON,
        end=SOON,
        allocations=proposed.allocations,
        approved_by="coordinator",
        partial=partial,
    )


def committed(proposed: ProposalCreated) -> UnitsCommitted:
    units = [unit_state(proposed.request_id, committed_to=proposed.request_id)]
    return UnitsCommitted(request_id=proposed.request_id, proposal_id=proposed.proposal_id, units=units)


def unit_state(request_id: str, *, committed_to: str | None) -> UnitState:
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
            "status": "COMMITTED" if committed_to else "AVAILABLE",
            "committed_to": committed_to,
            "version": 2 if committed_to else 3,
        }
    )
