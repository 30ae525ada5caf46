"""Pure matching rules: candidate units, travel time and the nearest-first planner. No I/O."""

import math
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from shared.errors import Conflict
from shared.events import Allocation, ProposalStatus, Shortfall, UnitStatus
from shared.vocabulary import Capability, Need

EARTH_RADIUS_KM = 6371.0088


class RequestState(StrEnum):
    OPEN = "OPEN"
    PROPOSED = "PROPOSED"
    APPROVED = "APPROVED"
    MOBILISED = "MOBILISED"
    REJECTED = "REJECTED"
    UNFILLED = "UNFILLED"


@dataclass(frozen=True)
class Place:
    lat: float
    lon: float


@dataclass(frozen=True)
class Demand:
    """A request as the planner sees it."""

    request_id: str
    requesting_force: str
    location: Place
    required_by: datetime
    end: datetime
    needs: list[Need]


@dataclass(frozen=True)
class Candidate:
    """A unit as the planner sees it, from the tasking read model."""

    unit_id: str
    force: str
    capability: Capability
    base: Place
    readiness_minutes: int
    available_from: datetime
    available_until: datetime
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
    """Right capability, available, lent by another force, and free for the whole period."""
    return (
        unit.capability == capability
        and unit.status == UnitStatus.AVAILABLE
        and unit.force != demand.requesting_force
        and unit.available_from <= demand.required_by
        and demand.end <= unit.available_until
    )


def plan_nearest(demand: Demand, units: list[Candidate], travel: TravelModel) -> Plan:
    """Greedy baseline: for each need, the units that arrive soonest (ties by unit id)."""
    allocations: list[Allocation] = []
    unfilled: list[Shortfall] = []
    for need in demand.needs:
        ranked = []
        for unit in units:
            if not is_candidate(unit, demand, need.capability):
                continue
            distance = travel.distance_km(unit.base, demand.location)
            eta = unit.readiness_minutes + travel.minutes(distance)
            ranked.append((eta, unit.unit_id, unit, distance))
        ranked.sort(key=lambda item: (item[0], item[1]))
        for eta, _, unit, distance in ranked[: need.quantity]:
            allocations.append(
                Allocation(
                    unit_id=unit.unit_id,
                    force=unit.force,
                    capability=unit.capability,
                    eta_minutes=math.ceil(eta),
                    distance_km=round(distance, 1),
                )
            )
        missing = need.quantity - min(need.quantity, len(ranked))
        if missing:
            reason = f"only {len(ranked)} lendable {need.capability.value} free for the whole period"
            unfilled.append(Shortfall(capability=need.capability, quantity=missing, reason=reason))
    return Plan(allocations=allocations, unfilled=unfilled)


HOLDING_PROPOSALS = frozenset({ProposalStatus.PENDING, ProposalStatus.APPROVED})


def check_decidable(status: ProposalStatus) -> None:
    """Only a pending proposal can be approved or rejected."""
    if status != ProposalStatus.PENDING:
        raise Conflict(f"proposal is {status.value}; only a PENDING proposal can be decided")
