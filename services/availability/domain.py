"""Pure rules of lendable units: declarations and the all-or-nothing commit. No I/O."""

from dataclasses import dataclass
from datetime import datetime

from shared.errors import InvalidInput
from shared.events import CommitFailure, UnitStatus


@dataclass(frozen=True)
class UnitSnapshot:
    """What the commit rules need to know of a unit."""

    unit_id: str
    status: UnitStatus
    available_from: datetime
    available_until: datetime
    committed_to: str | None = None


def check_window(available_from: datetime, available_until: datetime) -> None:
    if available_until <= available_from:
        raise InvalidInput("available_until must be after available_from")


def commit_failures(
    wanted: list[str], units: dict[str, UnitSnapshot], *, start: datetime, end: datetime
) -> list[CommitFailure]:
    """Why the wanted units cannot all be committed for the period; empty when they can."""
    failures = []
    for unit_id in wanted:
        unit = units.get(unit_id)
        if unit is None:
            failures.append(CommitFailure(unit_id=unit_id, rule="exists", reason="no such unit is declared"))
        elif unit.status is not UnitStatus.AVAILABLE:
            held = f" to {unit.committed_to}" if unit.committed_to else ""
            failures.append(
                CommitFailure(unit_id=unit_id, rule="available", reason=f"unit is {unit.status.value}{held}")
            )
        elif not (unit.available_from <= start and end <= unit.available_until):
            failures.append(
                CommitFailure(
                    unit_id=unit_id,
                    rule="window",
                    reason=f"available {unit.available_from.isoformat()} to {unit.available_until.isoformat()}"
                    f" does not cover {start.isoformat()} to {end.isoformat()}",
                )
            )
    if len(set(wanted)) != len(wanted):
        failures.append(CommitFailure(unit_id="*", rule="distinct", reason="a unit appears twice in the tasking"))
    return failures
