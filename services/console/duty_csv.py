"""A duty system's CSV export of a force's units: read into the body of PUT /v1/forces/{code}/units, and
compared with the units declared now to show what applying it would change (the dry run). Pure: no I/O.

The columns are those `mutualaid units-import` reads (docs/examples/units.csv), the file read as
shared.duty_file reads exports: one row per availability window, a unit with several windows repeating its
unit_id. The console only reads each cell as its type; the availability service alone judges the declarations
when the file is applied. The comparison is made here, before anything is sent, by the service's rules (a unit
booked now is kept as it is); the service's own counts come back when it is applied.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, FiniteFloat, ValidationError

from shared.duty_file import Row, read_table
from shared.events import UnitStatus
from shared.vocabulary import Capability, LendingScope

MOST_UNITS = 5000  # what PUT /v1/forces/{code}/units takes at once
REQUIRED = ("unit_id", "capability", "base_lat", "base_lon", "readiness_minutes", "available_from", "available_until")
COLUMNS = (*REQUIRED, "base_description", "scope", "status", "force")
COMPARED = ("capability", "base", "readiness_minutes", "scope", "status", "windows")


class DutyRow(BaseModel):
    """One line of the file: a unit and one window in which it is available."""

    model_config = ConfigDict(extra="forbid")

    unit_id: str
    capability: Capability
    base_lat: Annotated[FiniteFloat, Field(ge=49.0, le=61.0)]  # the services' GeoPoint: the UK
    base_lon: Annotated[FiniteFloat, Field(ge=-9.0, le=3.0)]
    base_description: str = ""
    readiness_minutes: int
    available_from: AwareDatetime
    available_until: AwareDatetime
    scope: LendingScope = LendingScope.NATIONAL
    status: UnitStatus = UnitStatus.AVAILABLE
    force: str = ""

    def declaration(self, force: str) -> dict[str, Any]:
        """The unit as PUT /v1/forces/{code}/units takes it (JSON), with this row's window."""
        return {
            "unit_id": self.unit_id,
            "force": force,
            "capability": self.capability.value,
            "base": {"lat": self.base_lat, "lon": self.base_lon, "description": self.base_description},
            "readiness_minutes": self.readiness_minutes,
            "scope": self.scope.value,
            "status": self.status.value,
            "windows": [{"start": self.available_from.isoformat(), "end": self.available_until.isoformat()}],
        }


class UnreadableFile(ValueError):
    """The file cannot be read as a duty system export; one line per problem, with its line and column."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def read_units(text: str, *, force: str) -> list[dict[str, Any]]:
    """The declarations of the file (its text, written as shared.duty_file reads exports: any of its delimiters,
    header names in any case, blank rows, UK dates), one per unit in file order; UnreadableFile lists every
    problem."""
    table = read_table(text, known=COLUMNS, times=("available_from", "available_until"))
    header_problems = _header_problems(table.columns)
    problems = [str(problem) for problem in table.problems] or header_problems
    bad_lines = {problem.line for problem in table.problems}
    units: dict[str, dict[str, Any]] = {}
    for row in [] if header_problems else table.rows:
        if row.line not in bad_lines:
            problems += _add_row(units, row, force)
    if not problems and not units:
        problems.append("there are no units in the file: refusing to withdraw every unit of the force")
    if len(units) > MOST_UNITS:
        problems.append(f"the file has {len(units):,} units; the availability service takes at most {MOST_UNITS:,}")
    if problems:
        raise UnreadableFile(problems)
    return list(units.values())


def _header_problems(found: list[str]) -> list[str]:
    if not found:
        return [f"the file is empty: the first line names the columns ({', '.join(COLUMNS)})"]
    missing = [f"line 1: column {name} is missing" for name in REQUIRED if name not in found]
    unknown = [f"line 1: column {name!r} is not one of {', '.join(COLUMNS)}" for name in found if name not in COLUMNS]
    return missing + unknown


def _add_row(units: dict[str, dict[str, Any]], row: Row, force: str) -> list[str]:
    """Read one row into `units` (a repeated unit gains a window); the row's problems, if any."""
    line = row.line
    if row.extra:
        return [f"line {line}: more cells than the first line has columns"]
    try:
        duty = DutyRow.model_validate(row.cells)
    except ValidationError as error:
        return [f"line {line}, column {_column(e['loc'])}: {e['msg']}" for e in error.errors()]
    if duty.force not in ("", force):
        return [f"line {line}: unit {duty.unit_id} belongs to {duty.force}, not to {force}"]
    declared = duty.declaration(force)
    earlier = units.setdefault(duty.unit_id, declared)
    if earlier is not declared:
        if {k: v for k, v in earlier.items() if k != "windows"} != {
            k: v for k, v in declared.items() if k != "windows"
        }:
            return [f"line {line}: unit {duty.unit_id} differs from its earlier line in more than its window"]
        earlier["windows"] += declared["windows"]
    return []


def _column(loc: tuple[int | str, ...]) -> str:
    return str(loc[0]) if loc else "?"


@dataclass(frozen=True)
class Change:
    """One unit the file would add, update, withdraw or keep: what changes, or the booking that keeps it."""

    unit_id: str
    what: str = ""
    booked_for: str = ""


@dataclass(frozen=True)
class DryRun:
    """What applying the file would change, unit by unit."""

    added: list[Change] = field(default_factory=list)
    updated: list[Change] = field(default_factory=list)
    unchanged: list[Change] = field(default_factory=list)
    withdrawn: list[Change] = field(default_factory=list)
    kept: list[Change] = field(default_factory=list)  # booked now: the service keeps them as they are

    def fingerprint(self) -> str:
        """A digest of the changes: applying checks the units have not moved on since the dry run."""
        kinds = ("added", "updated", "withdrawn", "kept")
        parts = [f"{kind}:{c.unit_id}" for kind in kinds for c in getattr(self, kind)]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def dry_run(declared: list[dict[str, Any]], current: list[dict[str, Any]]) -> DryRun:
    """Compare the file's declarations with the force's units now (GET /v1/units?force=): added, updated,
    unchanged and withdrawn (declared now, left out of the file), as the service would count them; a unit booked
    now is kept as it is whatever the file says of it (named, changed or left out), as the service keeps it."""
    now = {unit["unit_id"]: unit for unit in current}
    run = DryRun()
    for unit in declared:
        held = now.get(unit["unit_id"])
        if held is None:
            run.added.append(Change(unit["unit_id"]))
            continue
        if _booking(held):
            run.kept.append(Change(unit["unit_id"], booked_for=_booking(held)))
            continue
        changed = [name for name in COMPARED if _as_declared(held)[name] != _as_declared(unit)[name]]
        (run.updated if changed else run.unchanged).append(Change(unit["unit_id"], ", ".join(changed)))
    named = {unit["unit_id"] for unit in declared}
    for unit_id, held in now.items():
        if unit_id in named or held["status"] == UnitStatus.WITHDRAWN:
            continue
        (run.kept if _booking(held) else run.withdrawn).append(Change(unit_id, booked_for=_booking(held)))
    return run


def _as_declared(unit: dict[str, Any]) -> dict[str, Any]:
    """The fields a declaration sets, comparable whether read from the file or from the service."""
    status = unit["status"]
    return {
        "capability": unit["capability"],
        "base": (float(unit["base"]["lat"]), float(unit["base"]["lon"]), unit["base"].get("description", "")),
        "readiness_minutes": int(unit["readiness_minutes"]),
        "scope": unit.get("scope", LendingScope.NATIONAL),
        "status": UnitStatus.AVAILABLE if status == UnitStatus.COMMITTED else status,
        "windows": _merged(unit["windows"]),
    }


def _merged(windows: list[dict[str, str]]) -> list[tuple[datetime, datetime]]:
    """Windows in order, overlapping or touching ones merged, as the service keeps them."""
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted((_time(w["start"]), _time(w["end"])) for w in windows):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _booking(unit: dict[str, Any]) -> str:
    return str(unit["bookings"][0]["request_id"]) if unit.get("bookings") else ""
