"""Pure matching rules: candidate units, travel time and the nearest-first planner. No I/O."""

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from shared.errors import Conflict, Forbidden
from shared.events import Allocation, ProposalStatus, Shortfall, UnitStatus
from shared.vocabulary import Capability, LendingScope, Need, Window

EARTH_RADIUS_KM = 6371.0088


RULE_SET_VERSION = "2026.11-1"  # eligibility: capability, status, other force, scope, window, tier, reserve


class RequestState(StrEnum):
    OPEN = "OPEN"  # has needs that no pending, approved or committed unit covers: to be planned
    PROPOSED = "PROPOSED"
    APPROVED = "APPROVED"
    MOBILISED = "MOBILISED"
    REJECTED = "REJECTED"
    UNFILLED = "UNFILLED"
    CANCELLED = "CANCELLED"
    STOOD_DOWN = "STOOD_DOWN"


CLOSED_STATES = frozenset({RequestState.REJECTED, RequestState.CANCELLED, RequestState.STOOD_DOWN})


@dataclass(frozen=True)
class Place:
    lat: float
    lon: float


@dataclass(frozen=True)
class Demand:
    """A request as the planner sees it."""

    request_id: str
    requesting_force: str
    requesting_region: str
    location: Place
    required_by: datetime
    end: datetime
    needs: list[Need]
    regions: frozenset[str] | None = None  # regional tier: only units of these regions; None: national


@dataclass(frozen=True)
class Candidate:
    """A unit as the planner sees it, from the tasking read model."""

    unit_id: str
    force: str
    region: str
    capability: Capability
    base: Place
    readiness_minutes: int
    windows: list[Window]
    scope: LendingScope = LendingScope.NATIONAL
    status: UnitStatus = UnitStatus.AVAILABLE


@dataclass(frozen=True)
class Plan:
    allocations: list[Allocation]
    unfilled: list[Shortfall] = field(default_factory=list)


class TravelModel(Protocol):
    """Distance and travel time between two places; a routing service could stand behind it."""

    def distance_km(self, origin: Place, destination: Place) -> float: ...

    def minutes(self, distance_km: float) -> float: ...


@dataclass(frozen=True)
class GreatCircleTravel:
    """Great-circle distance times a road factor, driven at a convoy speed."""

    road_factor: float = 1.3
    convoy_speed_kmh: float = 80.0

    def distance_km(self, origin: Place, destination: Place) -> float:
        lat1, lon1, lat2, lon2 = map(math.radians, (origin.lat, origin.lon, destination.lat, destination.lon))
        a = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
        return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a)) * self.road_factor

    def minutes(self, distance_km: float) -> float:
        return distance_km / self.convoy_speed_kmh * 60


def is_candidate(unit: Candidate, demand: Demand, capability: Capability) -> bool:
    """Right capability, available, lent by another force that allows it, in the tier, free for the whole period."""
    return unit.capability == capability and exclusion(unit, demand) is None


def exclusion(unit: Candidate, demand: Demand) -> str | None:
    """Why a unit of the right capability cannot serve the demand at all (a reason code), or None."""
    if unit.status != UnitStatus.AVAILABLE:
        return "NOT_AVAILABLE"
    if unit.force == demand.requesting_force:
        return "HOST_FORCE"
    if not scope_allows(unit.scope, unit.region, demand.requesting_region):
        return "SCOPE"
    if demand.regions is not None and unit.region not in demand.regions:
        return "OUTSIDE_REGION"
    if not any(w.start <= demand.required_by and demand.end <= w.end for w in unit.windows):
        return "WINDOW"
    return None


def outstanding(needs: list[Need], covered: Counter[Capability]) -> list[Need]:
    """What of the needs no unit covers yet (pending, approved or committed)."""
    left = []
    for need in needs:
        missing = need.quantity - covered[need.capability]
        if missing > 0:
            left.append(need.model_copy(update={"quantity": missing}))
    return left


def scope_allows(scope: LendingScope, unit_region: str, requesting_region: str) -> bool:
    """FORCE units are never lent, REGION units only inside their region, NATIONAL units anywhere."""
    return scope == LendingScope.NATIONAL or (scope == LendingScope.REGION and unit_region == requesting_region)


def lendable_counts(
    free: Counter[tuple[str, Capability]], reserves: dict[str, dict[Capability, int]]
) -> Counter[tuple[str, Capability]]:
    """How many units each force can still lend per capability: its free units less its reserve."""
    return Counter({key: max(0, n - reserves.get(key[0], {}).get(key[1], 0)) for key, n in free.items()})


def arrives_late(demand: Demand, eta_minutes: float, *, now: datetime | None = None) -> bool:
    """True when a unit leaving now cannot be there by the request's required_by."""
    departure = now or datetime.now(UTC)
    return departure + timedelta(minutes=eta_minutes) > demand.required_by


def free_counts(units: list[Candidate]) -> Counter[tuple[str, Capability]]:
    return Counter((unit.force, unit.capability) for unit in units if unit.status == UnitStatus.AVAILABLE)


def allocate(
    unit: Candidate, demand: Demand, travel: TravelModel, now: datetime | None
) -> tuple[float, str, Allocation]:
    """The unit sent to the demand: (arrival minutes, unit id, allocation), ordered soonest first, then by id."""
    distance = travel.distance_km(unit.base, demand.location)
    eta = unit.readiness_minutes + travel.minutes(distance)
    allocation = Allocation(
        unit_id=unit.unit_id,
        force=unit.force,
        capability=unit.capability,
        eta_minutes=math.ceil(eta),
        distance_km=round(distance, 1),
        late=arrives_late(demand, eta, now=now),
    )
    return eta, unit.unit_id, allocation


def plan_nearest(
    demand: Demand,
    units: list[Candidate],
    travel: TravelModel,
    *,
    lendable: Counter[tuple[str, Capability]] | None = None,
    now: datetime | None = None,
) -> Plan:
    """Greedy baseline: for each need, the units that arrive soonest (ties by unit id).

    No force gives more than its lendable count (default: its free units, no reserve).
    """
    remaining = Counter(lendable if lendable is not None else free_counts(units))
    allocations: list[Allocation] = []
    unfilled: list[Shortfall] = []
    for need in demand.needs:
        ranked = sorted(
            allocate(unit, demand, travel, now) for unit in units if is_candidate(unit, demand, need.capability)
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


def check_approver(role: str, region: str | None, lending_regions: set[str]) -> None:
    """A regional coordinator decides only on units of their own region; cross-region needs a national one."""
    if role == "national_coordinator":
        return
    outside = sorted(lending_regions - {region} if region else lending_regions)
    if outside:
        raise Forbidden(
            f"a coordinator of {region or 'no region'} cannot decide on units from {', '.join(outside)};"
            " cross-region tasking needs a national coordinator"
        )


HOLDING_PROPOSALS = frozenset({ProposalStatus.PENDING, ProposalStatus.APPROVED})


def check_decidable(status: ProposalStatus) -> None:
    """Only a pending proposal can be approved or rejected."""
    if status != ProposalStatus.PENDING:
        raise Conflict(f"proposal is {status.value}; only a PENDING proposal can be decided")


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


class GreedyPlanner:
    """The baseline a coordinator on the phone would follow: request by request, nearest unit first."""

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
