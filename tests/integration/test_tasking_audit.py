"""The tasking audit trail: decisions and refusals, chained by hash, and tampering found."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text, update
from sqlmodel import col, select
from typer.testing import CliRunner, Result

from mutualaid.cli import app
from services.tasking import audit_store
from services.tasking.audit import GENESIS, entry_hash
from services.tasking.audit_archive import read_checkpoints
from services.tasking.models import AuditEntry, AuditHead
from shared.auth import Role
from shared.events import AUDIT_TOPIC, TASKING_TOPIC, AuditCheckpointed
from shared.settings import CommonSettings
from tests.integration.test_tasking_service import COORDINATOR, STAFFORD, declare, submit, unit_state
from tests.support.builders import bearer, token
from tests.support.kafka import Publisher, TopicProbe
from tests.support.services import RunningService, eventually, running_service

AUDITOR = bearer(Role.AUDITOR)
CHECKPOINTED = AuditCheckpointed.cloudevent_type()


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


async def verify_with_the_cli(database_url: str, kafka: CommonSettings, *options: str) -> Result:
    """`mutualaid audit verify` on the tasking database, against the checkpoints on the test's broker (and no
    archive but one the options name: a `mutualaid run` state directory in the working directory is not read)."""
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka.kafka_bootstrap_servers,
        "KAFKA_NAMESPACE": kafka.kafka_namespace,
        "MUTUALAID_STATE_DIR": "/nonexistent/mutualaid-state",
    }
    cli = ["audit", "verify", "--database-url", database_url, *options]
    return await asyncio.to_thread(lambda: CliRunner().invoke(app, cli, env=env))  # the CLI runs its own event loop


async def rewrite_from(service: RunningService, seq: int) -> None:
    """Change entry `seq` and recompute every hash after it, as someone without the audit key would (plain
    SHA-256), keeping each entry's key version and moving the head."""
    async with service.runtime.sessions() as session:
        rows = list((await session.exec(select(AuditEntry).order_by(col(AuditEntry.seq)))).all())
        previous = rows[seq - 2].hash if seq > 1 else GENESIS
        for row in rows[seq - 1 :]:
            row.actor = "someone-else" if row.seq == seq else row.actor
            row.previous_hash, row.hash = previous, entry_hash(previous, audit_store.body_of(row), None)
            previous = row.hash
            session.add(row)
        await session.exec(update(AuditHead).values(hash=previous))
        await session.commit()


ONE_BYTE = "UPDATE audit_entry SET actor = 'X' || actor WHERE seq = 2"
HEAD_BACK = "UPDATE audit_head SET seq = 2, hash = (SELECT hash FROM audit_entry WHERE seq = 2)"
SWAP = ("UPDATE audit_entry SET seq = -2 WHERE seq = 2", "UPDATE audit_entry SET seq = 2 WHERE seq = 3")
TAMPERS = {  # what is done to a trail of 4 entries, the first entry it breaks, and why
    "one byte changed": ([ONE_BYTE], 2, "its content does not match its hash"),
    "a middle entry deleted": (["DELETE FROM audit_entry WHERE seq = 2"], 2, "entry 2 is missing"),
    "the newest entries deleted and the head moved back": (
        ["DELETE FROM audit_entry WHERE seq >= 3", HEAD_BACK],
        3,
        "entries 3..4 are missing: a checkpoint records 4",
    ),
    "two entries swapped": (
        [*SWAP, "UPDATE audit_entry SET seq = 3 WHERE seq = -2"],
        2,
        "its previous_hash is not the hash of the entry before it",
    ),
    "rewritten from an entry on, without the key": ([], 2, "its content does not match its hash"),
}


@pytest.mark.parametrize("tamper", TAMPERS)
async def test_each_kind_of_tampering_is_found_and_the_first_bad_entry_named(
    service: RunningService, kafka: CommonSettings, database_url: str, tamper: str
) -> None:
    for _ in range(4):
        await proposed_request(service, kafka)
    intact = await verify_with_the_cli(database_url, kafka)
    assert (intact.exit_code, intact.output.strip()) == (
        0,
        "audit trail intact: 4 entries, 4 checkpoints hold (from the broker)",
    )

    statements, first_bad, reason = TAMPERS[tamper]
    async with service.runtime.engine.begin() as connection:
        for statement in statements:
            await connection.execute(text(statement))
    if not statements:
        await rewrite_from(service, 2)

    result = await verify_with_the_cli(database_url, kafka)
    assert result.exit_code == 1
    assert f"audit trail BROKEN at entry {first_bad}: {reason}" in result.output


async def test_deleted_newest_entries_are_found_against_an_exported_checkpoint_file(
    service: RunningService, kafka: CommonSettings, database_url: str, tmp_path: Path
) -> None:
    for _ in range(3):
        await proposed_request(service, kafka)
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka.kafka_bootstrap_servers, "KAFKA_NAMESPACE": kafka.kafka_namespace}
    exported = await asyncio.to_thread(lambda: CliRunner().invoke(app, ["audit", "checkpoints"], env=env))
    assert exported.exit_code == 0
    (tmp_path / "checkpoints.jsonl").write_text(exported.output)
    async with service.runtime.engine.begin() as connection:
        await connection.execute(text("DELETE FROM audit_entry WHERE seq = 3"))
        await connection.execute(text("UPDATE audit_head SET seq = 2"))

    offline = ["--no-broker", "--checkpoints", str(tmp_path / "checkpoints.jsonl")]
    result = await verify_with_the_cli(database_url, kafka, *offline)
    assert result.exit_code == 1
    assert "BROKEN at entry 3: entries 3..3 are missing: a checkpoint records 3" in result.output
    chain_alone = await verify_with_the_cli(database_url, kafka, "--no-broker")
    assert (chain_alone.exit_code, chain_alone.output.strip()) == (
        0,
        "audit trail intact: 2 entries, 0 checkpoints hold (from none given)",
    )


async def test_the_archive_keeps_the_checkpoints_the_broker_carried_so_deleted_newest_entries_are_found(
    database_url: str, kafka: CommonSettings, tmp_path: Path
) -> None:
    """Someone who can write to the database deletes the newest entries, moves the head back and deletes the outbox
    rows of their checkpoints (a broker that comes back empty is then sent a history without them): the archive
    the tasking service kept from the broker still names the first missing entry."""
    archive = tmp_path / "audit-checkpoints.jsonl"
    async with running_service("tasking", database_url=database_url, kafka=kafka, audit_archive=archive) as service:
        for _ in range(4):
            await proposed_request(service, kafka)
        await eventually(lambda: _archived(archive, 4))
        async with service.runtime.engine.begin() as connection:
            await connection.execute(text("DELETE FROM audit_entry WHERE seq >= 3"))
            await connection.execute(text(HEAD_BACK))
            await connection.execute(text("DELETE FROM outbox WHERE event_type = :type"), {"type": CHECKPOINTED})
        answer = (await service.client.get("/v1/audit/verify", headers=AUDITOR)).json()
        assert (answer["intact"], answer["first_broken"]) == (False, 3), answer

    result = await verify_with_the_cli(database_url, kafka, "--no-broker", "--checkpoints", str(archive))
    assert result.exit_code == 1, result.output
    assert "BROKEN at entry 3: entries 3..4 are missing: a checkpoint records 4" in result.output
    assert len(archive.read_text().splitlines()) == 4, "each checkpoint once, however often it was read"


async def _archived(archive: Path, seq: int) -> bool:
    return archive.exists() and any(mark.seq == seq for mark in read_checkpoints(archive))


async def test_only_auditors_and_coordinators_read_the_trail(service: RunningService, kafka: CommonSettings) -> None:
    operator = bearer(Role.OPERATOR, force="west-midlands")
    assert (await service.client.get("/v1/audit", headers=operator)).status_code == 403
    assert (await service.client.get("/v1/audit", headers=AUDITOR)).status_code == 200
    request_id = await proposed_request(service, kafka)  # of West Midlands
    of_request = f"/v1/audit?request_id={request_id}"
    assert (await service.client.get(of_request, headers=COORDINATOR)).status_code == 200
    assert (await service.client.get("/v1/audit", headers=COORDINATOR)).status_code == 403  # the whole trail
    elsewhere = bearer(Role.COORDINATOR, region="South West")
    assert (await service.client.get(of_request, headers=elsewhere)).status_code == 403


async def test_decisions_racing_each_leave_a_checkpoint_that_holds(
    service: RunningService, kafka: CommonSettings, database_url: str
) -> None:
    request_id = await proposed_request(service, kafka)
    approve = f"/v1/proposals/{await proposal_id_of(service, request_id)}/approve"
    operators = [  # twelve people: a refusal is recorded once per person and resource
        {"Authorization": f"Bearer {token(Role.OPERATOR, force='west-midlands', sub=f'operator-{n}')}"}
        for n in range(12)
    ]
    racing = [service.client.post(approve, json={}, headers=operator) for operator in operators]
    racing.append(service.client.post(approve, json={"reason": "agreed"}, headers=COORDINATOR))
    answers = sorted(response.status_code for response in await asyncio.gather(*racing))
    assert answers == [200] + [403] * 12

    async with TopicProbe(kafka, AUDIT_TOPIC) as probe:  # every transaction's checkpoint reached the broker
        await probe.event("audit.checkpointed", seq=14)
    result = await verify_with_the_cli(database_url, kafka)
    assert (result.exit_code, result.output.strip()) == (
        0,
        "audit trail intact: 14 entries, 14 checkpoints hold (from the broker)",
    )


def test_verify_on_a_database_that_is_not_tasking_s_says_so_in_one_line(tmp_path: Path) -> None:
    other = f"sqlite+aiosqlite:///{tmp_path / 'requests.db'}"
    cli = ["audit", "verify", "--no-broker", "--database-url", other]
    result = CliRunner().invoke(app, cli, env={"MUTUALAID_STATE_DIR": str(tmp_path)})
    assert result.exit_code == 2
    assert result.output.strip() == (
        "cannot read the audit trail (no such table: audit_head); is it the tasking database?"
    ), result.output
