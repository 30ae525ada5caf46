"""Planning a surge as a coordination centre would accept it: bookings in time, forces in need keep theirs."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from services.tasking import queries
from shared.cloudevents import new_event
from shared.events import Allocation, CommitRejected, TaskingApproved, UnitsCommitted
from shared.vocabulary import Capability
from tests.support.harness import Harness
from tests.support.steps import (
    NATIONAL,
    checked,
    coordinator,
    decide,
    declare,
    headquarters,
    operator,
    pending,
    proposals,
    request_status,
    stand_down,
    unit,
)

NOW = datetime.now(UTC).replace(microsecond=0)


async def ask(h: Harness, force: str, quantity: int, start: datetime, days: float, priority: str = "P2") -> str:
    body = {
        "requesting_force": force,
        "operation": f"Op {uuid.uuid4().hex[:6]}",
        "priority": priority,
        "location": headquarters(force),
        "required_by": start.isoformat(),
        "end": (start + timedelta(days=days)).isoformat(),
        "needs": [{"capability": "PSU", "quantity": quantity}],
    }
    headers = operator(force) | {"Idempotency-Key": str(uuid.uuid4())}
    request_id: str = checked(await h.client("requests").post("/v1/requests", json=body, headers=headers), 201)["id"]
    await h.deliver()
    return request_id


async def declare_for_a_year(h: Harness, force: str) -> str:
    return await declare(
        h,
        force,
        "PSU",
        available_from=(NOW - timedelta(days=1)).isoformat(),
        available_until=(NOW + timedelta(days=365)).isoformat(),
    )


def unit_ids(proposal: dict[str, Any]) -> list[str]:
    return [allocation["unit_id"] for allocation in proposal["allocations"]]


async def test_a_unit_booked_for_june_is_offered_for_tonight(system: Harness) -> None:
    psu = await declare_for_a_year(system, "staffordshire")
    june = await ask(system, "west-midlands", 1, NOW + timedelta(days=200), days=3, priority="P3")
    await system.plan()
    checked(await decide(system, "approve", (await pending(system, june))["id"], coordinator("West Midlands")), 200)
    await system.deliver()
    assert (await unit(system, psu))["bookings"][0]["request_id"] == june

    tonight = await ask(system, "warwickshire", 1, NOW + timedelta(hours=6), days=1, priority="P1")
    await system.plan()
    assert unit_ids(await pending(system, tonight)) == [psu]
    checked(await decide(system, "approve", (await pending(system, tonight))["id"], coordinator("West Midlands")), 200)
    await system.deliver()
    booked = (await unit(system, psu))["bookings"]
    assert [b["request_id"] for b in booked] == [tonight, june]
    assert await request_status(system, tonight) == "MOBILISED"


async def test_a_unit_booked_or_held_until_hours_before_a_request_is_offered_for_it(system: Harness) -> None:
    psu = await declare_for_a_year(system, "wiltshire")  # Wiltshire's only PSU
    first = await ask(system, "avon-and-somerset", 1, NOW + timedelta(days=1), days=2)
    await system.plan()
    held = await pending(system, first)
    assert unit_ids(held) == [psu]
    after_the_hold = await ask(system, "dorset", 1, NOW + timedelta(days=3, hours=12), days=0.5)
    await system.plan()
    assert unit_ids(await pending(system, after_the_hold)) == [psu]  # held for the first only until it is back

    checked(await decide(system, "approve", held["id"], coordinator("South West")), 200)
    await system.deliver()
    [booking] = (await unit(system, psu))["bookings"]
    after_the_booking = await ask(system, "devon-and-cornwall", 1, NOW + timedelta(days=3, hours=12), days=0.5)
    dorset = (await pending(system, after_the_hold))["id"]
    ended = await decide(system, "reject", dorset, coordinator("South West"), reason="covered", end_request=True)
    checked(ended, 200)
    await system.deliver()
    await system.plan()
    assert datetime.fromisoformat(booking["end"]) < NOW + timedelta(days=3, hours=12)
    assert unit_ids(await pending(system, after_the_booking)) == [psu]  # booked for the first, free again by then


async def test_two_forces_asking_at_once_keep_their_own_units_instead_of_swapping_them(system: Harness) -> None:
    for force in ("greater-manchester", "merseyside"):
        for _ in range(2):
            await declare_for_a_year(system, force)
    lancashire = [await declare_for_a_year(system, "lancashire") for _ in range(2)]
    manchester = await ask(system, "greater-manchester", 2, NOW + timedelta(hours=4), days=1, priority="P1")
    liverpool = await ask(system, "merseyside", 2, NOW + timedelta(hours=4), days=1, priority="P1")
    await system.plan()
    offered = {
        request_id: [a["force"] for p in await proposals(system, request_id) for a in p["allocations"]]
        for request_id in (manchester, liverpool)
    }
    assert "merseyside" not in offered[manchester]
    assert "greater-manchester" not in offered[liverpool]
    assert sorted(u for p in [manchester, liverpool] for u in offered[p]) == ["lancashire", "lancashire"]
    served, other_force = (manchester, "merseyside") if offered[manchester] else (liverpool, "greater-manchester")
    [proposal] = await proposals(system, served)
    explanation = checked(
        await system.client("tasking").get(f"/v1/proposals/{proposal['id']}/explanation", headers=NATIONAL), 200
    )
    reasons = {item["force"]: item["reason"] for item in explanation["excluded"]}
    assert reasons[other_force] == "IN_NEED"
    assert set(unit_ids(proposal)) == set(lancashire)


async def test_aid_is_never_committed_both_ways_between_two_forces(system: Harness) -> None:
    """Availability refuses a commit that would make a force receiving PSUs lend PSUs at the same time."""
    manchester_psu = await declare_for_a_year(system, "greater-manchester")
    merseyside_psu = await declare_for_a_year(system, "merseyside")
    await order(system, "to-manchester", "greater-manchester", merseyside_psu, "merseyside")
    await order(system, "to-merseyside", "merseyside", manchester_psu, "greater-manchester")
    await system.deliver()
    outcomes = {
        data.request_id: data for _, data in system.delivered if isinstance(data, UnitsCommitted | CommitRejected)
    }
    assert isinstance(outcomes["to-manchester"], UnitsCommitted)
    refused = outcomes["to-merseyside"]
    assert isinstance(refused, CommitRejected)
    assert [failure.rule for failure in refused.failures] == ["in_need"]
    assert (await unit(system, manchester_psu))["bookings"] == []


async def order(h: Harness, request_id: str, host: str, unit_id: str, force: str) -> None:
    """A tasking.approved straight to availability: lend unit_id of force to host for the next day."""
    data = TaskingApproved(
        request_id=request_id,
        proposal_id=str(uuid.uuid4()),
        requesting_force=host,
        requesting_region="North West",
        start=NOW + timedelta(hours=4),
        end=NOW + timedelta(days=1),
        allocations=[
            Allocation(unit_id=unit_id, force=force, capability=Capability.PSU, eta_minutes=60, distance_km=50)
        ],
        approved_by="test",
    )
    handler = h.nodes["availability"].handler(data.topic, data.cloudevent_type())
    assert handler is not None
    await handler(new_event(data, source="/test"), data)


async def test_requests_left_unfilled_are_topped_up_when_units_are_declared(system: Harness) -> None:
    hosts = ["west-yorkshire", "lancashire", "durham", "cleveland"]
    waiting = [await ask(system, host, 4, NOW + timedelta(hours=8), days=2) for host in hosts]
    await system.plan()
    await system.deliver()
    assert [await request_status(system, request_id) for request_id in waiting] == ["UNFILLED"] * 4

    for force in ["north-yorkshire"] * 8 + ["cumbria"] * 8:
        await declare_for_a_year(system, force)  # each declaration is delivered: tasking marks the short ones
    await system.plan()
    await system.deliver()
    offered = [a for request_id in waiting for p in await proposals(system, request_id) for a in p["allocations"]]
    assert len(offered) == 16
    assert {a["force"] for a in offered} == {"north-yorkshire", "cumbria"}
    assert [await request_status(system, request_id) for request_id in waiting] == ["PROPOSED"] * 4
    assert await system.plan() == 0  # topped up: nothing short is left to plan


async def test_a_partly_filled_request_is_topped_up_when_a_unit_is_released(system: Harness) -> None:
    first = await declare_for_a_year(system, "staffordshire")
    second = await declare_for_a_year(system, "warwickshire")
    earlier = await ask(system, "west-mercia", 1, NOW + timedelta(hours=6), days=1)
    await system.plan()
    checked(await decide(system, "approve", (await pending(system, earlier))["id"], coordinator("West Midlands")), 200)
    await system.deliver()
    short = await ask(system, "west-midlands", 2, NOW + timedelta(hours=6), days=1)
    await system.plan()
    checked(await decide(system, "approve", (await pending(system, short))["id"], coordinator("West Midlands")), 200)
    await system.deliver()
    assert await request_status(system, short) == "PARTIALLY_FILLED"

    checked(await stand_down(system, earlier, "west-mercia"), 200)
    await system.deliver()
    await system.plan()
    await system.deliver()
    top_up = await pending(system, short)
    assert unit_ids(top_up) in ([first], [second])
    detail = checked(await system.client("requests").get(f"/v1/requests/{short}", headers=NATIONAL), 200)
    assert detail["status"] == "PROPOSED"
    assert [entry["event_type"] for entry in detail["timeline"]][-1] == "proposal.created"


async def test_a_higher_priority_takes_a_unit_a_lower_one_holds_only_when_it_must_and_rarely(system: Harness) -> None:
    units = {await declare_for_a_year(system, "staffordshire"), await declare_for_a_year(system, "warwickshire")}
    planned = await ask(system, "west-midlands", 1, NOW + timedelta(hours=8), days=1, priority="P3")
    await system.plan()
    held = await pending(system, planned)
    [free] = units - set(unit_ids(held))

    urgent = await ask(system, "west-midlands", 1, NOW + timedelta(hours=8), days=1, priority="P1")
    await system.plan()
    assert unit_ids(await pending(system, urgent)) == [free]  # a free unit on time: the planned one keeps its own
    assert (await pending(system, planned))["id"] == held["id"]

    second = await ask(system, "west-midlands", 1, NOW + timedelta(hours=8), days=1, priority="P1")
    await system.plan()  # nothing else is free: only now is the held unit taken
    await system.deliver()
    assert unit_ids(await pending(system, second)) == unit_ids(held)
    assert await request_status(system, planned) == "UNFILLED"

    replacement = await declare_for_a_year(system, "west-mercia")  # the planned request is topped up with it
    await system.plan()
    assert unit_ids(await pending(system, planned)) == [replacement]
    third = await ask(system, "west-midlands", 1, NOW + timedelta(hours=8), days=1, priority="P1")
    await system.plan()
    await system.deliver()
    assert unit_ids(await pending(system, planned)) == [replacement]  # no second change within the minute
    assert await request_status(system, third) == "UNFILLED"


async def test_a_nine_day_request_is_filled_by_three_forces_in_back_to_back_tours(system: Harness) -> None:
    start = (NOW + timedelta(days=1)).replace(hour=8, minute=0, second=0)
    tour = timedelta(days=3)
    for index, force in enumerate(["gloucestershire", "wiltshire", "devon-and-cornwall"]):
        window_start = start + index * tour - timedelta(hours=12)
        await declare(
            system,
            force,
            "PSU",
            available_from=window_start.isoformat(),
            available_until=(window_start + tour + timedelta(hours=24)).isoformat(),
        )
    request_id = await ask(system, "avon-and-somerset", 1, start, days=9)
    await system.plan()
    await system.deliver()
    [proposal] = await proposals(system, request_id, "PENDING")
    served = sorted((a["start"], a["end"], a["force"]) for a in proposal["allocations"])
    assert [force for _, _, force in served] == ["gloucestershire", "wiltshire", "devon-and-cornwall"]
    assert served[0][0] == start.isoformat().replace("+00:00", "Z")
    assert [s[1] for s in served[:-1]] == [s[0] for s in served[1:]]  # back to back
    assert proposal["unfilled"] == []
    replayed = await queries.replay(proposal["id"], sessions=system.tasking.sessions)
    assert replayed["same_plan"], replayed
    explanation = checked(
        await system.client("tasking").get(f"/v1/proposals/{proposal['id']}/explanation", headers=NATIONAL), 200
    )
    assert len(explanation["chosen"]) == 3

    checked(await decide(system, "approve", proposal["id"], NATIONAL), 200)
    await system.deliver()
    assert await request_status(system, request_id) == "MOBILISED"
    for allocation in proposal["allocations"]:
        [booking] = (await unit(system, allocation["unit_id"]))["bookings"]
        assert booking["request_id"] == request_id
    assert await system.plan() == 0  # every tour is served: nothing is short


async def test_a_unit_free_for_two_tours_serves_both_and_a_tour_nobody_serves_leaves_the_request_partly_filled(
    system: Harness,
) -> None:
    start = (NOW + timedelta(days=1)).replace(hour=8, minute=0, second=0)
    day = timedelta(days=1)
    for force, first, last in (("gloucestershire", -0.5, 6.5), ("wiltshire", 5.5, 10)):
        frm, until = (start + first * day).isoformat(), (start + last * day).isoformat()
        await declare(system, force, "PSU", available_from=frm, available_until=until)
    nine_days = await ask(system, "avon-and-somerset", 1, start, days=9)
    await system.plan()
    await system.deliver()
    offered = await proposals(system, nine_days, "PENDING")
    served = sorted((a["start"], a["force"]) for p in offered for a in p["allocations"])
    assert [force for _, force in served] == ["gloucestershire", "gloucestershire", "wiltshire"]  # tours 1, 2, 3
    assert all(p["unfilled"] == [] for p in offered[1:]), offered
    for proposal in offered:
        checked(await decide(system, "approve", proposal["id"], coordinator("South West")), 200)
    await system.deliver()
    assert await request_status(system, nine_days) == "MOBILISED"
    assert await system.plan() == 0

    later = start + 30 * day  # Devon and Cornwall's unit is free for the first of three tours only
    frm, until = (later - day / 2).isoformat(), (later + 3.5 * day).isoformat()
    await declare(system, "devon-and-cornwall", "PSU", available_from=frm, available_until=until)
    short = await ask(system, "dorset", 1, later, days=9)
    await system.plan()
    await system.deliver()
    [proposal] = await proposals(system, short, "PENDING")
    assert proposal["unfilled"], proposal
    checked(await decide(system, "approve", proposal["id"], coordinator("South West")), 200)
    await system.deliver()
    assert await request_status(system, short) == "PARTIALLY_FILLED"  # two of its three tours are short


async def test_a_force_that_comes_to_need_its_units_gets_back_those_only_proposed_elsewhere(system: Harness) -> None:
    lent = await declare_for_a_year(system, "wiltshire")
    borrower = await ask(system, "avon-and-somerset", 1, NOW + timedelta(hours=6), days=1)
    await system.plan()
    await system.deliver()
    offered = await pending(system, borrower)
    assert unit_ids(offered) == [lent]

    await ask(system, "wiltshire", 1, NOW + timedelta(hours=8), days=1)  # Wiltshire now needs PSUs itself
    await system.plan()
    await system.plan()
    await system.deliver()
    [superseded] = await proposals(system, borrower, "SUPERSEDED")
    assert superseded["id"] == offered["id"]
    assert "asks for that capability itself" in superseded["decision_reason"]
    late = await decide(system, "approve", offered["id"], NATIONAL)
    assert late.status_code == 409
    assert await request_status(system, borrower) == "UNFILLED"
    assert (await unit(system, lent))["bookings"] == []
