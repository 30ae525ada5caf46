"""The national picture: what each force can lend, has committed and keeps in reserve, and the demand of
each region, from the services' answers (GET /v1/capacity on availability, GET /v1/requests on requests).

Pure: the page fetches, this sums and places. Each force's figures are for one capability, or summed
over all of them (units of every kind, as a count of units, not of officers).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from services.console.geo import UK, Projection, hull
from shared.forces import Force

# Requests still asking for units or holding them; the others are over (STOOD_DOWN, CLOSED, REJECTED, CANCELLED).
OPEN = ("SUBMITTED", "MATCHING", "ESCALATED", "PROPOSED", "APPROVED", "PARTIALLY_FILLED", "UNFILLED", "MOBILISED")
# Open requests that planning could not fill, wholly or in part: they wait for capacity to appear.
UNFILLED = ("UNFILLED", "PARTIALLY_FILLED")
# A force's marker by what it can lend: (fewest lendable for the band, its name in the legend).
BANDS = ((0, "none"), (1, "1 to 2"), (3, "3 to 5"), (6, "6 or more"))


@dataclass(frozen=True)
class ForcePoint:
    """A force on the map and in the table."""

    code: str
    name: str
    region: str
    x: float
    y: float
    declared: int
    lendable: int
    committed: int
    reserve: int

    @property
    def band(self) -> int:
        """The index in BANDS of what it can lend (its colour on the map)."""
        return max(i for i, (least, _) in enumerate(BANDS) if self.lendable >= least)

    @property
    def radius(self) -> float:
        return 7.0 + 1.5 * min(self.lendable, 8)


@dataclass(frozen=True)
class RegionDemand:
    """A region's demand: its open requests, the units they ask for, and how many of them planning could not
    fill, wholly or in part (how much of a partly filled request is missing is in its proposals, not here)."""

    region: str
    open_requests: int
    units_asked: int
    unfilled_requests: int


@dataclass(frozen=True)
class RegionArea:
    """A region drawn as the hull around its forces' headquarters, labelled at their middle."""

    region: str
    points: str
    label_x: float
    label_y: float


def force_points(
    capacity: dict[str, Any], known: Iterable[Force], capability: str | None, projection: Projection = UK
) -> list[ForcePoint]:
    """Every known force with its figures (0 for one that declared nothing), in the order of their names."""
    lines = {entry["force"]: entry["items"] for entry in capacity["forces"]}
    points = []
    for force in sorted(known, key=lambda f: f.name):
        items = [i for i in lines.get(force.code, []) if capability in (None, i["capability"])]
        x, y = projection.to_xy(force.hq_lat, force.hq_lon)
        totals = {key: sum(i[key] for i in items) for key in ("declared", "lendable", "committed", "reserve")}
        points.append(ForcePoint(force.code, force.name, force.region, round(x, 1), round(y, 1), **totals))
    return points


def demand_by_region(requests: Iterable[dict[str, Any]], regions: Iterable[str]) -> list[RegionDemand]:
    """Open and unfilled demand per region (every region listed, busiest first, then by name)."""
    tally = {region: [0, 0, 0] for region in regions}
    for request in requests:
        if request["status"] not in OPEN:
            continue
        units = sum(need["quantity"] for need in request["needs"])
        counts = tally.setdefault(request["requesting_region"], [0, 0, 0])
        for index, value in enumerate((1, units, int(request["status"] in UNFILLED))):
            counts[index] += value
    rows = [RegionDemand(region, *counts) for region, counts in tally.items()]
    return sorted(rows, key=lambda row: (-row.open_requests, row.region))


def region_areas(points: Iterable[ForcePoint]) -> list[RegionArea]:
    """Each region of more than one force as the outline around its headquarters."""
    by_region: dict[str, list[tuple[float, float]]] = {}
    for point in points:
        by_region.setdefault(point.region, []).append((point.x, point.y))
    areas = []
    for region, corners in sorted(by_region.items()):
        if len(corners) < 2 or region == "national":
            continue
        middle_x = sum(x for x, _ in corners) / len(corners)
        middle_y = sum(y for _, y in corners) / len(corners)
        outline = " ".join(f"{x},{y}" for x, y in hull(corners))
        areas.append(RegionArea(region, outline, round(middle_x, 1), round(middle_y, 1)))
    return areas
