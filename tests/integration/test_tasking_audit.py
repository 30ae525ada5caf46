"""The tasking audit trail: decisions and refusals, chained by hash, and tampering found."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from mutualaid.cli import app
from shared.auth import Role
from shared.events import TASKING_TOPIC
from shared.settings import CommonSettings
from tests.integration.test_tasking_service import COORDINATOR, STAFFORD, declare, submit, unit_state
from tests.support.builders import bearer
from tests.support.kafka import Publisher, TopicProbe
from tests.support.services import RunningService, running_service

AUDITOR = bearer(Role.AUDITOR)


@pytest.fixture
async def service(database_url: str, kafka: CommonSettings) -> AsyncIterator[RunningService]:
    async with running_service("tasking", database_url=database_url, kafka=kafka) as running:
        yield running


async def proposed_request(service: RunningService, kafka: CommonSettings, *, force: str = "staffordshire") -> str:
    """A request with one pending proposal of one unit of the given force."""
    base = STAFFORD if force == "staffordshire" else {"lat": 51.45, "lon": -2.58}
    region = "West Midlands" if force == "staffordshire" else "South West"
    async with Publisher(kafka) as publisher, TopicProbe(kafka, TASKING_TOPIC) as probe:
        await declare(service, publisher, unit_state(force, base, region=region))
        request_id = await submit(publisher, needs=[{"capability": "PSU", "quantity": 1}])
        await probe.event("proposal.created", request_id=request_id)
    return request_id


async def trail(service: RunningService, request_id: str) -> list[dict[str, Any]]:
    response = await service.client.get(f"/v1/audit?request_id={request_id}", headers=AUDITOR)
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def proposal_id_of(service: RunningService, request_id: str) -> str:
    listed = await service.client.get(f"/v1/proposals?request_id={request_id}", headers=COORDINATOR)
    return str(listed.json()["items"][0]["id"])


async def test_proposals_and_decisions_are_in_the_trail_and_it_verifies(
    service: RunningService, kafka: CommonSettings
) -> None:
    request_id = await proposed_request(service, kafka)
    proposal_id = await proposal_id_of(service, request_id)
    await service.client.post(f"/v1/proposals/{proposal_id}/approve", json={"reason": "agreed"}, headers=COORDINATOR)

    entries = await trail(service, request_id)
    assert [entry["action"] for entry in entries] == ["proposal.created", "tasking.approved"]
    assert (entries[1]["role"], entries[1]["actor"].startswith("coordinator-")) == ("coordinator", True)
    assert entries[1]["detail"] == {"reason": "agreed", "allocations": entries[0]["detail"]["allocations"]}
    assert entries[1]["previous_hash"] == entries[0]["hash"]
    verdict = (await service.client.get("/v1/audit/verify", headers=AUDITOR)).json()
    assert verdict == {"intact": True, "entries": 2, "first_broken": None, "reason": ""}


async def test_a_refused_attempt_is_in_the_trail(service: RunningService, kafka: CommonSettings) -> None:
    request_id = await proposed_request(service, kafka)
    approve = f"/v1/proposals/{await proposal_id_of(service, request_id)}/approve"
    operator = await service.client.post(approve, json={}, headers=bearer(Role.OPERATOR, force="west-midlands"))
    assert operator.status_code == 403
    [_, refused] = await trail(service, request_id)
    assert (refused["action"], refused["role"]) == ("refused", "operator")
    assert refused["detail"]["path"] == approve


async def test_a_regional_coordinator_cannot_approve_units_from_another_region(
    service: RunningService, kafka: CommonSettings
) -> None:
    request_id = await proposed_request(service, kafka, force="avon-and-somerset")
    approve = f"/v1/proposals/{await proposal_id_of(service, request_id)}/approve"
    regional = await service.client.post(approve, json={}, headers=COORDINATOR)
    assert regional.status_code == 403
    assert "cannot decide on a NATIONAL proposal; it needs a national coordinator" in regional.json()["detail"]
    actions = [entry["action"] for entry in await trail(service, request_id)]
    assert actions == ["request.escalated", "proposal.created", "refused"]
    national = await service.client.post(approve, json={}, headers=bearer(Role.NATIONAL_COORDINATOR))
    assert national.status_code == 200


async def test_changing_one_byte_of_a_stored_entry_is_found_and_named(
    service: RunningService, kafka: CommonSettings, database_url: str
) -> None:
    for _ in range(3):
        await proposed_request(service, kafka)
    async with service.runtime.engine.begin() as connection:
        actor = (await connection.execute(text("SELECT actor FROM audit_entry WHERE seq = 2"))).scalar_one()
        forged = ("X" + actor[1:]) if actor[0] != "X" else ("Y" + actor[1:])
        await connection.execute(text("UPDATE audit_entry SET actor = :actor WHERE seq = 2"), {"actor": forged})

    verdict = (await service.client.get("/v1/audit/verify", headers=AUDITOR)).json()
    assert (verdict["intact"], verdict["first_broken"]) == (False, 2)
    assert verdict["reason"] == "its content does not match its hash"
    cli = ["audit", "verify", "--database-url", database_url]
    result = await asyncio.to_thread(CliRunner().invoke, app, cli)  # the CLI runs its own event loop
    assert result.exit_code == 1
    assert "BROKEN at entry 2" in result.output


async def test_only_auditors_and_coordinators_read_the_trail(service: RunningService) -> None:
    operator = bearer(Role.OPERATOR, force="west-midlands")
    assert (await service.client.get("/v1/audit", headers=operator)).status_code == 403
    assert (await service.client.get("/v1/audit", headers=COORDINATOR)).status_code == 200
