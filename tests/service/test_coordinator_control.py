"""Coordinators approve part of a proposal, swap a unit, ask for a re-plan or end a request; donors answer."""

from typing import Any

from shared.auth import Role
from tests.support.builders import bearer
from tests.support.harness import Harness
from tests.support.steps import (
    AUDITOR,
    checked,
    coordinator,
    decide,
    declare,
    pending,
    proposals,
    request_status,
    submit,
)

WEST_MIDLANDS = coordinator("West Midlands")


async def three_offered(h: Harness) -> tuple[str, dict[str, Any], list[str]]:
    """A West Midlands request for 3 PSUs, proposed from Staffordshire, Warwickshire and West Mercia,
    with one more West Mercia PSU spare."""
    for force in ("staffordshire", "warwickshire", "west-mercia", "west-mercia"):
        await declare(h, force, "PSU")
    request_id = await submit(h, "west-midlands", "PSU", quantity=3)
    await h.plan()
    await h.deliver()
    proposal = await pending(h, request_id)
    return request_id, proposal, [a["unit_id"] for a in proposal["allocations"]]


def units(proposal: dict[str, Any]) -> list[str]:
    return [allocation["unit_id"] for allocation in proposal["allocations"]]


async def trail(h: Harness, request_id: str) -> list[str]:
    items = checked(await h.client("tasking").get(f"/v1/audit?request_id={request_id}", headers=AUDITOR), 200)
    return [entry["action"] for entry in items["items"]]


async def test_approving_part_of_a_proposal_commits_those_and_plans_the_rest_without_the_others(
    system: Harness,
) -> None:
    request_id, proposal, offered = await three_offered(system)
    approved = checked(await decide(system, "approve", proposal["id"], WEST_MIDLANDS, unit_ids=offered[:2]), 200)
    assert approved["passed_over"] == [offered[2]]
    assert units(approved) == offered[:2]  # what it sends; the unit left out is only in passed_over
    shown = checked(await system.client("tasking").get(f"/v1/proposals/{proposal['id']}", headers=AUDITOR), 200)
    assert units(shown) == offered[:2]
    await system.plan()
    await system.deliver()
    [rest] = await proposals(system, request_id, "PENDING")
    assert len(units(rest)) == 1
    assert offered[2] not in units(rest)
    committed = {
        u["unit_id"]
        for u in (await system.client("availability").get("/v1/units?status=COMMITTED", headers=AUDITOR)).json()[
            "items"
        ]
    }
    assert committed == set(offered[:2])
    unknown = await decide(system, "approve", rest["id"], WEST_MIDLANDS, unit_ids=["not-in-it"])
    assert unknown.status_code == 422


async def test_rejecting_a_named_unit_swaps_it_and_keeps_the_request_going(system: Harness) -> None:
    request_id, proposal, offered = await three_offered(system)
    checked(await decide(system, "reject", proposal["id"], WEST_MIDLANDS, unit_ids=[offered[0]]), 200)
    await system.plan()
    await system.deliver()
    fresh = await pending(system, request_id)
    assert offered[0] not in units(fresh)
    assert set(offered[1:]) <= set(units(fresh))
    assert await request_status(system, request_id) == "PROPOSED"


async def test_a_request_ends_only_when_the_coordinator_says_so(system: Harness) -> None:
    request_id, proposal, _ = await three_offered(system)
    checked(await decide(system, "reject", proposal["id"], WEST_MIDLANDS, end_request=True), 200)
    await system.plan()
    await system.deliver()
    assert await request_status(system, request_id) == "REJECTED"
    assert await proposals(system, request_id, "PENDING") == []


async def test_a_coordinator_can_ask_for_a_re_plan(system: Harness) -> None:
    request_id, proposal, _ = await three_offered(system)
    for verb in ("replan", "reject"):
        blank = await decide(system, verb, proposal["id"], WEST_MIDLANDS, reason="   ")
        assert blank.status_code == 422, (verb, blank.text)
    checked(await decide(system, "replan", proposal["id"], WEST_MIDLANDS), 200)
    await system.plan()
    await system.deliver()
    statuses = [p["status"] for p in await proposals(system, request_id)]
    assert statuses == ["SUPERSEDED", "PENDING"]
    assert "replan.requested" in await trail(system, request_id)


async def test_a_donor_declines_its_unit_and_the_request_is_planned_without_it(system: Harness) -> None:
    request_id, proposal, _ = await three_offered(system)
    declined = proposal["allocations"][0]
    path = f"/v1/proposals/{proposal['id']}/units/{declined['unit_id']}"
    another = bearer(Role.RESOURCE_MANAGER, force="north-wales")
    refused = await system.client("tasking").post(f"{path}/decline", json={"reason": "not ours"}, headers=another)
    assert refused.status_code == 403
    donor = bearer(Role.RESOURCE_MANAGER, force=declined["force"])
    for no_reason in ({}, {"reason": ""}, {"reason": "   "}):
        unexplained = await system.client("tasking").post(f"{path}/decline", json=no_reason, headers=donor)
        assert unexplained.status_code == 422, no_reason
    answer = checked(
        await system.client("tasking").post(
            f"{path}/decline", json={"reason": "needed at Alton Towers"}, headers=donor
        ),
        200,
    )
    assert answer["status"] == "SUPERSEDED"
    assert answer["donor_responses"][0]["accepted"] is False
    await system.plan()
    await system.deliver()
    assert declined["unit_id"] not in units(await pending(system, request_id))
    assert {"donor.declined", "refused"} <= set(await trail(system, request_id))


async def test_a_donor_accepts_and_after_approval_declines_by_recalling(system: Harness) -> None:
    request_id, proposal, _ = await three_offered(system)
    unit = proposal["allocations"][0]
    donor = bearer(Role.RESOURCE_MANAGER, force=unit["force"])
    path = f"/v1/proposals/{proposal['id']}/units/{unit['unit_id']}"
    accepted = checked(await system.client("tasking").post(f"{path}/accept", json={}, headers=donor), 200)
    assert accepted["donor_responses"][0]["accepted"] is True
    again = checked(await system.client("tasking").post(f"{path}/accept", json={}, headers=donor), 200)
    assert len(again["donor_responses"]) == 1  # said again, changes nothing
    checked(await decide(system, "approve", proposal["id"], WEST_MIDLANDS), 200)
    late = await system.client("tasking").post(f"{path}/decline", json={"reason": "changed our mind"}, headers=donor)
    assert late.status_code == 409
    assert "recall" in late.json()["detail"]
    assert (await trail(system, request_id)).count("donor.accepted") == 1
