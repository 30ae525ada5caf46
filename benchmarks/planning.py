"""Planning benchmark: a national surge planned jointly by the optimiser and one by one by the greedy baseline.

Run with `.venv/bin/python benchmarks/planning.py [--units 1200] [--requests 50] [--seed 7] [--repeat 7] [--tied]`;
see benchmarks/README.md. Pure computation: no broker, no database.
"""

import argparse
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial

from ortools.graph.python import min_cost_flow

from services.tasking.bootstrap import travel_model
from services.tasking.config import TaskingSettings
from services.tasking.planner.greedy import GreedyPlanner
from services.tasking.planner.optimal import OptimalPlanner, arrival_cost
from services.tasking.planner.problem import (
    Candidate,
    Demand,
    Place,
    Plan,
    Planner,
    PlanningProblem,
    free_counts,
    is_candidate,
    lendable_counts,
)
from shared.forces import Force, forces
from shared.vocabulary import Capability, LendingScope, Need, Priority, Window

NOW = datetime(2026, 12, 1, 8, tzinfo=UTC)
TRAVEL = travel_model(TaskingSettings())  # the service's own: roads, and ferries where there is sea
OTHER_CAPABILITIES = [Capability.AFO, Capability.DOG, Capability.POLSA, Capability.CBRN_T1, Capability.POM]
RESERVE_SHARE = 0.2
LEAD_MINUTES = {Priority.P1: (45, 120), Priority.P2: (120, 360), Priority.P3: (720, 2880)}
Batch = list[tuple[Priority, Demand]]


def surge_units(count: int, rng: random.Random, tied: bool) -> list[Candidate]:
    """Units of every force, in proportion to its officers, based near its HQ; tied: at the HQ, readiness 15/30."""
    table = sorted(forces().values(), key=lambda force: force.code)
    chosen = rng.choices(table, weights=[force.officers for force in table], k=count)
    wide = [Window(start=NOW - timedelta(days=1), end=NOW + timedelta(days=30))]
    short = [Window(start=NOW - timedelta(days=1), end=NOW + timedelta(days=2))]
    return [
        Candidate(
            unit_id=f"{force.code}-{number:04d}",
            force=force.code,
            region=force.region,
            capability=Capability.PSU if rng.random() < 0.75 else rng.choice(OTHER_CAPABILITIES),
            base=Place(force.hq_lat, force.hq_lon) if tied else near(force, rng, 0.25),
            readiness_minutes=rng.choice([15, 30]) if tied else rng.randint(15, 120),
            windows=short if rng.random() < 0.1 else wide,
            scope=rng.choices(list(LendingScope), weights=[5, 15, 80])[0],
        )
        for number, force in enumerate(chosen)
    ]


def near(force: Force, rng: random.Random, degrees: float) -> Place:
    """A random place up to `degrees` of latitude and of longitude from a force's HQ."""
    return Place(force.hq_lat + rng.uniform(-degrees, degrees), force.hq_lon + rng.uniform(-degrees, degrees))


def surge_requests(count: int, rng: random.Random) -> Batch:
    """Requests of random forces near their HQ, P1 to P3, 1-6 PSUs and sometimes another capability."""
    table = sorted(forces().values(), key=lambda force: force.code)
    batch = []
    for number in range(count):
        force, priority = rng.choice(table), rng.choice(list(Priority))
        required_by = NOW + timedelta(minutes=rng.randint(*LEAD_MINUTES[priority]))
        needs = [Need(capability=Capability.PSU, quantity=rng.randint(1, 6))]
        if rng.random() < 0.3:
            needs.append(Need(capability=rng.choice(OTHER_CAPABILITIES), quantity=rng.randint(1, 2)))
        demand = Demand(
            request_id=f"req-{number:03d}",
            requesting_force=force.code,
            requesting_region=force.region,
            location=near(force, rng, 0.1),
            required_by=required_by,
            end=required_by + timedelta(days=rng.randint(1, 3)),
            needs=needs,
        )
        batch.append((priority, demand))
    return sorted(batch, key=lambda item: (item[0].value, item[1].request_id))


def reserve_lendable(units: list[Candidate]) -> Counter[tuple[str, Capability]]:
    """Free units less a business-as-usual reserve of about a fifth per force and capability."""
    free = free_counts(units)
    reserves: dict[str, dict[Capability, int]] = {}
    for (force, capability), count in free.items():
        reserves.setdefault(force, {})[capability] = round(count * RESERVE_SHARE)
    return lendable_counts(free, reserves)


def plan_jointly(
    planner: Planner, batch: Batch, units: list[Candidate], lendable: Counter[tuple[str, Capability]]
) -> dict[str, Plan]:
    """Every request in one batch."""
    return planner.plan(PlanningProblem([demand for _, demand in batch], units, lendable, NOW), TRAVEL)


def plan_by_priority(
    planner: Planner, batch: Batch, units: list[Candidate], lendable: Counter[tuple[str, Capability]]
) -> dict[str, Plan]:
    """P1 first, then P2 with what P1 left, then P3."""
    plans: dict[str, Plan] = {}
    free, left = list(units), Counter(lendable)
    for priority in Priority:
        group = [demand for p, demand in batch if p == priority]
        planned = planner.plan(PlanningProblem(group, free, Counter(left), NOW), TRAVEL)
        taken = {allocation.unit_id for plan in planned.values() for allocation in plan.allocations}
        for plan in planned.values():
            for allocation in plan.allocations:
                left[(allocation.force, allocation.capability)] -= 1
        free = [unit for unit in free if unit.unit_id not in taken]
        plans |= planned
    return plans


def timed(run: Callable[[], dict[str, Plan]], repeat: int) -> tuple[list[float], dict[str, Plan]]:
    """Wall-clock seconds of each run (after one warm-up run) and the last plans."""
    plans = run()
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        plans = run()
        seconds.append(time.perf_counter() - start)
    return seconds, plans


def summary(label: str, seconds: list[float], plans: dict[str, Plan], batch: Batch) -> str:
    """One line: timing, then what the plans achieve (P1 apart)."""
    priority = {demand.request_id: p for p, demand in batch}
    given = [(request, a) for request, plan in plans.items() for a in plan.allocations]
    urgent = [a for request, a in given if priority[request] == Priority.P1]
    asked = sum(need.quantity for _, demand in batch for need in demand.needs)
    return (
        f"{label:<30} best {min(seconds) * 1000:6.1f} ms  median {statistics.median(seconds) * 1000:6.1f} ms  "
        f"filled {len(given)}/{asked}  on time {sum(not a.late for _, a in given)}  "
        f"arrival {sum(a.eta_minutes for _, a in given)} min  "
        f"P1: on time {sum(not a.late for a in urgent)}/{len(urgent)}, {sum(a.eta_minutes for a in urgent)} min  "
        f"forces per request {len({(request, a.force) for request, a in given}) / max(1, len(plans)):.2f}"
    )


def bare_flow_seconds(batch: Batch, units: list[Candidate], repeat: int) -> tuple[float, float, int]:
    """A plain min-cost flow of the same size (source, unit, need, sink): best build+solve and solve-only times."""
    needs = [(demand, need) for _, demand in batch for need in demand.needs]
    first_need, sink = 1 + len(units), 1 + len(units) + len(needs)
    arcs = [(0, 1 + index, 1, 0) for index in range(len(units))]
    arcs += [(first_need + slot, sink, need.quantity, 0) for slot, (_, need) in enumerate(needs)]
    for slot, (demand, need) in enumerate(needs):
        for index, unit in enumerate(units):
            if is_candidate(unit, demand, need.capability):
                eta = unit.readiness_minutes + TRAVEL.route(unit.base, demand.location).minutes
                arcs.append((1 + index, first_need + slot, 1, arrival_cost(eta)))
    tails, heads, capacities, costs = (list(column) for column in zip(*arcs, strict=True))
    whole, solve = float("inf"), float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        solver = min_cost_flow.SimpleMinCostFlow()
        solver.add_arcs_with_capacity_and_unit_cost(tails, heads, capacities, costs)
        solver.set_node_supply(0, sum(need.quantity for _, need in needs))
        solver.set_node_supply(sink, -sum(need.quantity for _, need in needs))
        solving = time.perf_counter()
        solver.solve_max_flow_with_min_cost()
        whole, solve = min(whole, time.perf_counter() - start), min(solve, time.perf_counter() - solving)
    return whole, solve, len(arcs) - len(units) - len(needs)


def run(units_count: int, requests: int, seed: int, repeat: int, tied: bool) -> None:
    """Build the surge, plan it every way, print the figures."""
    batch = surge_requests(requests, random.Random(seed))
    units = surge_units(units_count, random.Random(seed + 1), tied)  # the same requests, tied or not
    lendable = reserve_lendable(units)
    counts = Counter(priority.value for priority, _ in batch)
    print(
        f"{len(units)} units of {len({u.force for u in units})} forces ({sum(lendable.values())} lendable), "
        f"{len(batch)} requests (P1 {counts['P1']}, P2 {counts['P2']}, P3 {counts['P3']}), "
        f"{'tied: bases at HQ, readiness 15 or 30' if tied else 'bases near HQ, readiness 15-120'}, seed {seed}"
    )
    for label, planner, how in (
        ("optimiser, all in one batch", OptimalPlanner(), plan_jointly),
        ("greedy, all in one batch", GreedyPlanner(), plan_jointly),
        ("optimiser, P1 then P2 then P3", OptimalPlanner(), plan_by_priority),
        ("greedy, P1 then P2 then P3", GreedyPlanner(), plan_by_priority),
    ):
        seconds, plans = timed(partial(how, planner, batch, units, lendable), repeat)
        print(summary(label, seconds, plans, batch))
    whole, solve, arcs = bare_flow_seconds(batch, units, repeat)
    figures = f"solve alone {solve * 1000:.1f} ms; {arcs} unit->need arcs"
    print(f"{'bare min-cost flow':<30} best {whole * 1000:6.1f} ms  ({figures})")


def main() -> None:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=1200, help="units across all forces (default 1200)")
    parser.add_argument("--requests", type=int, default=50, help="competing requests (default 50)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs of each planner (default 7)")
    parser.add_argument("--tied", action="store_true", help="every unit at its HQ with readiness 15 or 30")
    args = parser.parse_args()
    run(args.units, args.requests, args.seed, args.repeat, args.tied)


if __name__ == "__main__":
    main()
