"""The optimal planner: a whole batch planned together, on time first, then filled, then soonest."""

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from services.tasking.planner.greedy import GreedyPlanner
from services.tasking.planner.optimal import OptimalPlanner
from services.tasking.planner.problem import (
    Candidate,
    Demand,
    Place,
    Plan,
    Planner,
    PlanningProblem,
    free_counts,
)
from services.tasking.planner.travel import Leg, Minutes, minutes_by_route
from shared.vocabulary import Capability, LendingScope, Need, Window

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)
SCENE_A, SCENE_B, SCENE_C = Place(52.48, -1.90), Place(52.41, -1.51), Place(52.59, -1.98)
STAFFORD, WORCESTER, WARWICK, DERBY = Place(52.81, -2.09), Place(52.23, -2.17), Place(52.32, -1.59), Place(53.06, -1.41)
BASES = {"stafford": STAFFORD, "worcester": WORCESTER, "warwick": WARWICK, "derby": DERBY}
SCENES = {"a": SCENE_A, "b": SCENE_B, "c": SCENE_C}
PSU, AFO = Capability.PSU, Capability.AFO


@dataclass(frozen=True)
class Road:
    """A made-up map: the minutes from each base to each scene (one kilometre a minute)."""

    table: dict[tuple[Place, Place], float]

    def route(self, origin: Place, destination: Place) -> Leg:
        minutes = self.table[(origin, destination)]
        return Leg(distance_km=minutes, minutes=minutes)

    def minutes_between(self, origins: Sequence[Place], destinations: Sequence[Place]) -> Minutes:
        return minutes_by_route(self, origins, destinations)


def road(**minutes: float) -> Road:
    """Minutes named base_scene, e.g. stafford_a=20."""
    table = {}
    for key, value in minutes.items():
        base, scene = key.split("_")
        table[(BASES[base], SCENES[scene])] = value
    return Road(table)


def demand(request_id: str, scene: Place, *needs: Need, within: timedelta = 2 * HOUR) -> Demand:
    return Demand(
        request_id=request_id,
        requesting_force="west-midlands",
        requesting_region="West Midlands",
        location=scene,
        required_by=NOW + within,
        end=NOW + within + timedelta(days=2),
        needs=list(needs),
    )


def unit(unit_id: str, force: str, base: Place, *, readiness: int = 0, capability: Capability = PSU) -> Candidate:
    return Candidate(
        unit_id=unit_id,
        force=force,
        region="East Midlands" if force == "derbyshire" else "West Midlands",
        capability=capability,
        base=base,
        readiness_minutes=readiness,
        windows=[Window(start=NOW - timedelta(days=1), end=NOW + timedelta(days=10))],
    )


def psu(quantity: int) -> Need:
    return Need(capability=PSU, quantity=quantity)


def problem(
    demands: list[Demand], units: list[Candidate], lendable: dict[tuple[str, Capability], int] | None = None
) -> PlanningProblem:
    counts = free_counts(units) if lendable is None else Counter(lendable)
    return PlanningProblem(demands=demands, units=units, lendable=counts, now=NOW)


def units_of(plan: Plan) -> list[str]:
    return [allocation.unit_id for allocation in plan.allocations]


def total_minutes(plans: dict[str, Plan]) -> int:
    return sum(allocation.eta_minutes for plan in plans.values() for allocation in plan.allocations)


def test_the_optimiser_is_a_planner() -> None:
    planner: Planner = OptimalPlanner()
    assert planner.name == "optimal-flow"


def test_two_requests_planned_together_beat_one_by_one() -> None:
    # r1 comes first and its nearest unit is the only one near r2; alone, r2 gets a unit 90 min away
    travel = road(stafford_a=20, stafford_b=25, worcester_a=30, worcester_b=90)
    units = [unit("staffs-1", "staffordshire", STAFFORD), unit("mercia-1", "west-mercia", WORCESTER)]
    batch = problem([demand("r1", SCENE_A, psu(1)), demand("r2", SCENE_B, psu(1))], units)

    greedy = GreedyPlanner().plan(batch, travel)
    optimal = OptimalPlanner().plan(batch, travel)

    assert (units_of(greedy["r1"]), units_of(greedy["r2"])) == (["staffs-1"], ["mercia-1"])
    assert (units_of(optimal["r1"]), units_of(optimal["r2"])) == (["mercia-1"], ["staffs-1"])
    assert (total_minutes(greedy), total_minutes(optimal)) == (110, 55)
    assert all(plan.unfilled == [] for plan in optimal.values())


def test_no_force_lends_beyond_its_lendable_count() -> None:
    travel = road(stafford_a=10, stafford_b=10, worcester_a=40, worcester_b=40, warwick_a=5, warwick_b=5)
    units = [unit(f"staffs-{n}", "staffordshire", STAFFORD) for n in range(3)]
    units += [unit(f"mercia-{n}", "west-mercia", WORCESTER) for n in range(2)]
    units += [unit("warks-1", "warwickshire", WARWICK)]
    lendable = {("staffordshire", PSU): 1, ("west-mercia", PSU): 2, ("warwickshire", PSU): 0}
    batch = problem([demand("r1", SCENE_A, psu(2)), demand("r2", SCENE_B, psu(2))], units, lendable)

    plans = OptimalPlanner().plan(batch, travel)

    lent = Counter(allocation.force for plan in plans.values() for allocation in plan.allocations)
    assert lent == Counter({"staffordshire": 1, "west-mercia": 2})
    assert sum(shortfall.quantity for plan in plans.values() for shortfall in plan.unfilled) == 1


def test_a_late_unit_is_proposed_only_when_no_on_time_unit_exists() -> None:
    # Sending stafford to r2 and worcester to r1 would save 175 minutes, but worcester would be late for r1
    travel = road(stafford_a=55, stafford_b=10, worcester_a=70, worcester_b=200)
    units = [unit("staffs-1", "staffordshire", STAFFORD), unit("mercia-1", "west-mercia", WORCESTER)]
    batch = problem([demand("r1", SCENE_A, psu(1), within=HOUR), demand("r2", SCENE_B, psu(1), within=4 * HOUR)], units)

    plans = OptimalPlanner().plan(batch, travel)

    assert (units_of(plans["r1"]), units_of(plans["r2"])) == (["staffs-1"], ["mercia-1"])
    assert not any(allocation.late for plan in plans.values() for allocation in plan.allocations)

    only_late = problem([demand("r3", SCENE_A, psu(1), within=HOUR)], [unit("mercia-1", "west-mercia", WORCESTER)])
    [allocation] = OptimalPlanner().plan(only_late, travel)["r3"].allocations
    assert (allocation.unit_id, allocation.eta_minutes, allocation.late) == ("mercia-1", 70, True)


def test_fewer_lending_forces_are_preferred_when_times_tie() -> None:
    # Same place, same readiness: greedy takes a-staffs and b-mercia by unit id, two forces for one request
    travel = road(stafford_a=30, worcester_a=30)
    units = [
        unit("a-staffs", "staffordshire", STAFFORD),
        unit("b-mercia", "west-mercia", WORCESTER),
        unit("c-mercia", "west-mercia", WORCESTER),
    ]
    batch = problem([demand("r1", SCENE_A, psu(2))], units)

    assert units_of(GreedyPlanner().plan(batch, travel)["r1"]) == ["a-staffs", "b-mercia"]
    assert units_of(OptimalPlanner().plan(batch, travel)["r1"]) == ["b-mercia", "c-mercia"]


def test_load_is_spread_in_proportion_to_what_forces_can_lend() -> None:
    travel = road(stafford_a=30, stafford_b=30, stafford_c=30, worcester_a=30, worcester_b=30, worcester_c=30)
    units = [unit(f"staffs-{n}", "staffordshire", STAFFORD) for n in range(4)]
    units += [unit(f"mercia-{n}", "west-mercia", WORCESTER) for n in range(2)]
    demands = [demand(name, scene, psu(1)) for name, scene in (("r1", SCENE_A), ("r2", SCENE_B), ("r3", SCENE_C))]

    plans = OptimalPlanner().plan(problem(demands, units), travel)

    lent = Counter(allocation.force for plan in plans.values() for allocation in plan.allocations)
    assert lent == Counter({"staffordshire": 2, "west-mercia": 1})  # 3 units shared 4:2


def test_the_same_problem_always_gives_the_same_plan() -> None:
    bases = {"staffordshire": STAFFORD, "west-mercia": WORCESTER, "warwickshire": WARWICK, "derbyshire": DERBY}
    travel = road(**{f"{base}_{scene}": 45 for base in BASES for scene in SCENES})
    units = [
        unit(f"{force}-{n}", force, base, readiness=15 * (n % 2)) for force, base in bases.items() for n in range(3)
    ]
    units += [unit(f"{force}-afo", force, base, capability=AFO) for force, base in bases.items()]
    demands = [
        demand("r1", SCENE_A, psu(3), Need(capability=AFO, quantity=1)),
        demand("r2", SCENE_B, psu(4)),
        demand("r3", SCENE_C, psu(2), Need(capability=AFO, quantity=2)),
    ]
    lendable = {key: count - 1 for key, count in free_counts(units).items()} | {("derbyshire", AFO): 1}
    first = OptimalPlanner().plan(problem(demands, units, lendable), travel)

    for seed in range(5):
        shuffled_units, shuffled_demands = list(units), list(demands)
        random.Random(seed).shuffle(shuffled_units)
        random.Random(seed).shuffle(shuffled_demands)
        assert OptimalPlanner().plan(problem(shuffled_demands, shuffled_units, lendable), travel) == first


def test_unfilled_needs_say_why() -> None:
    travel = road(stafford_a=20, stafford_b=20, worcester_a=150, worcester_b=30, derby_a=20, derby_b=20)
    units = [
        unit("staffs-1", "staffordshire", STAFFORD),
        unit("staffs-2", "staffordshire", STAFFORD),
        unit("mercia-1", "west-mercia", WORCESTER),
        replace(unit("derby-1", "derbyshire", DERBY), scope=LendingScope.REGION),
    ]
    lendable = {("staffordshire", PSU): 1, ("west-mercia", PSU): 1, ("derbyshire", PSU): 1}
    demands = [
        demand("r1", SCENE_A, psu(3), Need(capability=AFO, quantity=1), within=HOUR),
        demand("r2", SCENE_B, psu(1)),
    ]

    plans = OptimalPlanner().plan(problem(demands, units, lendable), travel)

    assert (units_of(plans["r1"]), units_of(plans["r2"])) == (["staffs-1"], ["mercia-1"])
    psu_short, afo_short = plans["r1"].unfilled
    assert (psu_short.quantity, afo_short.quantity) == (2, 1)
    assert psu_short.reason == (
        "only 3 lendable PSU free for the whole period; 1 planned for r2; reserve would be breached in staffordshire"
    )
    assert afo_short.reason == "no lendable AFO free for the whole period"

    late_only = problem([demand("r3", SCENE_A, psu(2), within=HOUR)], [unit("mercia-1", "west-mercia", WORCESTER)])
    [shortfall] = OptimalPlanner().plan(late_only, travel)["r3"].unfilled
    assert shortfall.reason == "only 1 lendable PSU free for the whole period; none can arrive by 13:00 UTC"


def test_every_demand_gets_a_plan_even_an_empty_batch_of_units() -> None:
    plans = OptimalPlanner().plan(problem([demand("r1", SCENE_A, psu(2))], []), road())

    assert plans["r1"].allocations == []
    assert [(s.quantity, s.reason) for s in plans["r1"].unfilled] == [(2, "no lendable PSU free for the whole period")]
