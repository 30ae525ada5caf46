"""The greedy baseline a coordinator on the phone would follow: request by request, nearest unit first. No I/O."""

from collections import Counter
from datetime import datetime

from services.tasking.planner.problem import (
    Candidate,
    Demand,
    Plan,
    PlanningProblem,
    TravelModel,
    allocate,
    free_counts,
    is_candidate,
)
from shared.events import Allocation, Shortfall
from shared.vocabulary import Capability, Need


def plan_nearest(
    demand: Demand,
    units: list[Candidate],
    travel: TravelModel,
    *,
    now: datetime,
    lendable: Counter[tuple[str, Capability]] | None = None,
) -> Plan:
    """For each need, the units that arrive soonest (ties by unit id).

    No force gives more than its lendable count (default: its free units, no reserve).
    """
    remaining = Counter(lendable if lendable is not None else free_counts(units))
    allocations: list[Allocation] = []
    unfilled: list[Shortfall] = []
    for need in demand.needs:
        fitting = [unit for unit in units if is_candidate(unit, demand, need.capability)]
        held = {unit.unit_id for unit in fitting if unit.preemptible}
        candidates = (allocate(unit, demand, travel, now) for unit in fitting)
        # nearest first, but a unit a lower priority holds only after every free one
        ranked = sorted(
            (reachable for reachable in candidates if reachable is not None), key=lambda r: (r[1] in held, r)
        )
        chosen = 0
        reserve_limited: set[str] = set()
        for _, _, allocation in ranked:
            if chosen == need.quantity:
                break
            key = (allocation.force, allocation.capability)
            if remaining[key] <= 0:
                reserve_limited.add(allocation.force)
                continue
            remaining[key] -= 1
            chosen += 1
            allocations.append(allocation)
        missing = need.quantity - chosen
        if missing:
            unfilled.append(
                Shortfall(capability=need.capability, quantity=missing, reason=_why(need, len(ranked), reserve_limited))
            )
    return Plan(allocations=allocations, unfilled=unfilled)


def _why(need: Need, candidates: int, reserve_limited: set[str]) -> str:
    reason = f"only {candidates} lendable {need.capability.value} free for the whole period"
    if reserve_limited:
        reason += "; reserve would be breached in " + ", ".join(sorted(reserve_limited))
    return reason


class GreedyPlanner:
    """Plans the batch's demands one after another, each taking the nearest units left."""

    name = "greedy-nearest"
    parameters: dict[str, object] = {}

    def plan(self, problem: PlanningProblem, travel: TravelModel) -> dict[str, Plan]:
        lendable = Counter(problem.lendable)
        taken: set[str] = set()
        plans: dict[str, Plan] = {}
        for demand in problem.demands:
            units = [unit for unit in problem.units if unit.unit_id not in taken]
            plan = plan_nearest(demand, units, travel, lendable=lendable, now=problem.now)
            for allocation in plan.allocations:
                taken.add(allocation.unit_id)
                lendable[(allocation.force, allocation.capability)] -= 1
            plans[demand.request_id] = plan
        return plans
