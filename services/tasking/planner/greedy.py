"""The greedy baseline a coordinator on the phone would follow: request by request, nearest unit first. No I/O."""

import math
from collections import Counter
from datetime import datetime

from services.tasking.planner.problem import (
    Candidate,
    Demand,
    Plan,
    PlanningProblem,
    TravelModel,
    allocate,
    free_around,
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
        minutes = travel.minutes_between([unit.base for unit in fitting], [demand.location])[0].tolist()
        # nearest first, but a unit a lower priority holds only after every free one
        ranked = sorted(
            (unit.unit_id in held, eta, unit.unit_id, unit)
            for unit, journey in zip(fitting, minutes, strict=True)
            if math.isfinite(eta := unit.readiness_minutes + journey) and free_around(unit, demand, eta)
        )
        chosen = 0
        reserve_limited: set[str] = set()
        for _, _, _, unit in ranked:
            if chosen == need.quantity:
                break
            key = (unit.force, unit.capability)
            if remaining[key] <= 0:
                reserve_limited.add(unit.force)
                continue
            sent = allocate(unit, demand, travel, now)
            if sent is None:  # cannot happen: the same journey was just found reachable
                continue
            remaining[key] -= 1
            chosen += 1
            allocations.append(sent[2])
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
