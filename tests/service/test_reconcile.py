"""`mutualaid reconcile`: silent on a settled system, and naming each kind of disagreement when there is one."""

import asyncio
from datetime import UTC, datetime

from sqlalchemy import text
from typer.testing import CliRunner, Result

from mutualaid.cli import app
from tests.support.harness import Harness
from tests.support.steps import checked, coordinator, decide, declare, pending, stand_down, submit, unit


async def reconcile(urls: dict[str, str], *extra: str) -> Result:
    cli = [
        "reconcile",
        f"--availability-database-url={urls['availability']}",
        f"--tasking-database-url={urls['tasking']}",
        *extra,
    ]
    return await asyncio.to_thread(CliRunner().invoke, app, cli)  # the CLI runs its own event loop


async def mobilised(h: Harness) -> tuple[str, str, str]:
    """A West Midlands request for one Staffordshire PSU, approved and committed: (request, proposal, unit)."""
    unit_id = await declare(h, "staffordshire", "PSU")
    request_id = await submit(h, "west-midlands", "PSU")
    await h.plan()
    await h.deliver()
    proposal = await pending(h, request_id)
    checked(await decide(h, "approve", proposal["id"], coordinator("West Midlands")), 200)
    await h.deliver()
    return request_id, proposal["id"], unit_id


async def execute(h: Harness, service: str, sql: str, **values: object) -> None:
    async with h.nodes[service].runtime.engine.begin() as connection:
        await connection.execute(text(sql), values)


async def test_a_settled_system_reconciles(system: Harness, urls: dict[str, str]) -> None:
    await mobilised(system)
    result = await reconcile(urls)
    assert result.exit_code == 0, result.output
    assert "availability and tasking agree" in result.output


async def test_a_unit_committed_to_a_request_tasking_does_not_hold_it_for_is_named(
    system: Harness, urls: dict[str, str]
) -> None:
    await mobilised(system)
    stray = await declare(system, "warwickshire", "PSU")
    await execute(
        system,
        "availability",
        'INSERT INTO booking (unit_id, request_id, proposal_id, host_force, start, "end", created_at)'
        " VALUES (:u, 'no-such-request', '', 'west-midlands', :at, :at, :at)",
        u=stray,
        at=datetime.now(UTC),
    )
    result = await reconcile(urls)
    assert result.exit_code == 1
    assert f"not-held      {stray}: COMMITTED to no-such-request" in result.output


async def test_a_proposal_whose_status_disagrees_with_the_audit_trail_is_named(
    system: Harness, urls: dict[str, str]
) -> None:
    _, proposal_id, _ = await mobilised(system)
    await execute(system, "tasking", "UPDATE proposal SET status = 'REJECTED' WHERE id = :p", p=proposal_id)
    result = await reconcile(urls)
    assert result.exit_code == 1
    assert f"audit         {proposal_id}: the proposal is REJECTED; the audit trail says APPROVED" in result.output


async def test_units_left_committed_to_an_ended_request_are_released_by_repair(
    system: Harness, urls: dict[str, str]
) -> None:
    request_id, _, unit_id = await mobilised(system)
    checked(await stand_down(system, request_id, "west-midlands"), 200)
    await execute(system, "tasking", "UPDATE outbox SET sent_at = created_at WHERE sent_at IS NULL")  # lost

    found = await reconcile(urls)
    assert found.exit_code == 1
    assert f"ended         {unit_id}: COMMITTED to {request_id}, which tasking has STOOD_DOWN" in found.output
    assert (await unit(system, unit_id))["status"] == "COMMITTED"

    repaired = await reconcile(urls, "--repair")
    assert f"repaired      {request_id}" in repaired.output
    await system.deliver()
    assert (await unit(system, unit_id))["status"] == "AVAILABLE"
    again = await reconcile(urls)
    assert again.exit_code == 0, again.output
