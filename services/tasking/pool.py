"""What a planning batch draws on: requests grouped by period, the units free in each group's period
(held ones set aside, bookings counted at the busiest moment), and the forces that keep theirs."""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from services.tasking.domain import RequestState, covered
from services.tasking.models import Proposal, RequestView
from services.tasking.planner.problem import Candidate, Demand, Place, Plan, free_counts, lendable_counts
from services.tasking.planner.records import set_aside_entry
from services.tasking.readmodel import available_units, reserves
from shared.messaging import UnitOfWork
from shared.reserve import most_at_once
from shared.vocabulary import Capability, Need

TRAVEL_MARGIN = timedelta(hours=24)  # around a period: travel there and back, for holds and bookings


@dataclass
class Pool:
    """The units a batch may draw on, shrinking as the tiers take them."""

    units: list[Candidate]
    lendable: Counter[tuple[str, Capability]]
    set_aside: list[dict[str, str]] = field(default_factory=list)

    def take(self, plans: dict[str, Plan]) -> None:
        taken = {a.unit_id for plan in plans.values() for a in plan.allocations}
        self.units = [unit for unit in self.units if unit.unit_id not in taken]
        for plan in plans.values():
            for allocation in plan.allocations:
                self.lendable[(allocation.force, allocation.capability)] -= 1


def clusters(batch: list[RequestView]) -> list[list[RequestView]]:
    """The batch in groups whose periods overlap (with a day either side for travel): requests of different
    groups never want a unit at the same time, so each group is planned with the units free in its own period."""
    groups: list[list[RequestView]] = []
    hull_end = None
    for request in sorted(batch, key=lambda r: (r.required_by, r.request_id)):
        if groups and hull_end is not None and request.required_by - TRAVEL_MARGIN < hull_end:
            groups[-1].append(request)
            hull_end = max(hull_end, request.end + TRAVEL_MARGIN)
        else:
            groups.append([request])
            hull_end = request.end + TRAVEL_MARGIN
    return [sorted(group, key=lambda r: (r.received_at, r.request_id)) for group in groups]


def overlaps(request: RequestView, start: datetime, end: datetime) -> bool:
    return request.required_by < end and start < request.end


def forces_in_need(request: RequestView, live: Iterable[RequestView]) -> frozenset[tuple[str, Capability]]:
    """The forces asking, in a period overlapping this request's, for a capability it needs: they keep theirs."""
    wanted = {need.capability for need in request.needs}
    return frozenset(
        (other.requesting_force, need.capability)
        for other in live
        if other.state != RequestState.REJECTED and overlaps(other, request.required_by, request.end)
        for need in other.needs
        if need.capability in wanted
    )


def demand_of(
    request: RequestView,
    needs: list[Need],
    *,
    regions: frozenset[str] | None,
    in_need: frozenset[tuple[str, Capability]] = frozenset(),
) -> Demand:
    """What the planner is asked for a request: the needs still open, at its place and period, from these regions."""
    return Demand(
        request_id=request.request_id,
        requesting_force=request.requesting_force,
        requesting_region=request.requesting_region,
        location=Place(request.location_lat, request.location_lon),
        required_by=request.required_by,
        end=request.end,
        needs=needs,
        regions=regions,
        in_need=in_need,
    )


async def pool_for(
    work: UnitOfWork, batch: list[RequestView], held: set[str], preemptible: set[str], start: datetime, end: datetime
) -> Pool:
    """The units of the batch's capabilities that no proposal holds in the period (those only pending
    proposals of lower priorities hold are in, marked: taken only if they must be), and what each force
    can lend in it: its units neither held nor booked at the busiest moment of the period, less its reserve."""
    capabilities = {need.capability for request in batch for need in request.needs}
    units = await available_units(work.session, capabilities)
    excluded = {unit_id for request in batch for unit_id in request.excluded_units}
    kept = held - preemptible
    set_aside = [set_aside_entry(u, "HELD_BY_ANOTHER_PROPOSAL") for u in units if u.unit_id in kept]
    set_aside += [set_aside_entry(u, "FAILED_TO_COMMIT") for u in units if u.unit_id in excluded - kept]
    free = [replace(u, preemptible=u.unit_id in preemptible) for u in units if u.unit_id not in kept | excluded]
    not_held = [u for u in units if u.unit_id not in kept]
    free_in_period = free_counts(not_held) - booked_at_the_busiest(not_held, start, end)
    lendable = lendable_counts(free_in_period, await reserves(work.session))
    return Pool(units=free, lendable=lendable, set_aside=set_aside)


def booked_at_the_busiest(units: list[Candidate], start: datetime, end: datetime) -> Counter[tuple[str, Capability]]:
    """Per force and capability, how many of these units are booked at the busiest moment of the period."""
    by_key: dict[tuple[str, Capability], list[tuple[datetime, datetime]]] = {}
    for unit in units:
        by_key.setdefault((unit.force, unit.capability), []).extend((b.start, b.end) for b in unit.bookings)
    return Counter({key: most_at_once(intervals, start, end) for key, intervals in by_key.items()})


def covered_for(request: RequestView, holding: list[Proposal]) -> Counter[Capability]:
    held = [a for p in holding if p.request_id == request.request_id for a in p.live_allocations()]
    return covered(request.committed, held)
