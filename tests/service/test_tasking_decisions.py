"""Tasking decisions when several coordinators and planning runs act at once, on SQLite and PostgreSQL.

The races are made deterministic (tests.support.interleave): the other actor's decision is committed
by a second tasking replica just before the first actor writes what it decided on stale reads.
"""

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from services.tasking import commands
from services.tasking.deps import TaskingDeps
from services.tasking.models import Proposal
from services.tasking.planning import PLANNING_LOCK_KEY
from shared.auth import Principal, Role
from shared.events import TaskingApproved
from tests.support.harness import Harness, database_urls, harness
from tests.support.interleave import before_first_write, in_another_replica
from tests.support.steps import (
    NATIONAL,
    checked,
    coordinator,
    decide,
    declare,
    pending,
    proposals,
    request_status,
    stand_down,
    submit,
    unit,
)

WEST_MIDLANDS = coordinator("West Midlands")
NATIONAL_COORDINATOR = Principal(sub="npocc-duty-officer", role=Role.NATIONAL_COORDINATOR)


async def proposed(h: Harness, force: str, capability: str, *, priority: str = "P2") -> tuple[str, dict[str, Any]]:
    request_id = await submit(h, force, capability, priority=priority)
    await h.plan()
    await h.deliver()
    return request_id, await pending(h, request_id)


def replica_decides(h: Harness, verb: str, proposal_id: str) -> Any:
    """A national coordinator's decision, taken on another tasking replica (thread, loop and engine of its own)."""

    async def act(deps: TaskingDeps) -> Proposal:
        if verb == "approve":
            return await commands.approve(proposal_id, principal=NATIONAL_COORDINATOR, reason="elsewhere", deps=deps)
        return await commands.reject(
            proposal_id, principal=NATIONAL_COORDINATOR, reason="elsewhere", deps=deps, end_request=True
        )

    url = str(h.nodes["tasking"].runtime.settings.database_url)
    return lambda: in_another_replica(url, act)


def tasking_engine(h: Harness) -> Any:
    return h.nodes["tasking"].runtime.engine


async def test_an_approval_landing_while_a_planning_run_reads_is_kept_and_its_unit_not_offered_again(
    system: Harness,
) -> None:
    pom = await declare(system, "staffordshire", "POM")
    planned, proposal = await proposed(system, "west-midlands", "POM", priority="P3")
    urgent = await submit(system, "west-midlands", "POM", priority="P1")

    with before_first_write(tasking_engine(system), replica_decides(system, "approve", proposal["id"])) as other:
        await system.plan()
    assert isinstance(other[0], Proposal), other
    [kept] = await proposals(system, planned)
    assert (kept["id"], kept["status"], kept["superseded_by"]) == (proposal["id"], "APPROVED", None)
    assert await proposals(system, urgent) == []

    await system.deliver()
    assert (await unit(system, pom))["committed_to"] == planned
    assert await request_status(system, planned) == "MOBILISED"
    assert await request_status(system, urgent) == "UNFILLED"
    checked(await stand_down(system, planned, "west-midlands"), 200)
    await system.deliver()
    assert (await unit(system, pom))["status"] == "AVAILABLE"


async def test_approving_a_proposal_superseded_meanwhile_is_refused_with_its_current_state(system: Harness) -> None:
    pom = await declare(system, "staffordshire", "POM")
    planned, proposal = await proposed(system, "west-midlands", "POM", priority="P3")
    urgent = await submit(system, "west-midlands", "POM", priority="P1")
    await system.plan()

    refused = await decide(system, "approve", proposal["id"], NATIONAL)
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["current"]["status"] == "SUPERSEDED"
    await system.deliver()
    assert (await unit(system, pom))["status"] == "AVAILABLE"
    assert [p["status"] for p in await proposals(system, planned)] == ["SUPERSEDED"]
    assert [p["allocations"][0]["unit_id"] for p in await proposals(system, urgent)] == [pom]


@pytest.mark.parametrize(("first", "second"), [("approve", "reject"), ("reject", "approve"), ("approve", "approve")])
async def test_of_two_decisions_racing_on_one_proposal_only_the_first_to_commit_counts(
    system: Harness, first: str, second: str
) -> None:
    await declare(system, "staffordshire", "PSU")
    request_id, proposal = await proposed(system, "west-midlands", "PSU")

    with before_first_write(tasking_engine(system), replica_decides(system, first, proposal["id"])) as other:
        late = await decide(system, second, proposal["id"], WEST_MIDLANDS)
    assert isinstance(other[0], Proposal), other
    assert late.status_code == 409, late.text
    assert late.json()["current"]["decided_by"] == NATIONAL_COORDINATOR.sub

    won = "APPROVED" if first == "approve" else "REJECTED"
    [decided] = await proposals(system, request_id)
    assert decided["status"] == won
    await system.deliver()
    approvals = [data for _, data in system.delivered if isinstance(data, TaskingApproved)]
    assert len(approvals) == (1 if first == "approve" else 0)
    assert await request_status(system, request_id) == ("MOBILISED" if first == "approve" else "REJECTED")


async def test_decisions_sent_at_the_same_moment_have_one_winner(system: Harness) -> None:
    for _ in range(4):
        await declare(system, "staffordshire", "PSU")
        request_id, proposal = await proposed(system, "west-midlands", "PSU")
        answers = await asyncio.gather(
            decide(system, "approve", proposal["id"], WEST_MIDLANDS),
            decide(system, "reject", proposal["id"], NATIONAL, end_request=True),
            decide(system, "approve", proposal["id"], NATIONAL),
        )
        assert sorted(answer.status_code for answer in answers) == [200, 409, 409], [a.text for a in answers]
        winner = next(answer for answer in answers if answer.status_code == 200).json()
        [decided] = await proposals(system, request_id)
        assert decided["status"] == winner["status"]


async def test_a_national_proposal_is_decided_only_by_a_national_coordinator_whatever_the_lending_region(
    system: Harness,
) -> None:
    await declare(system, "staffordshire", "MOUNTED")
    request_id, proposal = await proposed(system, "greater-manchester", "MOUNTED")
    assert proposal["tier"] == "NATIONAL"
    for headers in (WEST_MIDLANDS, coordinator("North West")):
        for verb in ("approve", "reject"):
            refused = await decide(system, verb, proposal["id"], headers)
            assert refused.status_code == 403
            assert "needs a national coordinator" in refused.json()["detail"]
    trail = checked(await system.client("tasking").get(f"/v1/audit?request_id={request_id}", headers=NATIONAL), 200)
    assert [entry["action"] for entry in trail["items"]].count("refused") == 4
    assert (await pending(system, request_id))["id"] == proposal["id"]
    checked(await decide(system, "approve", proposal["id"], NATIONAL), 200)


async def test_a_regional_proposal_is_decided_by_a_coordinator_of_the_host_region(system: Harness) -> None:
    await declare(system, "staffordshire", "PSU")
    _, proposal = await proposed(system, "west-midlands", "PSU")
    assert proposal["tier"] == "REGIONAL"
    refused = await decide(system, "approve", proposal["id"], coordinator("North West"))
    assert refused.status_code == 403
    assert "a coordinator of West Midlands or a national coordinator can" in refused.json()["detail"]
    checked(await decide(system, "approve", proposal["id"], WEST_MIDLANDS), 200)


async def test_a_unit_stood_down_is_proposed_again_for_the_next_request(system: Harness) -> None:
    pom = await declare(system, "staffordshire", "POM")
    first, proposal = await proposed(system, "west-midlands", "POM", priority="P3")
    checked(await decide(system, "approve", proposal["id"], WEST_MIDLANDS), 200)
    await system.deliver()
    assert await request_status(system, first) == "MOBILISED"
    checked(await stand_down(system, first, "west-midlands"), 200)
    await system.deliver()
    assert await request_status(system, first) == "CLOSED"

    _, again = await proposed(system, "west-midlands", "POM")
    assert [allocation["unit_id"] for allocation in again["allocations"]] == [pom]


async def test_a_rejected_proposal_leaves_the_request_going_while_another_of_it_is_pending(system: Harness) -> None:
    await declare(system, "warwickshire", "PSU")
    await declare(system, "merseyside", "PSU")
    request_id = await submit(system, "west-midlands", "PSU", quantity=2)
    await system.plan()
    await system.deliver()
    regional, national = await proposals(system, request_id)
    assert (regional["tier"], national["tier"]) == ("REGIONAL", "NATIONAL")
    checked(await decide(system, "reject", regional["id"], WEST_MIDLANDS), 200)
    await system.deliver()
    assert await request_status(system, request_id) == "PROPOSED"
    checked(await decide(system, "approve", national["id"], NATIONAL), 200)
    await system.deliver()
    assert await request_status(system, request_id) in ("PARTIALLY_FILLED", "MOBILISED")
    checked(await stand_down(system, request_id, "west-midlands"), 200)


async def test_one_planning_run_at_a_time_across_replicas_on_postgresql(tmp_path: Path, postgres_server: str) -> None:
    """While a run plans, another replica cannot take the planning lock; once it committed, it can."""

    async def try_lock(deps: TaskingDeps) -> bool:
        async with deps.sessions() as session:
            connection = await session.connection()
            taken = await connection.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": PLANNING_LOCK_KEY})
            return bool(taken.scalar_one())

    async with database_urls("postgresql", tmp_path, postgres_server) as urls, harness(urls) as system:
        await declare(system, "staffordshire", "PSU")
        await submit(system, "west-midlands", "PSU")
        with before_first_write(tasking_engine(system), lambda: in_another_replica(urls["tasking"], try_lock)) as other:
            assert await system.plan() == 1
        assert other == [False]
        assert in_another_replica(urls["tasking"], try_lock) is True


async def test_a_unit_refused_for_one_request_is_still_offered_to_another_planned_with_it(system: Harness) -> None:
    await declare(system, "warwickshire", "PSU")
    await declare(system, "merseyside", "PSU")
    await declare(system, "greater-manchester", "PSU")
    first = await submit(system, "west-midlands", "PSU", quantity=2)
    await system.plan()
    await system.deliver()
    national = next(p for p in await proposals(system, first) if p["tier"] == "NATIONAL")
    [refused] = [allocation["unit_id"] for allocation in national["allocations"]]
    checked(await decide(system, "reject", national["id"], NATIONAL), 200)
    second = await submit(system, "staffordshire", "PSU")  # planned in the same run as the first's new plan

    await system.plan()
    await system.deliver()
    again = [a["unit_id"] for p in await proposals(system, first, "PENDING") for a in p["allocations"]]
    assert refused not in again
    assert [a["unit_id"] for a in (await pending(system, second))["allocations"]] == [refused]
