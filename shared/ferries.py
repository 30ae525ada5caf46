"""Reference data: ferry crossings (reference/ferries.csv) and the land masses they join (reference/landmasses.json)."""

import csv
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REFERENCE = Path(__file__).parent / "reference"


@dataclass(frozen=True)
class FerryRoute:
    """A crossing: its two ports (WGS84) and its sailing time in minutes, with its source."""

    name: str
    from_port: str
    from_lat: float
    from_lon: float
    to_port: str
    to_lat: float
    to_lon: float
    crossing_minutes: float
    source: str


@cache
def ferry_routes() -> tuple[FerryRoute, ...]:
    """Every crossing, read once from the reference CSV."""
    with (REFERENCE / "ferries.csv").open(newline="", encoding="utf-8") as handle:
        return tuple(
            FerryRoute(
                name=row["route"],
                from_port=row["from_port"],
                from_lat=float(row["from_lat"]),
                from_lon=float(row["from_lon"]),
                to_port=row["to_port"],
                to_lat=float(row["to_lat"]),
                to_lon=float(row["to_lon"]),
                crossing_minutes=float(row["crossing_minutes"]),
                source=row["source"],
            )
            for row in csv.DictReader(handle)
        )


@cache
def landmasses() -> dict[str, list[tuple[float, float]]]:
    """Each land mass a crossing reaches, as its polygon of (lat, lon) corners; elsewhere is Great Britain."""
    data = json.loads((REFERENCE / "landmasses.json").read_text(encoding="utf-8"))
    return {name: [(lat, lon) for lat, lon in corners] for name, corners in data["landmasses"].items()}
