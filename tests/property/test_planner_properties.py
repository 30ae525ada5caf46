"""The optimal planner on small random batches near the West Midlands, against brute force and greedy.

Hypothesis draws up to 8 units of up to 3 forces (one of them in another region), at random places or
at a few shared ones, or all at one place and equally ready (so that arrival times tie and the later
criteria decide), with random readiness, windows, scopes and statuses;
1 to 3 requests of 1 or 2 capabilities, 1 to 3 units each; and a lendable count of 0 to 3 per force and
capability. For every batch:

(a) the optimiser's plan is as good as the best of every feasible assignment, enumerated, on the whole
    lexicographic objective: on-time allocations, then filled, then total arrival time in the
    optimiser's integer seconds, then (request, lending force) pairs, then the spread
    sum(load^2 / lendable), compared exactly;
(b) it is never worse than the greedy baseline on (on time, filled, total arrival);
(c) no plan of either planner breaches a lendable count, a window or a scope, gives a unit twice,
    gives a need more than it asked, or flags lateness wrongly; allocations and shortfalls add up
    to what was asked.
"""

import itertools
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from hypothesis import example, given, settings
from hypothesis import strategies as st

from services.tasking.planner.greedy import GreedyPlanner
from services.tasking.planner.optimal import OptimalPlanner, arrival_cost
from services.tasking.planner.problem import (
    Candidate,
    Demand,
    GreatCircleTravel,
    Place,
    Plan,
    PlanningProblem,
    arrives_late,
    is_candidate,
)
from shared.events import UnitStatus
from shared.vocabulary import Capability, LendingScope, Need, Window

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
DAY = timedelta(days=1)
TRAVEL = GreatCircleTravel()
LENDERS = [("staffordshire", "West Midlands"), ("west-mercia", "West Midlands"), ("derbyshire", "East Midlands")]
REQUESTERS = [
    ("west-midlands", "West Midlands"),
    ("staffordshire", "West Midlands"),
    ("leicestershire", "East Midlands"),
]
SHARED_PLACES = [Place(52.81, -2.09), Place(52.23, -2.17), Place(52.48, -1.90)]
WINDOWS = [
    [Window(start=NOW - DAY, end=NOW + 10 * DAY)],
    [Window(start=NOW - DAY, end=NOW + DAY)],  # leaves before the end of any request
    [Window(start=NOW + timedelta(hours=2), end=NOW + 10 * DAY)],  # too late for the early requests
    [Window(start=NOW - DAY, end=NOW + DAY), Window(start=NOW + timedelta(hours=1), end=NOW + 9 * DAY)],
]

Key = tuple[int, int, int, int, Fraction]  # -on time, -filled, arrival seconds, (request, force) pairs, spread

latitudes, longitudes = st.integers(52_200, 52_900), st.integers(-2_500, -1_300)  # thousandths of a degree
places = st.sampled_from(SHARED_PLACES) | st.builds(lambda y, x: Place(y / 1000, x / 1000), latitudes, longitudes)
readiness = st.sampled_from([15, 30]) | st.integers(10, 120)


@st.composite
def units(draw: st.DrawFn, unit_id: str, capabilities: list[Capability], tie: tuple[Place, int] | None) -> Candidate:
    force, region = draw(st.sampled_from(LENDERS))
    return Candidate(
        unit_id=unit_id,
        force=force,
        region=region,
        capability=draw(st.sampled_from(capabilities)),
        base=tie[0] if tie else draw(places),
        readiness_minutes=tie[1] if tie else draw(readiness),
        windows=draw(st.sampled_from(WINDOWS[:1] * 6 + WINDOWS[1:])),
        scope=draw(st.sampled_from([LendingScope.NATIONAL] * 6 + [LendingScope.REGION, LendingScope.FORCE])),
        status=draw(st.sampled_from([UnitStatus.AVAILABLE] * 9 + [UnitStatus.UNAVAILABLE])),
    )


@st.composite
def demands(draw: st.DrawFn, request_id: str, capabilities: list[Capability]) -> Demand:
    force, region = draw(st.sampled_from(REQUESTERS))
    required_by = NOW + timedelta(minutes=draw(st.integers(20, 240)))
    wanted = draw(st.lists(st.sampled_from(capabilities), min_size=1, max_size=2, unique=True))
    return Demand(
        request_id=request_id,
        requesting_force=force,
        requesting_region=region,
        location=draw(places),
        required_by=required_by,
        end=required_by + 2 * DAY,
        needs=[Need(capability=capability, quantity=draw(st.integers(1, 3))) for capability in wanted],
    )


@st.composite
def batches(draw: st.DrawFn) -> PlanningProblem:
    capabilities = draw(st.sampled_from([[Capability.PSU], [Capability.PSU, Capability.AFO]]))
    tie = draw(st.none() | st.tuples(places, readiness))  # every unit at one place, equally ready
    fleet = [draw(units(f"u{n}", capabilities, tie)) for n in range(draw(st.integers(1, 8)))]
    requests = [draw(demands(f"r{n}", capabilities)) for n in range(draw(st.integers(1, 3)))]
    lendable = Counter(
        {(force, c): draw(st.integers(0, 3)) for (force, _), c in itertools.product(LENDERS, capabilities)}
    )
    return PlanningProblem(demands=requests, units=fleet, lendable=lendable, now=NOW)


@dataclass(frozen=True)
class Option:
    slot: int
    request_id: str
    seconds: int
    late: bool


def options(problem: PlanningProblem, unit: Candidate) -> list[Option | None]:
    """Where a unit may go: nowhere, or any need it is eligible for, if its force can lend it."""
    where: list[Option | None] = [None]
    if problem.lendable[(unit.force, unit.capability)] == 0:
        return where
    slots = [(demand, need) for demand in problem.demands for need in demand.needs]
    for slot, (demand, need) in enumerate(slots):
        if is_candidate(unit, demand, need.capability):
            eta = unit.readiness_minutes + TRAVEL.route(unit.base, demand.location).minutes
            where.append(Option(slot, demand.request_id, arrival_cost(eta), arrives_late(demand, eta, now=NOW)))
    return where


def key(problem: PlanningProblem, chosen: list[tuple[Candidate, Option]]) -> Key:
    loads = Counter((unit.force, unit.capability) for unit, _ in chosen)
    return (
        -sum(not option.late for _, option in chosen),
        -len(chosen),
        sum(option.seconds for _, option in chosen),
        len({(option.request_id, unit.force) for unit, option in chosen}),
        sum((Fraction(n * n, problem.lendable[pool]) for pool, n in loads.items()), Fraction(0)),
    )


def brute_force(problem: PlanningProblem) -> Key:
    """The best key over every assignment that respects quantities and lendable counts."""
    quantities = [need.quantity for demand in problem.demands for need in demand.needs]
    choices = [options(problem, unit) for unit in problem.units]
    best: Key | None = None
    for assignment in itertools.product(*choices):
        chosen = [(unit, option) for unit, option in zip(problem.units, assignment, strict=True) if option]
        per_slot = Counter(option.slot for _, option in chosen)
        per_pool = Counter((unit.force, unit.capability) for unit, _ in chosen)
        if any(n > quantities[slot] for slot, n in per_slot.items()):
            continue
        if any(n > problem.lendable[pool] for pool, n in per_pool.items()):
            continue
        candidate = key(problem, chosen)
        best = candidate if best is None or candidate < best else best
    assert best is not None
    return best


def plan_key(problem: PlanningProblem, plans: dict[str, Plan]) -> Key:
    """The key of a planner's plans, arrival times recomputed the way brute force computes them."""
    by_id = {unit.unit_id: unit for unit in problem.units}
    chosen = []
    for demand in problem.demands:
        for allocation in plans[demand.request_id].allocations:
            unit = by_id[allocation.unit_id]
            slot_options = [option for option in options(problem, unit) if option]
            option = next(option for option in slot_options if option.request_id == demand.request_id)
            chosen.append((unit, option))
    return key(problem, chosen)


def assert_valid(problem: PlanningProblem, plans: dict[str, Plan]) -> None:
    """Lendable counts, eligibility (window, scope, force, status), each unit once, quantities, late flags."""
    by_id = {unit.unit_id: unit for unit in problem.units}
    given = [allocation for plan in plans.values() for allocation in plan.allocations]
    assert len({allocation.unit_id for allocation in given}) == len(given)
    for (force, capability), lent in Counter((a.force, a.capability) for a in given).items():
        assert lent <= problem.lendable[(force, capability)]
    for demand in problem.demands:
        plan = plans[demand.request_id]
        asked = Counter({need.capability: need.quantity for need in demand.needs})
        for allocation in plan.allocations:
            unit = by_id[allocation.unit_id]
            assert is_candidate(unit, demand, allocation.capability)
            eta = unit.readiness_minutes + TRAVEL.route(unit.base, demand.location).minutes
            assert allocation.late == arrives_late(demand, eta, now=NOW)
        covered = Counter(allocation.capability for allocation in plan.allocations)
        for shortfall in plan.unfilled:
            covered[shortfall.capability] += shortfall.quantity
        assert covered == asked


def spread_decides() -> PlanningProblem:
    """Two equally placed, equally ready units of forces lending 1 and 2: the one lending 2 should go."""
    here, window = SHARED_PLACES[0], WINDOWS[0]
    fleet = [
        Candidate(unit_id=f"u{n}", force=force, region="West Midlands", capability=Capability.PSU, base=here,
                  readiness_minutes=15, windows=window)
        for n, force in enumerate(["west-mercia", "staffordshire"])
    ]  # fmt: skip
    request = Demand(
        request_id="r0", requesting_force="west-midlands", requesting_region="West Midlands", location=here,
        required_by=NOW + timedelta(minutes=20), end=NOW + 2 * DAY, needs=[Need(capability=Capability.PSU, quantity=1)],
    )  # fmt: skip
    lendable = Counter({("west-mercia", Capability.PSU): 2, ("staffordshire", Capability.PSU): 1})
    return PlanningProblem(demands=[request], units=fleet, lendable=lendable, now=NOW)


@settings(max_examples=200, deadline=None)
@given(batches())
@example(spread_decides())
def test_the_optimiser_is_as_good_as_every_assignment_enumerated(problem: PlanningProblem) -> None:
    assert plan_key(problem, OptimalPlanner().plan(problem, TRAVEL)) == brute_force(problem)


@settings(max_examples=200, deadline=None)
@given(batches())
def test_the_optimiser_is_never_worse_than_greedy(problem: PlanningProblem) -> None:
    optimal = plan_key(problem, OptimalPlanner().plan(problem, TRAVEL))
    greedy = plan_key(problem, GreedyPlanner().plan(problem, TRAVEL))

    assert optimal[:3] <= greedy[:3]


@settings(max_examples=200, deadline=None)
@given(batches())
def test_no_plan_breaches_a_reserve_window_or_scope_nor_gives_a_unit_twice(problem: PlanningProblem) -> None:
    assert_valid(problem, OptimalPlanner().plan(problem, TRAVEL))
    assert_valid(problem, GreedyPlanner().plan(problem, TRAVEL))
