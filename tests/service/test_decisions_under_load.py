"""What helper testing found when decisions, recalls and re-plans crossed: each case stays consistent."""

import asyncio

import pytest

from shared.auth import Role
from shared.db import is_conflict
from tests.support.builders import bearer
from tests.support.harness import Harness
from tests.support.steps import (
    AUDITOR,
    INTEGRATION,
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
)

WEST_MIDLANDS = coordinator("West Midlands")
SOME_REQUEST = "5ed3c6fb-0000-4000-8000-000000000001"


async def half_mobilised(h: Harness) -> tuple[str, str, dict[str, object]]:
    """2 POM for West Midlands: the regional half (Staffordshire) approved and committed, the national half
    (Greater Manchester) pending. Returns (request, the committed unit, the national proposal)."""
    staffordshire = await declare(h, "staffordshire", "POM")
    await declare(h, "greater-manchester", "POM")
    request_id = await submit(h, "west-midlands", "POM", quantity=2)
    await h.plan()
    await h.deliver()
    regional, national = await proposals(h, request_id)
    checked(await decide(h, "approve", str(regional["id"]), WEST_MIDLANDS), 200)
    await h.deliver()
    return request_id, staffordshire, national


async def recall(h: Harness, unit_id: str) -> None:
    recalled = await h.client("availability").post(
        f"/v1/units/{unit_id}/recall", json={"reason": "needed at home"}, headers=INTEGRATION
    )
    checked(recalled, 200)
    await h.deliver()


@pytest.mark.parametrize("verb", ["approve", "reject"])
async def test_a_decision_made_while_a_recall_waits_for_its_re_plan_keeps_the_re_plan(
    system: Harness, verb: str
) -> None:
    request_id, recalled, national = await half_mobilised(system)
    replacement = await declare(system, "warwickshire", "POM")
    await recall(system, recalled)
    checked(await decide(system, verb, str(national["id"]), NATIONAL), 200)
    await system.plan()
    await system.deliver()
    offered = [a["unit_id"] for p in await proposals(system, request_id, "PENDING") for a in p["allocations"]]
    assert replacement in offered  # a rejection leaves the rejected national half to be planned again too
    trail = checked(await system.client("tasking").get(f"/v1/audit?request_id={request_id}", headers=AUDITOR), 200)
    assert "proposal.superseded" in [entry["action"] for entry in trail["items"]]


async def test_a_recall_that_leaves_the_request_short_shows_it_partially_filled(system: Harness) -> None:
    request_id, recalled, national = await half_mobilised(system)
    checked(await decide(system, "approve", str(national["id"]), NATIONAL), 200)
    await system.deliver()
    await recall(system, recalled)
    await system.plan()
    await system.deliver()
    assert await request_status(system, request_id) == "PARTIALLY_FILLED"
    checked(await stand_down(system, request_id, "west-midlands"), 200)


async def test_many_decisions_and_refusals_at_once_are_each_answered_and_audited(system: Harness) -> None:
    for force in ("staffordshire", "warwickshire", "west-mercia") * 2:
        await declare(system, force, "PSU")
    requests = [await submit(system, "west-midlands", "PSU") for _ in range(6)]
    await system.plan()
    waiting = [await pending(system, request_id) for request_id in requests]
    operator = bearer(Role.OPERATOR, force="west-midlands")
    answers = await asyncio.gather(
        *(decide(system, "approve", str(p["id"]), WEST_MIDLANDS) for p in waiting),
        *(decide(system, "approve", str(p["id"]), operator) for p in waiting * 12),
    )
    assert sorted(answer.status_code for answer in answers) == [200] * 6 + [403] * 72
    trail = checked(await system.client("tasking").get("/v1/audit?limit=10000", headers=AUDITOR), 200)["items"]
    assert [entry["action"] for entry in trail].count("refused") == 6  # the operator's first on each (ADR 0016)
    verdict = checked(await system.client("tasking").get("/v1/audit/verify", headers=AUDITOR), 200)
    assert verdict["intact"]


@pytest.mark.parametrize(
    ("service", "method", "path", "body"),
    [
        ("tasking", "post", "/v1/proposals/%00/approve", {"reason": "x"}),
        ("tasking", "get", "/v1/proposals?request_id=a%00b", None),
        ("requests", "get", "/v1/requests/%00", None),
        ("requests", "post", f"/v1/requests/{SOME_REQUEST}/cancel", {"reason": "end\u0000"}),
        ("tasking", "post", f"/v1/requests/{SOME_REQUEST}/stand-down", {"reason": "end\u0000"}),
        ("availability", "get", "/v1/units?force=a%00b", None),
    ],
)
async def test_nul_characters_are_refused_at_the_door(
    system: Harness, service: str, method: str, path: str, body: object
) -> None:
    response = await system.client(service).request(method.upper(), path, json=body, headers=NATIONAL)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "NUL" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/v1/proposals/" + "x" * 300 + "/approve", "/v1/proposals/" + "ü" * 40 + "/approve"])
async def test_an_overlong_id_is_refused_not_stored(system: Harness, path: str) -> None:
    operator = bearer(Role.OPERATOR, force="west-midlands")
    for headers in (NATIONAL, operator):
        response = await system.client("tasking").post(path, json={"reason": "x"}, headers=headers)
        assert response.status_code in (403, 422), response.text
        assert response.headers["content-type"] == "application/problem+json"


def test_a_postgresql_deadlock_or_serialization_failure_is_a_conflict_to_run_again() -> None:
    from sqlalchemy.exc import DBAPIError

    class Orig(Exception):
        def __init__(self, sqlstate: str) -> None:
            super().__init__(sqlstate)
            self.sqlstate = sqlstate

    assert is_conflict(DBAPIError("UPDATE proposal", {}, Orig("40P01")))
    assert is_conflict(DBAPIError("UPDATE proposal", {}, Orig("40001")))
    assert not is_conflict(DBAPIError("UPDATE proposal", {}, Orig("22021")))
