"""A force's whole set replaced from a duty-system export while some of its units are booked (issue 13): booked
units are kept as they are, their bookings untouched, whatever the file says of them; the answer says what
happened to each unit; a dry run says the same and changes nothing."""

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from tests.support.builders import SOON
from tests.support.harness import Harness
from tests.support.steps import INTEGRATION, NATIONAL, checked, decide, declare, headquarters, pending, submit, unit

UNITS = "/v1/forces/staffordshire/units"


def row(unit_id: str, **changes: Any) -> dict[str, Any]:
    """A unit of the file: a Staffordshire PSU at its headquarters, free from 3 days before SOON for 60 days."""
    return {
        "unit_id": unit_id,
        "force": "staffordshire",
        "capability": "PSU",
        "base": headquarters("staffordshire"),
        "readiness_minutes": 30,
        "available_from": (SOON - timedelta(days=3)).isoformat(),
        "available_until": (SOON + timedelta(days=60)).isoformat(),
        **changes,
    }


async def approved_unit(system: Harness, unit_id: str) -> str:
    """A Staffordshire PSU declared and approved for a West Midlands request, the commit not yet delivered to
    availability: the request's id."""
    await declare(system, "staffordshire", unit_id=unit_id)
    request_id = await submit(system, "west-midlands")
    await system.plan()
    await system.deliver()
    proposal = await pending(system, request_id)
    checked(await decide(system, "approve", proposal["id"], NATIONAL, reason="needed"), 200)
    return request_id


async def booked_unit(system: Harness) -> tuple[str, str]:
    """A Staffordshire PSU approved and booked for a West Midlands request: (unit id, request id)."""
    request_id = await approved_unit(system, "staffs-booked")
    await system.deliver()
    assert (await unit(system, "staffs-booked"))["bookings"], "the approval booked the unit"
    return "staffs-booked", request_id


async def replace(system: Harness, items: list[dict[str, Any]], *, dry_run: bool = False) -> dict[str, Any]:
    params = {"dry_run": "true"} if dry_run else {}
    answer = await system.client("availability").put(UNITS, json={"items": items}, headers=INTEGRATION, params=params)
    result: dict[str, Any] = checked(answer, 200)
    return result


def outcomes(result: dict[str, Any]) -> dict[str, str]:
    return {item["unit_id"]: item["outcome"] for item in result["units"]}


@pytest.mark.parametrize(
    "file_says",
    [
        pytest.param(None, id="left out"),
        pytest.param({}, id="repeated unchanged"),
        pytest.param({"status": "AVAILABLE", "readiness_minutes": 90}, id="changed and AVAILABLE"),
        pytest.param({"status": "COMMITTED"}, id="marked COMMITTED"),
        pytest.param({"status": "WITHDRAWN"}, id="withdrawn"),
    ],
)
async def test_a_booked_unit_is_kept_as_it_is_whatever_the_file_says(
    system: Harness, file_says: dict[str, Any] | None
) -> None:
    booked, request_id = await booked_unit(system)
    await declare(system, "staffordshire", unit_id="staffs-spare")
    before = await unit(system, booked)
    items = [row("staffs-new"), row("staffs-spare", readiness_minutes=45)]
    items += [] if file_says is None else [row(booked, **file_says)]
    result = await replace(system, items)
    await system.deliver()
    assert outcomes(result) == {"staffs-new": "declared", "staffs-spare": "updated", booked: "kept"}
    assert (result["declared"], result["updated"], result["kept"], result["withdrawn"]) == (1, 1, 1, 0)
    [kept] = [item for item in result["units"] if item["outcome"] == "kept"]
    assert request_id in kept["reason"]
    after = await unit(system, booked)
    assert {k: after[k] for k in ("status", "readiness_minutes", "bookings", "version")} == {
        k: before[k] for k in ("status", "readiness_minutes", "bookings", "version")
    }


async def test_a_dry_run_says_what_applying_would_do_and_changes_nothing(system: Harness) -> None:
    booked, _ = await booked_unit(system)
    for unit_id in ("staffs-same", "staffs-slower", "staffs-gone"):
        await declare(system, "staffordshire", unit_id=unit_id)
    listed_before = checked(await system.client("availability").get("/v1/units", headers=INTEGRATION), 200)
    items = [row("staffs-new"), row("staffs-same"), row("staffs-slower", readiness_minutes=60)]
    result = await replace(system, items, dry_run=True)
    assert result["dry_run"] is True
    assert outcomes(result) == {
        "staffs-new": "declared",
        "staffs-same": "unchanged",
        "staffs-slower": "updated",
        "staffs-gone": "withdrawn",
        booked: "kept",
    }
    [slower] = [item for item in result["units"] if item["unit_id"] == "staffs-slower"]
    assert slower["changed"] == ["readiness_minutes"]
    assert await system.deliver() == 0, "a dry run publishes nothing"
    listed_after = checked(await system.client("availability").get("/v1/units", headers=INTEGRATION), 200)
    assert listed_after == listed_before
    applied = await replace(system, items)
    assert outcomes(applied) == outcomes(result)
    assert applied["dry_run"] is False


async def test_a_new_unit_declared_committed_is_refused(system: Harness) -> None:
    answer = await system.client("availability").put(
        UNITS, json={"items": [row("staffs-new", status="COMMITTED")]}, headers=INTEGRATION
    )
    assert answer.status_code == 422, answer.text
    assert "COMMITTED comes only from an approved tasking" in answer.json()["detail"]


async def test_a_replacement_racing_the_approval_that_books_a_unit_never_loses_the_booking(system: Harness) -> None:
    unit_id = "staffs-raced"
    await approved_unit(system, unit_id)
    # the commit reaches availability as the file that leaves the unit out does
    commit = asyncio.create_task(system.deliver())
    result = await replace(system, [row("staffs-other")])
    await commit
    await system.deliver()
    after = await unit(system, unit_id)
    if outcomes(result)[unit_id] == "kept":
        assert after["bookings"]
        assert after["status"] != "WITHDRAWN"
    else:  # the file went first: the unit was withdrawn, and the commit was refused (no booking of a withdrawn unit)
        assert outcomes(result)[unit_id] == "withdrawn"
        assert after["status"] == "WITHDRAWN"
        assert not after["bookings"]
