"""Pure rules of lendable units: declarations, windows, lending scope, reserves and the all-or-nothing commit.

No I/O: handlers load snapshots, ask these functions, and store what they answer.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.errors import Conflict, InvalidInput, PreconditionFailed
from shared.events import CommitFailure, UnitStatus
from shared.reserve import ALWAYS, Interval, away, lendable, most_at_once
from shared.vocabulary import Capability, LendingScope, Window

DECLARABLE = frozenset({UnitStatus.AVAILABLE, UnitStatus.UNAVAILABLE, UnitStatus.WITHDRAWN})


@dataclass(frozen=True)
class Booking:
    """A unit booked for a request of a host force, from leaving base until back (UTC, travel included)."""

    unit_id: str
    request_id: str
    host_force: str
    start: datetime
    end: datetime
    capability: Capability | None = None  # known where a rule asks what a force receives

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start < end and start < self.end


@dataclass(frozen=True)
class UnitSnapshot:
    """What the commit and capacity rules need to know of a unit: status is what its force declared."""

    unit_id: str
    force: str
    region: str
    capability: Capability
    status: UnitStatus
    windows: list[Window]
    scope: LendingScope = LendingScope.NATIONAL
    bookings: tuple[Booking, ...] = ()

    def booked(self, start: datetime, end: datetime) -> Booking | None:
        """The first booking overlapping the period, if any."""
        return next((booking for booking in self.bookings if booking.overlaps(start, end)), None)

    def away(self, on_duty_in: Interval = ALWAYS) -> list[Interval]:
        """When the unit is not free at home: booked, or outside its windows during on_duty_in (shared.reserve)."""
        return away([(b.start, b.end) for b in self.bookings], [(w.start, w.end) for w in self.windows], on_duty_in)


def status_at(unit: UnitSnapshot, now: datetime) -> tuple[UnitStatus, str | None]:
    """The unit's status as the API and events show it, and the request it is committed to.

    COMMITTED (to the request of its earliest booking) while a booking has not ended; else as declared.
    """
    live = sorted((b for b in unit.bookings if b.end > now), key=lambda b: b.start)
    if live and unit.status == UnitStatus.AVAILABLE:
        return UnitStatus.COMMITTED, live[0].request_id
    return unit.status, None


def most_booked_at_once(bookings: list[Booking], start: datetime, end: datetime) -> int:
    """The most of these bookings that overlap the period at one instant (shared.reserve.most_at_once)."""
    return most_at_once([(booking.start, booking.end) for booking in bookings], start, end)


@dataclass(frozen=True)
class ForcePolicy:
    """A force's business-as-usual reserve and national commitment, per capability."""

    reserve: dict[Capability, int] = field(default_factory=dict)
    national_commitment: dict[Capability, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Tasking:
    """What an approved tasking asks availability to commit: each unit for its period, travel either side.

    unit_ids and eta_minutes go together: a unit is booked from the start of its period less its
    arrival time until the end of it plus the same time back. A unit's period is the request's, or
    its tour's (`periods`) when the request is relieved in tours.
    """

    request_id: str
    host_force: str
    requesting_region: str
    start: datetime
    end: datetime
    unit_ids: list[str]
    eta_minutes: list[int] = field(default_factory=list)
    periods: dict[str, tuple[datetime, datetime]] = field(default_factory=dict)

    def period(self, unit_id: str) -> tuple[datetime, datetime]:
        """When the unit serves the request: its tour, or the whole request."""
        return self.periods.get(unit_id, (self.start, self.end))

    def booking(self, unit_id: str) -> tuple[datetime, datetime]:
        """The interval a unit of this tasking is booked for."""
        travel = timedelta(minutes=dict(zip(self.unit_ids, self.eta_minutes, strict=False)).get(unit_id, 0))
        start, end = self.period(unit_id)
        return start - travel, end + travel


def merge_windows(windows: list[Window]) -> list[Window]:
    """Windows in order, overlapping or touching ones merged; refuses an empty or backwards window."""
    if not windows:
        raise InvalidInput("a unit needs at least one availability window")
    for window in windows:
        if window.end <= window.start:
            raise InvalidInput(f"window {window.start.isoformat()} to {window.end.isoformat()} ends before it starts")
    merged: list[Window] = []
    for window in sorted(windows, key=lambda w: w.start):
        if merged and window.start <= merged[-1].end:
            merged[-1] = Window(start=merged[-1].start, end=max(merged[-1].end, window.end))
        else:
            merged.append(window)
    return merged


def covers(windows: list[Window], start: datetime, end: datetime) -> bool:
    """True when one window spans the whole period."""
    return any(window.start <= start and end <= window.end for window in windows)


def check_declarable(wanted: UnitStatus, bookings: tuple[Booking, ...], now: datetime) -> None:
    """A force may declare a unit AVAILABLE, UNAVAILABLE or WITHDRAWN, but not change one that is booked."""
    if wanted not in DECLARABLE:
        raise InvalidInput(f"status {wanted.value} cannot be declared; COMMITTED comes only from an approved tasking")
    live = [booking for booking in bookings if booking.end > now]
    if live:
        raise Conflict(f"the unit is committed to request {live[0].request_id}; recall it first")


def check_version(current: int | None, expected: int | None, *, create_only: bool = False) -> None:
    """Optimistic concurrency: refuse an update based on a version that is no longer the latest.

    create_only (HTTP `If-None-Match: *`) refuses any update: only a unit not yet declared passes.
    Raises PreconditionFailed (412).
    """
    if create_only and current is not None:
        raise PreconditionFailed(f"the unit is already declared (version {current}); If-None-Match: * only creates")
    if expected is not None and current != expected:
        held = "no such unit" if current is None else f"the unit is at version {current}"
        raise PreconditionFailed(f"update was based on version {expected} but {held}; read it again")


def commit_failures(
    tasking: Tasking,
    units: dict[str, UnitSnapshot],
    *,
    force_units: list[UnitSnapshot],
    policies: dict[str, ForcePolicy],
    receiving: list[Booking],
) -> list[CommitFailure]:
    """Why the tasking's units cannot all be committed; empty when they can.

    force_units: every unit the lending forces declared, with its bookings (for the reserve);
    receiving: the bookings of units lent to the lending forces (a force in need does not lend).
    Each unit must exist, be declared AVAILABLE, have a window covering the period, be free of
    other bookings for its whole interval and be lendable to the requester's region; its force
    must not be receiving that capability in an overlapping period; and at every instant of the
    interval each force must keep at least its reserve free.
    """
    failures: list[CommitFailure] = []
    if len(set(tasking.unit_ids)) != len(tasking.unit_ids):
        failures.append(CommitFailure(unit_id="*", rule="distinct", reason="a unit appears twice in the tasking"))
    committable: list[UnitSnapshot] = []
    for unit_id in dict.fromkeys(tasking.unit_ids):
        unit = units.get(unit_id)
        failure = _unit_failure(unit_id, unit, tasking, receiving)
        if failure is not None:
            failures.append(failure)
        elif unit is not None:
            committable.append(unit)
    return failures + _reserve_failures(tasking, committable, force_units, policies)


def _reserve_failures(
    tasking: Tasking, committable: list[UnitSnapshot], force_units: list[UnitSnapshot], policies: dict[str, ForcePolicy]
) -> list[CommitFailure]:
    """At every instant of the tasking's intervals, each lending force keeps its reserve free."""
    taking = Counter((unit.force, unit.capability) for unit in committable)
    taken = {unit.unit_id for unit in committable}
    served = (
        min((tasking.period(u.unit_id)[0] for u in committable), default=tasking.start),
        max((tasking.period(u.unit_id)[1] for u in committable), default=tasking.end),
    )
    start = min((tasking.booking(unit.unit_id)[0] for unit in committable), default=tasking.start)
    end = max((tasking.booking(unit.unit_id)[1] for unit in committable), default=tasking.end)
    failures = []
    for unit in committable:
        key = (unit.force, unit.capability)
        mine = [u for u in force_units if (u.force, u.capability) == key and u.status == UnitStatus.AVAILABLE]
        away_at = [interval for u in mine for interval in _away(u, tasking, taken, served)]
        busiest = most_at_once(away_at, start, end)
        free = len(mine) - busiest
        reserve = policies.get(unit.force, ForcePolicy()).reserve.get(unit.capability, 0)
        if lendable(free, reserve) < taking[key]:
            reason = (
                f"reserve would be breached in {unit.force}: {reserve} {unit.capability.value} must stay,"
                f" {free} free (on duty, not booked) throughout the period, this tasking takes {taking[key]}"
            )
            failures.append(CommitFailure(unit_id=unit.unit_id, rule="reserve", reason=reason))
    return failures


def _away(unit: UnitSnapshot, tasking: Tasking, taken: set[str], served: Interval) -> list[Interval]:
    """When a unit of a lending force is not free at home during the tasking: booked, or off duty while the
    units serve. A unit the tasking takes is counted as taken throughout (its window was checked for its own
    period), with its bookings for other requests; its booking for this request merges with the new one
    (staying on), so it counts once."""
    if unit.unit_id in taken:
        return away([(b.start, b.end) for b in unit.bookings if b.request_id != tasking.request_id])
    return unit.away(on_duty_in=served)


def _unit_failure(
    unit_id: str, unit: UnitSnapshot | None, tasking: Tasking, receiving: list[Booking]
) -> CommitFailure | None:
    if unit is None:
        return CommitFailure(unit_id=unit_id, rule="exists", reason="no such unit is declared")
    if unit.status != UnitStatus.AVAILABLE:
        return CommitFailure(unit_id=unit_id, rule="available", reason=f"unit is {unit.status.value}")
    serves = tasking.period(unit_id)
    if not covers(unit.windows, *serves):
        period = f"{serves[0].isoformat()} to {serves[1].isoformat()}"
        return CommitFailure(unit_id=unit_id, rule="window", reason=f"no availability window covers {period}")
    start, end = tasking.booking(unit_id)
    clash = next((b for b in unit.bookings if b.overlaps(start, end) and b.request_id != tasking.request_id), None)
    if clash is not None:
        reason = (
            f"unit is booked for request {clash.request_id} from {clash.start.isoformat()} to {clash.end.isoformat()}"
        )
        return CommitFailure(unit_id=unit_id, rule="booked", reason=reason)
    if not scope_allows(unit, tasking.requesting_region):
        reason = f"lending scope {unit.scope.value} does not allow lending to the {tasking.requesting_region} region"
        return CommitFailure(unit_id=unit_id, rule="scope", reason=reason)
    need = next((b for b in receiving if _receives(b, unit, start, end)), None)
    if need is not None:
        reason = (
            f"{unit.force} is itself receiving {unit.capability.value} for request {need.request_id} in an"
            " overlapping period: a force in need does not lend what it needs"
        )
        return CommitFailure(unit_id=unit_id, rule="in_need", reason=reason)
    return None


def _receives(booking: Booking, unit: UnitSnapshot, start: datetime, end: datetime) -> bool:
    """The booking lends the unit's force a unit of the same capability in an overlapping period."""
    return booking.host_force == unit.force and booking.capability == unit.capability and booking.overlaps(start, end)


def scope_allows(unit: UnitSnapshot, requesting_region: str) -> bool:
    """FORCE units are never lent, REGION units only inside their region, NATIONAL units anywhere."""
    if unit.scope == LendingScope.NATIONAL:
        return True
    return unit.scope == LendingScope.REGION and unit.region == requesting_region


def check_recallable(unit: UnitSnapshot, now: datetime) -> list[str]:
    """Only a booked unit can be recalled; returns the requests its bookings that have not ended serve."""
    live = sorted({booking.request_id for booking in unit.bookings if booking.end > now})
    if not live:
        raise Conflict(f"unit {unit.unit_id} is {unit.status.value}, not committed; there is nothing to recall")
    return live


@dataclass(frozen=True)
class CapacityLine:
    capability: Capability
    declared: int
    available: int
    committed: int
    reserve: int
    lendable: int
    national_commitment: int
    commitment_met: bool


def capacity(units: list[UnitSnapshot], policy: ForcePolicy, start: datetime, end: datetime) -> list[CapacityLine]:
    """Per capability, over a period (an instant when start == end): what a force declared, has free
    throughout (declared AVAILABLE, on duty in a window and not booked, at the busiest moment), has
    lent at the busiest moment, must keep and can still lend.

    lendable = available - reserve, never below 0 (shared.reserve). The national commitment is met when what the
    force has lent plus what it can still lend reaches it.
    """
    declared = Counter(u.capability for u in units if u.status != UnitStatus.WITHDRAWN)
    committed: Counter[Capability] = Counter()
    available: Counter[Capability] = Counter()
    for capability in set(declared):
        mine = [u for u in units if u.capability == capability and u.status == UnitStatus.AVAILABLE]
        bookings = [b for u in mine for b in u.bookings]
        committed[capability] = most_booked_at_once(bookings, start, end)
        available[capability] = len(mine) - most_at_once([i for u in mine for i in u.away()], start, end)
    capabilities = set(declared) | set(policy.reserve) | set(policy.national_commitment)
    lines = []
    for capability in sorted(capabilities):
        reserve = policy.reserve.get(capability, 0)
        can_lend = lendable(available[capability], reserve)
        commitment = policy.national_commitment.get(capability, 0)
        lines.append(
            CapacityLine(
                capability=capability,
                declared=declared[capability],
                available=available[capability],
                committed=committed[capability],
                reserve=reserve,
                lendable=can_lend,
                national_commitment=commitment,
                commitment_met=committed[capability] + can_lend >= commitment,
            )
        )
    return lines


def sum_capacity(lines: list[CapacityLine]) -> list[CapacityLine]:
    """Totals per capability over several forces (a region or the nation)."""
    totals: dict[Capability, CapacityLine] = {}
    for line in lines:
        seen = totals.get(line.capability)
        if seen is None:
            totals[line.capability] = line
            continue
        totals[line.capability] = CapacityLine(
            capability=line.capability,
            declared=seen.declared + line.declared,
            available=seen.available + line.available,
            committed=seen.committed + line.committed,
            reserve=seen.reserve + line.reserve,
            lendable=seen.lendable + line.lendable,
            national_commitment=seen.national_commitment + line.national_commitment,
            commitment_met=seen.commitment_met and line.commitment_met,
        )
    return [totals[capability] for capability in sorted(totals)]
