"""Extending a deployment: the units there stay on where they can, the rest of the extra time is planned."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.tasking.models import RequestView
from tests.support.harness import Harness
from tests.support.steps import (
    AUDITOR,
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

SOUTH_WEST = coordinator("South West")
START = (datetime.now(UTC) + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
END = START + timedelta(days=2)


def z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def declare_from(h: Harness, force: str, until: datetime) -> str:
    return await declare(
        h,
        force,
        "PSU",
        available_from=(START - timedelta(days=2)).isoformat(),
        available_until=until.isoformat(),
    )


async def mobilised(h: Harness, force: str = "avon-and-somerset") -> str:
    """A request for one PSU for two days from START, proposed, approved and committed."""
    body = {
        "requesting_force": force,
        "operation": f"Op {uuid.uuid4().hex[:6]}",
        "priority": "P2",
        "location": headquarters(force),
        "required_by": START.isoformat(),
        "end": END.isoformat(),
        "needs": [{"capability": "PSU", "quantity": 1}],
    }
    headers = operator(force) | {"Idempotency-Key": str(uuid.uuid4())}
    request_id: str = checked(await h.client("requests").post("/v1/requests", json=body, headers=headers), 201)["id"]
    await h.deliver()
    await h.plan()
    await h.deliver()
    checked(await decide(h, "approve", (await pending(h, request_id))["id"], NATIONAL), 200)
    await h.deliver()
    assert await request_status(h, request_id) == "MOBILISED"
    return request_id


async def extend(
    h: Harness, request_id: str, end: datetime | str, force: str = "avon-and-somerset"
) -> Any:  # the response
    body = {"end": end if isinstance(end, str) else end.isoformat(), "reason": "disorder continues"}
    return await h.client("requests").post(f"/v1/requests/{request_id}/extend", json=body, headers=operator(force))


async def test_an_extension_keeps_the_unit_there_on_for_the_extra_day(system: Harness) -> None:
    await declare_from(system, "gloucestershire", START + timedelta(days=30))
    await declare_from(system, "wiltshire", START + timedelta(days=30))  # free too: still, the unit there stays
    request_id = await mobilised(system)
    [approved] = await proposals(system, request_id, "APPROVED")
    there = approved["allocations"][0]["unit_id"]

    extended = checked(await extend(system, request_id, END + timedelta(days=1)), 200)
    assert extended["end"] == z(END + timedelta(days=1))
    await system.deliver()
    [stamped] = await proposals(system, request_id, "APPROVED")
    assert (stamped["allocations"][0]["start"], stamped["allocations"][0]["end"]) == (z(START), z(END))

    await system.plan()
    await system.deliver()
    stay = await pending(system, request_id)
    assert [(a["unit_id"], a["start"], a["end"]) for a in stay["allocations"]] == [
        (there, z(END), z(END + timedelta(days=1)))
    ]
    assert (stay["unfilled"], stay["tier"]) == ([], "REGIONAL")  # for the South West's coordinator
    checked(await decide(system, "approve", stay["id"], SOUTH_WEST), 200)
    await system.deliver()
    [booking] = (await unit(system, there))["bookings"]  # one booking, to the new end and home
    assert booking["request_id"] == request_id
    assert booking["end"] > z(END + timedelta(days=1))
    assert await request_status(system, request_id) == "MOBILISED"
    assert await system.plan() == 0

    timeline = checked(await system.client("requests").get(f"/v1/requests/{request_id}", headers=AUDITOR), 200)
    details = [(item["event_type"], item["detail"]) for item in timeline["timeline"]]
    assert any(kind == "request.extended" and "disorder continues" in text for kind, text in details), details
    assert any(kind == "proposal.created" and "for tours" in text for kind, text in details), details


async def test_the_extra_time_a_unit_cannot_stay_for_is_served_by_another_force(system: Harness) -> None:
    leaving = await declare_from(system, "gloucestershire", END + timedelta(hours=6))
    request_id = await mobilised(system)
    relief = await declare_from(system, "wiltshire", START + timedelta(days=30))

    checked(await extend(system, request_id, END + timedelta(days=2)), 200)
    await system.deliver()
    await system.plan()
    await system.deliver()
    tour = await pending(system, request_id)
    assert [(a["unit_id"], a["start"], a["end"]) for a in tour["allocations"]] == [
        (relief, z(END), z(END + timedelta(days=2)))
    ]
    assert tour["tier"] == "REGIONAL"
    checked(await decide(system, "approve", tour["id"], SOUTH_WEST), 200)
    await system.deliver()
    assert [b["request_id"] for b in (await unit(system, leaving))["bookings"]] == [request_id]
    assert [b["request_id"] for b in (await unit(system, relief))["bookings"]] == [request_id]
    assert await system.plan() == 0

    checked(await stand_down(system, request_id, "avon-and-somerset"), 200)
    await system.deliver()
    assert (await unit(system, relief))["bookings"] == []
    assert (await unit(system, leaving))["bookings"] == []


async def test_an_extension_nobody_can_serve_leaves_the_request_partly_filled(system: Harness) -> None:
    await declare_from(system, "gloucestershire", END + timedelta(hours=6))
    request_id = await mobilised(system)
    checked(await extend(system, request_id, END + timedelta(days=1)), 200)
    await system.deliver()
    await system.plan()
    await system.deliver()
    assert await request_status(system, request_id) == "PARTIALLY_FILLED"
    [approved] = await proposals(system, request_id, "APPROVED")  # what was approved still serves
    assert approved["allocations"][0]["end"] == z(END)

    stays = await declare_from(system, "wiltshire", START + timedelta(days=30))  # capacity appears: a top-up
    await system.plan()
    await system.deliver()
    assert [a["unit_id"] for a in (await pending(system, request_id))["allocations"]] == [stays]


@pytest.mark.parametrize(
    ("end", "status", "says"),
    [
        (END - timedelta(hours=1), 422, "after the current end"),
        (START + timedelta(weeks=9), 422, "at most 56 days"),
        ("tomorrow", 422, "end"),
    ],
)
async def test_an_extension_to_an_end_that_makes_no_sense_is_refused(
    system: Harness, end: datetime | str, status: int, says: str
) -> None:
    await declare_from(system, "gloucestershire", START + timedelta(days=30))
    request_id = await mobilised(system)
    refused = await extend(system, request_id, end)
    assert refused.status_code == status, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert says in refused.text
    assert system.delivered[-1][0].type.endswith("units.committed.v1")  # nothing was published


async def test_only_the_requesting_force_extends_and_not_once_it_is_stood_down(system: Harness) -> None:
    await declare_from(system, "gloucestershire", START + timedelta(days=30))
    request_id = await mobilised(system)
    other = await extend(system, request_id, END + timedelta(days=1), force="wiltshire")
    assert other.status_code == 403, other.text
    checked(await stand_down(system, request_id, "avon-and-somerset"), 200)
    await system.deliver()
    over = await extend(system, request_id, END + timedelta(days=1))
    assert over.status_code == 409, over.text
    assert "CLOSED" in over.json()["detail"]
    missing = await extend(system, str(uuid.uuid4()), END + timedelta(days=1))
    assert missing.status_code == 404


async def test_extensions_at_once_never_leave_the_services_disagreeing_on_the_end(system: Harness) -> None:
    await declare_from(system, "gloucestershire", START + timedelta(days=30))
    request_id = await mobilised(system)
    ends = [END + timedelta(hours=6 * n) for n in range(1, 7)]
    answers = await asyncio.gather(*(extend(system, request_id, end) for end in ends))
    assert {a.status_code for a in answers} <= {200, 409, 422}, [a.text for a in answers]
    assert 200 in {a.status_code for a in answers}
    await system.deliver()
    await system.plan()
    await system.deliver()
    request = checked(await system.client("requests").get(f"/v1/requests/{request_id}", headers=AUDITOR), 200)
    async with system.tasking.sessions() as session:
        view = await session.get(RequestView, request_id)
    assert view is not None
    assert z(view.end) == request["end"]
    extended = [item for item in request["timeline"] if item["event_type"] == "request.extended"]
    assert len(extended) == sum(a.status_code == 200 for a in answers)
    stay = await pending(system, request_id)
    assert max(a["end"] for a in stay["allocations"]) == request["end"]


async def test_an_extension_that_crosses_a_stand_down_is_recorded_as_having_no_effect(system: Harness) -> None:
    await declare_from(system, "gloucestershire", START + timedelta(days=30))
    request_id = await mobilised(system)
    checked(await stand_down(system, request_id, "avon-and-somerset"), 200)  # tasking: stood down, not yet told
    checked(await extend(system, request_id, END + timedelta(days=1)), 200)  # requests: still MOBILISED here
    await system.deliver()
    trail = checked(await system.client("tasking").get(f"/v1/audit?request_id={request_id}", headers=AUDITOR), 200)
    ignored = [entry for entry in trail["items"] if entry["action"] == "request.extension_ignored"]
    assert len(ignored) == 1, [entry["action"] for entry in trail["items"]]
    assert await request_status(system, request_id) == "CLOSED"
    assert await system.plan() == 0  # nothing planned for the extra time
