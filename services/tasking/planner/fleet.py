"""The units of a planning problem as arrays, and which of them can serve a demand, all at once. No I/O.

`problem.exclusion` says, for one unit and one demand, why the unit cannot serve it; a run asks that of
every unit for every need of the batch (12,000 units and 500 requests: six million questions). The
fleet answers the same question for every unit of a capability in one pass of array operations, with
the same rules in the same terms; tests hold the two to the same answers.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from services.tasking.planner.problem import Candidate, Demand
from shared.events import UnitStatus
from shared.vocabulary import Capability, LendingScope, Window

Indices = NDArray[np.intp]
Mask = NDArray[np.bool_]
Instants = NDArray[np.int64]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def instant(moment: datetime) -> int:
    """A moment as whole microseconds since 1970 (UTC): exact, so comparisons agree with datetime's."""
    return (moment - EPOCH) // MICROSECOND


@dataclass(frozen=True)
class _Periods:
    """Periods of some units, flattened: the unit each belongs to, its start and end (instants)."""

    unit: Indices
    start: Instants
    end: Instants

    @classmethod
    def of(cls, periods: Iterable[tuple[int, Sequence[Window]]]) -> "_Periods":
        rows = [(index, instant(p.start), instant(p.end)) for index, windows in periods for p in windows]
        table = np.array(rows, dtype=np.int64).reshape(-1, 3)
        return cls(table[:, 0].astype(np.intp), table[:, 1], table[:, 2])

    def units_where(self, hit: Mask, size: int) -> Mask:
        """Which units (of `size`) have at least one period where `hit` holds."""
        found = np.zeros(size, dtype=np.bool_)
        found[self.unit[hit]] = True
        return found


@dataclass(frozen=True)
class _Kind:
    """The units of one capability: their indices in the fleet and what eligibility looks at, in that order."""

    members: Indices
    force: Indices
    region: Indices
    lent_anywhere: Mask  # AVAILABLE and lent nationally
    lent_in_region: Mask  # AVAILABLE and lent in its own region only
    windows: _Periods  # unit: the position in members
    bookings: _Periods


class Fleet:
    """The units of a problem, in the order given, as arrays of their attributes.

    units: the candidates (the optimiser passes them in unit id order). Indices are positions in that list.
    """

    def __init__(self, units: Sequence[Candidate]) -> None:
        self.units = list(units)
        self.index = {unit.unit_id: index for index, unit in enumerate(self.units)}
        self._forces = {force: n for n, force in enumerate(sorted({unit.force for unit in self.units}))}
        self._regions = {region: n for n, region in enumerate(sorted({unit.region for unit in self.units}))}
        self.readiness = np.array([unit.readiness_minutes for unit in self.units], dtype=np.float64)
        self.has_bookings = np.array([bool(unit.bookings) for unit in self.units], dtype=np.bool_)
        members: dict[Capability, list[int]] = {}
        for index, unit in enumerate(self.units):
            members.setdefault(unit.capability, []).append(index)
        self._kinds = {capability: self._kind(found) for capability, found in members.items()}

    def _kind(self, members: list[int]) -> _Kind:
        units = [self.units[index] for index in members]
        available = np.array([unit.status == UnitStatus.AVAILABLE for unit in units], dtype=np.bool_)
        scope = np.array([unit.scope.value for unit in units], dtype=object)
        return _Kind(
            members=np.array(members, dtype=np.intp),
            force=np.array([self._forces[unit.force] for unit in units], dtype=np.intp),
            region=np.array([self._regions[unit.region] for unit in units], dtype=np.intp),
            lent_anywhere=available & (scope == LendingScope.NATIONAL.value),
            lent_in_region=available & (scope == LendingScope.REGION.value),
            windows=_Periods.of(enumerate(unit.windows for unit in units)),
            bookings=_Periods.of((n, unit.bookings) for n, unit in enumerate(units) if unit.bookings),
        )

    def eligible(self, demand: Demand, capability: Capability) -> Indices:
        """The units of `capability` that can serve the demand (`problem.is_candidate`), in ascending index."""
        kind = self._kinds.get(capability)
        if kind is None:
            return np.array([], dtype=np.intp)
        size = len(kind.members)
        start, end = instant(demand.required_by), instant(demand.end)
        fits = kind.lent_anywhere | (
            kind.lent_in_region & (kind.region == self._regions.get(demand.requesting_region, -1))
        )
        fits &= kind.force != self._forces.get(demand.requesting_force, -1)
        if demand.regions is not None:
            fits &= np.isin(kind.region, [self._regions[r] for r in demand.regions if r in self._regions])
        in_need = [self._forces[f] for f, wanted in demand.in_need if wanted == capability and f in self._forces]
        if in_need:
            fits &= ~np.isin(kind.force, in_need)
        windows, bookings = kind.windows, kind.bookings
        fits &= windows.units_where((windows.start <= start) & (end <= windows.end), size)
        fits &= ~bookings.units_where((bookings.start < end) & (start < bookings.end), size)
        found: Indices = kind.members[fits]
        if demand.excluded:
            found = found[~np.isin(found, [self.index[u] for u in demand.excluded if u in self.index])]
        return found
