"""The console's map: latitude and longitude to SVG x/y and back, and the outline it draws under the forces.

One projection for every map the console draws (the national picture and the request form's picker):
equirectangular, with longitude shortened by the cosine of the middle latitude so that Great Britain
keeps its shape. static/map.js turns a click back into a place with `to_place`'s arithmetic, reading
the parameters from the map's data- attributes (`data_attributes`), so both sides use the same numbers.
"""

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

OUTLINE = Path(__file__).parent / "reference" / "outline.json"


@dataclass(frozen=True)
class Projection:
    """The box [south, north] x [west, east] drawn `width` units wide; height follows from the shape."""

    south: float = 49.8
    north: float = 59.0
    west: float = -10.7
    east: float = 2.0
    width: float = 600.0

    @property
    def scale(self) -> float:
        """SVG units per degree of latitude."""
        return self.width / ((self.east - self.west) * self.shrink)

    @property
    def shrink(self) -> float:
        """How much shorter a degree of longitude is than one of latitude, in the middle of the box."""
        return math.cos(math.radians((self.south + self.north) / 2))

    @property
    def height(self) -> float:
        return (self.north - self.south) * self.scale

    def to_xy(self, lat: float, lon: float) -> tuple[float, float]:
        """Where a place is drawn: x grows eastwards, y southwards."""
        return (lon - self.west) * self.shrink * self.scale, (self.north - lat) * self.scale

    def to_place(self, x: float, y: float) -> tuple[float, float]:
        """The place (lat, lon) drawn at x, y: the inverse of to_xy."""
        return self.north - y / self.scale, self.west + x / (self.shrink * self.scale)

    def data_attributes(self) -> dict[str, str]:
        """What static/map.js needs to invert the projection, as data- attributes of the map."""
        return {
            "data-north": f"{self.north}",
            "data-west": f"{self.west}",
            "data-scale": f"{self.scale:.6f}",
            "data-shrink": f"{self.shrink:.6f}",
        }


UK = Projection()


@cache
def outline_paths(projection: Projection = UK) -> tuple[str, ...]:
    """The SVG path data of each land mass in reference/outline.json, rounded to a tenth of a unit."""
    shapes = json.loads(OUTLINE.read_text(encoding="utf-8"))["shapes"]
    return tuple(path_of([projection.to_xy(lat, lon) for lat, lon in corners]) for corners in shapes.values())


def path_of(points: list[tuple[float, float]]) -> str:
    """A closed SVG path through the points."""
    return "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in points) + " Z"


def hull(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The convex hull of the points, anticlockwise (Andrew's monotone chain); fewer than three come back as given."""
    ordered = sorted(set(points))
    if len(ordered) < 3:
        return ordered

    def half(candidates: list[tuple[float, float]]) -> list[tuple[float, float]]:
        chain: list[tuple[float, float]] = []
        for point in candidates:
            while len(chain) >= 2 and _turn(chain[-2], chain[-1], point) <= 0:
                chain.pop()
            chain.append(point)
        return chain[:-1]

    return half(ordered) + half(ordered[::-1])


def _turn(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]) -> float:
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
