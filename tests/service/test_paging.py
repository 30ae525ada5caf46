"""Lists of units and proposals come a page at a time: at most `limit` items (5,000 at most), then the items
after the page's `next`; every item once, in the list's order."""

from typing import Any

import pytest

from tests.support.harness import Harness
from tests.support.steps import INTEGRATION, NATIONAL, checked, declare, submit


async def walk(system: Harness, service: str, path: str, limit: int) -> list[list[str]]:
    """The ids of each page, following `next` until the last page."""
    pages: list[list[str]] = []
    params: dict[str, Any] = {"limit": limit}
    while True:
        answer = checked(await system.client(service).get(path, params=params, headers=NATIONAL), 200)
        pages.append([item.get("unit_id") or item["id"] for item in answer["items"]])
        if answer["next"] is None:
            return pages
        assert answer["next"] == pages[-1][-1]
        params = {"limit": limit, "after": answer["next"]}


@pytest.mark.parametrize(("service", "path"), [("availability", "/v1/units"), ("tasking", "/v1/units")])
async def test_units_come_a_page_at_a_time_each_once_in_order(system: Harness, service: str, path: str) -> None:
    for n in range(5):
        await declare(system, "staffordshire", unit_id=f"staffs-psu-{n}")
    assert await walk(system, service, path, limit=2) == [
        ["staffs-psu-0", "staffs-psu-1"],
        ["staffs-psu-2", "staffs-psu-3"],
        ["staffs-psu-4"],
    ]
    everything = checked(await system.client(service).get(path, headers=INTEGRATION), 200)
    assert (len(everything["items"]), everything["next"]) == (5, None)


async def test_proposals_come_a_page_at_a_time_oldest_first(system: Harness) -> None:
    for _ in range(3):
        await declare(system, "staffordshire")
    requests = [await submit(system, "west-midlands") for _ in range(3)]
    await system.plan()
    await system.deliver()
    listed = checked(await system.client("tasking").get("/v1/proposals", headers=NATIONAL), 200)["items"]
    assert sorted(proposal["request_id"] for proposal in listed) == sorted(requests)
    pages = await walk(system, "tasking", "/v1/proposals", limit=2)
    assert [len(ids) for ids in pages] == [2, 1]
    assert [pid for ids in pages for pid in ids] == [proposal["id"] for proposal in listed]


@pytest.mark.parametrize(
    ("query", "status"), [({"limit": 0}, 422), ({"limit": 5001}, 422), ({"after": "no-such-unit"}, 404)]
)
async def test_a_page_out_of_bounds_or_after_an_unknown_item_is_refused(
    system: Harness, query: dict[str, Any], status: int
) -> None:
    await declare(system, "staffordshire")
    answer = await system.client("availability").get("/v1/units", params=query, headers=INTEGRATION)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"


async def test_the_audit_trail_comes_a_page_at_a_time_after_a_number(system: Harness) -> None:
    for _ in range(3):
        await declare(system, "staffordshire")
        await submit(system, "west-midlands")
        await system.plan()  # each run appends its proposals to the trail
        await system.deliver()
    everything = checked(await system.client("tasking").get("/v1/audit", headers=NATIONAL), 200)["items"]
    seqs = [entry["seq"] for entry in everything]
    assert len(seqs) >= 3
    first = checked(await system.client("tasking").get("/v1/audit?limit=2", headers=NATIONAL), 200)["items"]
    rest = await system.client("tasking").get(f"/v1/audit?after_seq={first[-1]['seq']}", headers=NATIONAL)
    assert [entry["seq"] for entry in first + checked(rest, 200)["items"]] == seqs
