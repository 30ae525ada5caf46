"""What a planning batch draws on: requests grouped by period, the units free in each group's period
(held ones set aside, those booked or off duty at the busiest moment counted out), and the forces that keep
theirs."""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from services.tasking.domain import RequestState, covered_by_tour, covered_in, outstanding
from services.tasking.models import Proposal, RequestView
from services.tasking.planner.problem import (
    TOUR,
    Candidate,
    Demand,
    Place,
    Plan,
    free_counts,
    lendable_counts,
)
from services.tasking.planner.records import set_aside_entry
from services.tasking.readmodel import PlanningReads, available_units, reserves
from shared.events import Allocation
from shared.messaging import UnitOfWork
from shared.reserve import Interval, away, most_at_once
from shared.vocabulary import Capability, Need, Window

TRAVEL_MARGIN = timedelta(hours=24)  # requests closer than this may want the same units: planned together


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


class ForcesInNeed:
    """The forces asking, in some period, for a capability, among the live requests given (rejected ones aside).

    Built once per planning run: asking it for one request is a look-up by force and capability, not a pass
    over every live request (a pass per pending proposal made a run quadratic in the requests in flight).
    """

    def __init__(self, live: Iterable[RequestView]) -> None:
        self._asking: dict[tuple[str, Capability], list[tuple[datetime, datetime]]] = {}
        for request in live:
            self.add(request)

    def add(self, request: RequestView) -> None:
        """Count the request's needs in (a request that is no longer REJECTED, say)."""
        if request.state == RequestState.REJECTED:
            return
        for need in request.needs:
            self._asking.setdefault((request.requesting_force, need.capability), []).append(request.period())

    def asks(self, force: str, capability: Capability, request: RequestView) -> bool:
        """The force asks for the capability in a period overlapping the request's, which needs it too."""
        periods = self._asking.get((force, capability), ())
        return any(need.capability == capability for need in request.needs) and any(
            overlaps(request, start, end) for start, end in periods
        )

    def of(self, request: RequestView) -> frozenset[tuple[str, Capability]]:
        """The forces asking, in a period overlapping this request's, for a capability it needs: they keep theirs."""
        wanted = {need.capability for need in request.needs}
        return frozenset(
            key
            for key, periods in self._asking.items()
            if key[1] in wanted and any(overlaps(request, start, end) for start, end in periods)
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
        excluded=frozenset(request.excluded_units),
    )


async def pool_for(
    work: UnitOfWork,
    batch: list[RequestView],
    kept: list[Proposal],
    owners: dict[str, RequestView],
    preemptible: set[str],
    reads: PlanningReads,
) -> Pool:
    """The units of the batch's capabilities, and what each force can lend in the batch's period.

    A unit a proposal holds (kept: those no request of the batch may take) is booked for what it
    serves, travel either side (holds_as_bookings): one held in the period is set aside, one held
    before or after it is offered if it has time to go and come back. Units only pending proposals
    of lower priorities hold are in, marked preemptible: taken only if they must be. What a force can
    lend: its units neither booked, held nor off duty at the busiest moment of the period, less its
    reserve (lendable_in).
    """
    capabilities = {need.capability for request in batch for need in request.needs}
    held = holds_as_bookings(kept, owners)
    units = [
        replace(u, bookings=(*u.bookings, *held.get(u.unit_id, ())), preemptible=u.unit_id in preemptible)
        if u.unit_id in held or u.unit_id in preemptible
        else u  # most units: as read (a copy of each costs more than the rest of the pool)
        for u in await reads.available_units(work.session, capabilities)
    ]
    period = (min(r.required_by for r in batch), max(r.end for r in batch))
    busy = {u.unit_id for u in units if any(w.start < period[1] and period[0] < w.end for w in held.get(u.unit_id, ()))}
    set_aside = [set_aside_entry(u, "HELD_BY_ANOTHER_PROPOSAL") for u in units if u.unit_id in busy]
    free = [u for u in units if u.unit_id not in busy]
    lendable = lendable_in(units, period, await reserves(work.session))
    return Pool(units=free, lendable=lendable, set_aside=set_aside)


def holds_as_bookings(
    proposals: list[Proposal],
    owners: dict[str, RequestView],
    *,
    leaving_out: tuple[str, set[str]] | None = None,
) -> dict[str, list[Window]]:
    """The bookings the units of these proposals will have once committed: the period each serves (its
    tour, or its request's), less its arrival time before and plus it after (as availability books).
    leaving_out: (a request, units) whose holds for that request are not counted (they stay on for it)."""
    held: dict[str, list[Window]] = {}
    for proposal in proposals:
        request = owners[proposal.request_id]
        for a in proposal.live_allocations():
            if leaving_out is not None and (proposal.request_id, a.unit_id in leaving_out[1]) == (leaving_out[0], True):
                continue
            travel = timedelta(minutes=a.eta_minutes)
            start, end = (a.start or request.required_by) - travel, (a.end or request.end) + travel
            held.setdefault(a.unit_id, []).append(Window(start=start, end=end))
    return held


def lendable_in(
    units: list[Candidate], period: Interval, reserves: dict[str, dict[Capability, int]]
) -> Counter[tuple[str, Capability]]:
    """What each force can lend of each capability in the period (UTC): its units neither booked nor,
    where it keeps a reserve, off duty at the busiest moment, less the reserve.

    Bookings count where they overlap the period itself: one that ends before it starts leaves the
    unit free, and each unit's own travel there and back is checked against its bookings per demand
    (free_around). Availability's reserve rule (services.availability.domain) counts a unit off duty
    outside its windows during the period. With no reserve that never limits a loan (each unit's own
    window is checked per demand); with one, the count here may be lower than availability's, which
    does not count the gaps of the units it lends: a cautious estimate.
    """
    booked = away_at_the_busiest(units, *period, on_duty_in=None)
    away = away_at_the_busiest(units, *period, on_duty_in=period)
    free = Counter(
        {
            key: n - (away[key] if reserves.get(key[0], {}).get(key[1], 0) else booked[key])
            for key, n in free_counts(units).items()
        }
    )
    return lendable_counts(free, reserves)


def away_at_the_busiest(
    units: list[Candidate], start: datetime, end: datetime, *, on_duty_in: Interval | None
) -> Counter[tuple[str, Capability]]:
    """Per force and capability, how many of these units are booked (from start to end, travel included) or
    off duty (outside their windows during on_duty_in, the requests' own period; None: windows not asked) at
    the busiest moment (shared.reserve). Windows matter only in the period itself: a unit declared from now
    is not off duty for the day before it that the travel margin spans."""
    by_key: dict[tuple[str, Capability], list[tuple[datetime, datetime]]] = {}
    for unit in units:
        bookings = [(b.start, b.end) for b in unit.bookings]
        if on_duty_in is None:
            intervals = away(bookings)
        else:
            intervals = away(bookings, [(w.start, w.end) for w in unit.windows], on_duty_in)
        by_key.setdefault((unit.force, unit.capability), []).extend(intervals)
    return Counter({key: most_at_once(intervals, start, end) for key, intervals in by_key.items()})


def held_for(request: RequestView, holding: list[Proposal]) -> list[Allocation]:
    """The allocations of the request's pending and approved proposals."""
    return [a for p in holding if p.request_id == request.request_id for a in p.live_allocations()]


def coverage(request: RequestView, holding: list[Proposal], tour_length: timedelta) -> list[Counter[Capability]]:
    """Units of each capability serving each tour of the request (its whole period when it has one tour)."""
    return covered_by_tour(request.tours(tour_length), request.period(), request.committed, held_for(request, holding))


def tour_demands(
    request: RequestView,
    held: list[Allocation],
    tour_length: timedelta,
    in_need: frozenset[tuple[str, Capability]],
    *,
    staying_on: bool = False,
) -> list[Demand]:
    """A demand per tour of a request for what no unit serves in that tour, planned from every region; none
    when it has one tour. staying_on: a demand for each run of short tours that starts where units serving
    the request end, for those units to stay on throughout it."""
    tour_list = request.tours(tour_length)
    if len(tour_list) < 2:
        return []
    ends = {a.end or request.end for a in held}
    short = [outstanding(request.needs, covered_in(t, request.period(), request.committed, held)) for t in tour_list]
    demands = []
    for index, (tour, needs) in enumerate(zip(tour_list, short, strict=True)):
        if not needs or (staying_on and tour[0] not in ends):
            continue
        end = tour[1]
        if staying_on:  # through the short tours that follow (tours are back to back)
            for later, later_needs in zip(tour_list[index + 1 :], short[index + 1 :], strict=True):
                if not later_needs:
                    break
                end = later[1]
        demand = demand_of(request, needs, regions=None, in_need=in_need)
        demands.append(replace(demand, request_id=f"{request.request_id}{TOUR}{index}", required_by=tour[0], end=end))
    return demands


async def staying_pool(
    work: UnitOfWork,
    request: RequestView,
    held: list[Allocation],
    holding: list[Proposal],
    owners: dict[str, RequestView],
    demands: list[Demand],
) -> Pool:
    """The units serving a request whose tour ends where one of `demands` starts, to stay on for it (their
    bookings for it set aside: a stay extends them), and what their forces can lend in those tours; every
    other unit a proposal holds counts as booked for what it serves."""
    starts = {demand.required_by for demand in demands}
    staying = {a.unit_id for a in held if (a.end or request.end) in starts}
    capabilities = {need.capability for demand in demands for need in demand.needs}
    holds = holds_as_bookings(holding, owners, leaving_out=(request.request_id, staying))
    units = [
        replace(u, bookings=(*u.bookings, *holds.get(u.unit_id, ())))
        for u in await available_units(work.session, capabilities, setting_aside=request.request_id)
    ]
    period = (min(starts), max(demand.end for demand in demands))
    lendable = lendable_in(units, period, await reserves(work.session))
    return Pool(units=[u for u in units if u.unit_id in staying], lendable=lendable)
