"""What a planner works on: demands, candidate units, travel, eligibility and the plan it returns. No I/O."""

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from services.tasking.planner.travel import GreatCircleTravel, Place, TravelModel
from shared.events import Allocation, Shortfall, UnitStatus
from shared.reserve import lendable
from shared.vocabulary import Capability, LendingScope, Need, Window

__all__ = ["GreatCircleTravel", "Place", "TravelModel"]  # where the problem's callers have always found them

# eligibility: capability, status, other force, scope, window, bookings, force in need, tier, reserve
RULE_SET_VERSION = "2026.11-2"


TOUR = "#tour"  # a demand for one tour of a request is keyed "<request id>#tour<n>"


def request_of(demand_id: str) -> str:
    """The request a demand (the whole request, or one of its tours) belongs to."""
    return demand_id.split(TOUR, 1)[0]


@dataclass(frozen=True)
class Demand:
    """A request as the planner sees it: what is still needed, where, from when until when (UTC)."""

    request_id: str
    requesting_force: str
    requesting_region: str
    location: Place
    required_by: datetime
    end: datetime
    needs: list[Need]
    regions: frozenset[str] | None = None  # regional tier: only units of these regions; None: national
    in_need: frozenset[tuple[str, Capability]] = frozenset()  # forces asking for a capability at the same time
    excluded: frozenset[str] = frozenset()  # units that failed to commit to the request, or were refused for it


@dataclass(frozen=True)
class Candidate:
    """A unit as the planner sees it, from the tasking read model (readiness in minutes)."""

    unit_id: str
    force: str
    region: str
    capability: Capability
    base: Place
    readiness_minutes: int
    windows: list[Window]
    scope: LendingScope = LendingScope.NATIONAL
    status: UnitStatus = UnitStatus.AVAILABLE  # as its force declared it; bookings say when it is lent
    bookings: tuple[Window, ...] = ()  # when it is lent already, travel included
    preemptible: bool = False  # held by a pending proposal of a lower priority: taken only if it must be


@dataclass(frozen=True)
class Plan:
    """The units a planner sends to one demand, and what it could not fill with the reason."""

    allocations: list[Allocation]
    unfilled: list[Shortfall] = field(default_factory=list)


@dataclass(frozen=True)
class PlanningProblem:
    """Everything a planner may look at: the batch's demands, the free units, what each force can lend, and now."""

    demands: list[Demand]
    units: list[Candidate]
    lendable: Counter[tuple[str, Capability]]
    now: datetime


class Planner(Protocol):
    """Plans a batch of demands together; the same problem always gives the same plans."""

    name: str
    parameters: dict[str, object]  # the solver's settings, recorded with every run

    def plan(self, problem: PlanningProblem, travel: TravelModel) -> dict[str, Plan]: ...


def is_candidate(unit: Candidate, demand: Demand, capability: Capability) -> bool:
    """Right capability, available, lent by another force that allows it, in the tier, free for the whole period."""
    return unit.capability == capability and exclusion(unit, demand) is None


def exclusion(unit: Candidate, demand: Demand) -> str | None:
    """Why a unit of the right capability cannot serve the demand at all (a reason code), or None."""
    if unit.status != UnitStatus.AVAILABLE:
        return "NOT_AVAILABLE"
    if unit.unit_id in demand.excluded:
        return "FAILED_TO_COMMIT"
    if unit.force == demand.requesting_force:
        return "HOST_FORCE"
    if not scope_allows(unit.scope, unit.region, demand.requesting_region):
        return "SCOPE"
    if demand.regions is not None and unit.region not in demand.regions:
        return "OUTSIDE_REGION"
    if not any(w.start <= demand.required_by and demand.end <= w.end for w in unit.windows):
        return "WINDOW"
    if any(booking.start < demand.end and demand.required_by < booking.end for booking in unit.bookings):
        return "BOOKED"
    if (unit.force, unit.capability) in demand.in_need:
        return "IN_NEED"
    return None


def free_around(unit: Candidate, demand: Demand, eta_minutes: float) -> bool:
    """No booking of the unit overlaps the demand's period with its travel there and back (eta each way)."""
    if not unit.bookings:
        return True
    travel = timedelta(minutes=eta_minutes)
    start, end = demand.required_by - travel, demand.end + travel
    return not any(booking.start < end and start < booking.end for booking in unit.bookings)


def scope_allows(scope: LendingScope, unit_region: str, requesting_region: str) -> bool:
    """FORCE units are never lent, REGION units only inside their region, NATIONAL units anywhere."""
    return scope == LendingScope.NATIONAL or (scope == LendingScope.REGION and unit_region == requesting_region)


def lendable_counts(
    free: Counter[tuple[str, Capability]], reserves: dict[str, dict[Capability, int]]
) -> Counter[tuple[str, Capability]]:
    """How many units each (force, capability) can still lend: its free units less its reserve (shared.reserve)."""
    return Counter({key: lendable(n, reserves.get(key[0], {}).get(key[1], 0)) for key, n in free.items()})


def free_counts(units: list[Candidate]) -> Counter[tuple[str, Capability]]:
    """AVAILABLE units per (force, capability)."""
    return Counter((unit.force, unit.capability) for unit in units if unit.status == UnitStatus.AVAILABLE)


def arrives_late(demand: Demand, eta_minutes: float, *, now: datetime) -> bool:
    """True when a unit leaving now cannot be there by the request's required_by."""
    return now + timedelta(minutes=eta_minutes) > demand.required_by


def allocate(
    unit: Candidate, demand: Demand, travel: TravelModel, now: datetime
) -> tuple[float, str, Allocation] | None:
    """The unit sent to the demand: (arrival minutes, unit id, allocation), ordered soonest first, then by id.

    None when no road or crossing joins the unit's base to the demand, or another booking leaves it
    no time to get there and back.
    """
    leg = travel.route(unit.base, demand.location)
    eta = unit.readiness_minutes + leg.minutes
    if not math.isfinite(eta) or not free_around(unit, demand, eta):
        return None
    allocation = Allocation(
        unit_id=unit.unit_id,
        force=unit.force,
        capability=unit.capability,
        eta_minutes=math.ceil(eta),
        distance_km=round(leg.distance_km, 1),
        late=arrives_late(demand, eta, now=now),
        via=list(leg.via),
    )
    return eta, unit.unit_id, allocation


def by_request_of(plans: dict[str, Plan], demands: list[Demand]) -> dict[str, Plan]:
    """The plans of one run per request: the tours of a request in one plan, each unit stamped with its tour."""
    periods = {d.request_id: (d.required_by, d.end) for d in demands if d.request_id != request_of(d.request_id)}
    merged: dict[str, Plan] = {}
    for demand_id, plan in sorted(plans.items()):
        period = periods.get(demand_id)
        allocations = [
            a.model_copy(update={"start": period[0], "end": period[1]}) if period else a for a in plan.allocations
        ]
        unfilled = [
            s.model_copy(update={"reason": f"tour from {period[0]:%d %b %H:%M} UTC: {s.reason}"}) if period else s
            for s in plan.unfilled
        ]
        seen = merged.setdefault(request_of(demand_id), Plan(allocations=[], unfilled=[]))
        seen.allocations.extend(allocations)
        seen.unfilled.extend(unfilled)
    return merged
