"""Decision records: what a planning run saw and chose, why each other unit was left out, and its replay.

Pure: the inputs are plain JSON, so a run can be stored, explained and re-run later.
"""

import hashlib
from collections import Counter
from datetime import datetime
from typing import Any

from services.tasking.planner.problem import (
    Candidate,
    Demand,
    Place,
    Plan,
    PlanningProblem,
    exclusion,
    request_of,
)
from shared.canonical import canonical_json
from shared.events import UnitStatus
from shared.vocabulary import Capability, LendingScope, Need, Window


def record_inputs(problem: PlanningProblem, set_aside: list[dict[str, str]]) -> dict[str, Any]:
    """The problem as JSON, plus the units set aside before planning (held, not available) and why."""
    return {
        "now": problem.now.isoformat(),
        "demands": [_demand_json(demand) for demand in problem.demands],
        "units": [_unit_json(unit) for unit in problem.units],
        "lendable": sorted([force, capability.value, n] for (force, capability), n in problem.lendable.items()),
        "set_aside": sorted(set_aside, key=lambda item: item["unit_id"]),
    }


def digest(inputs: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(inputs).encode()).hexdigest()


def problem_from(inputs: dict[str, Any]) -> PlanningProblem:
    """Rebuild the exact problem a run planned, from its recorded inputs."""
    return PlanningProblem(
        demands=[_demand(item) for item in inputs["demands"]],
        units=[_unit(item) for item in inputs["units"]],
        lendable=Counter({(force, Capability(cap)): n for force, cap, n in inputs["lendable"]}),
        now=datetime.fromisoformat(inputs["now"]),
    )


def explain(inputs: dict[str, Any], request_id: str, plans: dict[str, Plan]) -> dict[str, Any]:
    """For one request of a run: each chosen unit with its score, each other candidate with a reason code."""
    problem = problem_from(inputs)
    demand = next(d for d in problem.demands if request_of(d.request_id) == request_id)
    capabilities = {need.capability for need in demand.needs}
    mine = {a.unit_id for a in plans[request_id].allocations} if request_id in plans else set()
    elsewhere = {a.unit_id for rid, plan in plans.items() if rid != request_id for a in plan.allocations}
    used = Counter((a.force, a.capability) for plan in plans.values() for a in plan.allocations)
    excluded = []
    for unit in problem.units:
        if unit.capability not in capabilities or unit.unit_id in mine:
            continue
        reason = exclusion(unit, demand) or (
            "TAKEN_BY_ANOTHER_REQUEST"
            if unit.unit_id in elsewhere
            else "RESERVE"
            if problem.lendable[(unit.force, unit.capability)] - used[(unit.force, unit.capability)] <= 0
            else "NOT_NEEDED"
        )
        excluded.append({"unit_id": unit.unit_id, "force": unit.force, "reason": reason})
    excluded += [item for item in inputs["set_aside"] if Capability(item["capability"]) in capabilities]
    chosen = [
        allocation.model_dump(mode="json") | {"score": allocation.eta_minutes}
        for allocation in plans.get(request_id, Plan(allocations=[])).allocations
    ]
    return {"chosen": chosen, "excluded": sorted(excluded, key=lambda item: (item["reason"], item["unit_id"]))}


def set_aside_entry(unit: Candidate, reason: str) -> dict[str, str]:
    return {"unit_id": unit.unit_id, "force": unit.force, "capability": unit.capability.value, "reason": reason}


def _demand_json(demand: Demand) -> dict[str, Any]:
    return {
        "request_id": demand.request_id,
        "requesting_force": demand.requesting_force,
        "requesting_region": demand.requesting_region,
        "location": [demand.location.lat, demand.location.lon],
        "required_by": demand.required_by.isoformat(),
        "end": demand.end.isoformat(),
        "needs": [{"capability": need.capability.value, "quantity": need.quantity} for need in demand.needs],
        "regions": sorted(demand.regions) if demand.regions is not None else None,
        "in_need": sorted([force, capability.value] for force, capability in demand.in_need),
        "excluded": sorted(demand.excluded),
    }


def _demand(item: dict[str, Any]) -> Demand:
    return Demand(
        request_id=item["request_id"],
        requesting_force=item["requesting_force"],
        requesting_region=item["requesting_region"],
        location=Place(*item["location"]),
        required_by=datetime.fromisoformat(item["required_by"]),
        end=datetime.fromisoformat(item["end"]),
        needs=[Need.model_validate(need) for need in item["needs"]],
        regions=frozenset(item["regions"]) if item["regions"] is not None else None,
        in_need=frozenset((force, Capability(capability)) for force, capability in item.get("in_need", [])),
        excluded=frozenset(item.get("excluded", [])),  # runs recorded before set these units aside instead
    )


def _unit_json(unit: Candidate) -> dict[str, Any]:
    return {
        "unit_id": unit.unit_id,
        "force": unit.force,
        "region": unit.region,
        "capability": unit.capability.value,
        "base": [unit.base.lat, unit.base.lon],
        "readiness_minutes": unit.readiness_minutes,
        "windows": [[w.start.isoformat(), w.end.isoformat()] for w in unit.windows],
        "scope": unit.scope.value,
        "status": unit.status.value,
        "bookings": [[b.start.isoformat(), b.end.isoformat()] for b in unit.bookings],
    }


def _unit(item: dict[str, Any]) -> Candidate:
    return Candidate(
        unit_id=item["unit_id"],
        force=item["force"],
        region=item["region"],
        capability=Capability(item["capability"]),
        base=Place(*item["base"]),
        readiness_minutes=item["readiness_minutes"],
        windows=_windows(item["windows"]),
        scope=LendingScope(item["scope"]),
        status=UnitStatus(item["status"]),
        bookings=tuple(_windows(item.get("bookings", []))),
    )


def _windows(pairs: list[list[str]]) -> list[Window]:
    return [Window(start=datetime.fromisoformat(start), end=datetime.fromisoformat(end)) for start, end in pairs]
