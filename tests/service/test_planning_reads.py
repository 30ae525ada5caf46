"""A planning run reloads what earlier runs read only where it changed (services.tasking.readmodel.PlanningReads)."""

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from services.tasking.models import Proposal, RequestView, UnitView
from tests.support.harness import Harness
from tests.support.steps import NATIONAL, checked, decide, declare, pending, proposals, submit

MODELS = (RequestView, Proposal, UnitView)


@contextmanager
def rows_loaded() -> Iterator[Counter[str]]:
    """Counts the tasking rows turned into objects (requests, proposals, units) while the block runs."""
    loaded: Counter[str] = Counter()

    def count(target: object, _context: object) -> None:
        loaded[type(target).__name__] += 1

    for model in MODELS:
        event.listen(model, "load", count)
    try:
        yield loaded
    finally:
        for model in MODELS:
            event.remove(model, "load", count)


async def test_a_planning_run_loads_only_what_changed_since_the_last_and_sees_a_rejection_taken_meanwhile(
    system: Harness,
) -> None:
    units = {await declare(system, "staffordshire", "PSU") for _ in range(3)}
    first, *others = [await submit(system, "west-midlands", "PSU") for _ in range(3)]
    await system.plan()
    await system.deliver()
    rejected = await pending(system, first)
    checked(await decide(system, "reject", rejected["id"], NATIONAL, end_request=True), 200)
    await system.deliver()
    late = await submit(system, "west-midlands", "PSU")

    with rows_loaded() as loaded:
        await system.plan()
    await system.deliver()

    freed = rejected["allocations"][0]["unit_id"]
    assert [a["unit_id"] for a in (await pending(system, late))["allocations"]] == [freed]
    assert {(await pending(system, r))["allocations"][0]["unit_id"] for r in others} == units - {freed}
    assert [p["status"] for p in await proposals(system, first)] == ["REJECTED"]
    # the late request and the rejected one (its version moved); nothing of the two proposals or three units
    assert loaded == Counter({"RequestView": 2}), loaded
