"""Reference data: the police forces and their mutual aid regions (reference/forces.csv)."""

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

FORCES_CSV = Path(__file__).parent / "reference" / "forces.csv"
NATIONAL_FORCES = "national"  # the region of forces that serve every region (BTP, CNC, MOD Police): no regional tier


@dataclass(frozen=True)
class Force:
    code: str
    name: str
    region: str
    hq_town: str
    hq_lat: float
    hq_lon: float
    officers: int


@cache
def forces() -> dict[str, Force]:
    """All forces by code, read once from the reference CSV."""
    with FORCES_CSV.open(newline="", encoding="utf-8") as handle:
        return {
            row["code"]: Force(
                code=row["code"],
                name=row["name"],
                region=row["region"],
                hq_town=row["hq_town"],
                hq_lat=float(row["hq_lat"]),
                hq_lon=float(row["hq_lon"]),
                officers=int(row["officers"]),
            )
            for row in csv.DictReader(handle)
        }


def regions() -> list[str]:
    """Region names in alphabetical order."""
    return sorted({force.region for force in forces().values()})


def region_of(force_code: str) -> str:
    """The region of a known force; KeyError for an unknown code."""
    return forces()[force_code].region
