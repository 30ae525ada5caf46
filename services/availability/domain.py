"""Pure rules of lendable units: declarations, windows, lending scope, reserves and the all-or-nothing commit.

No I/O: handlers load snapshots, ask these functions, and store what they answer.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from shared.errors import Conflict, InvalidInput, PreconditionFailed
from shared.events import CommitFailure, UnitStatus
from shared.reserve import lendable
from shared.vocabulary import Capability, LendingScope, Window

DECLARABLE = frozenset({UnitStatus.AVAILABLE, UnitStatus.UNAVAILABLE, UnitStatus.WITHDRAWN})


@dataclass(frozen=True)
class UnitSnapshot:
    """What the commit and capacity rules need to know of a unit."""

    unit_id: str
    force: str
    region: str
    capability: Capability
    status: UnitStatus
    windows: list[Window]
    scope: LendingScope = LendingScope.NATIONAL
    committed_to: str | None = None


@dataclass(frozen=True)
class ForcePolicy:
    """A force's business-as-usual reserve and national commitment, per capability."""

    reserve: dict[Capability, int] = field(default_factory=dict)
    national_commitment: dict[Capability, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Tasking:
    """What an approved tasking asks availability to commit."""

    request_id: str
    requesting_region: str
    start: datetime
    end: datetime
    unit_ids: list[str]


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


def check_declarable(current: UnitStatus | None, wanted: UnitStatus, committed_to: str | None) -> None:
    """A force may declare a unit AVAILABLE, UNAVAILABLE or WITHDRAWN, but not change a committed one."""
    if wanted not in DECLARABLE:
        raise InvalidInput(f"status {wanted.value} cannot be declared; COMMITTED comes only from an approved tasking")
    if current == UnitStatus.COMMITTED:
        raise Conflict(f"the unit is committed to request {committed_to}; recall it first")


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
    available: Counter[tuple[str, Capability]],
    policies: dict[str, ForcePolicy],
) -> list[CommitFailure]:
    """Why the tasking's units cannot all be committed; empty when they can.

    `available` counts each force's AVAILABLE units per capability before the commit: after it,
    every force must still have at least its reserve.
    """
    failures: list[CommitFailure] = []
    if len(set(tasking.unit_ids)) != len(tasking.unit_ids):
        failures.append(CommitFailure(unit_id="*", rule="distinct", reason="a unit appears twice in the tasking"))
    committable: list[UnitSnapshot] = []
    for unit_id in dict.fromkeys(tasking.unit_ids):
        unit = units.get(unit_id)
        failure = _unit_failure(unit_id, unit, tasking)
        if failure is not None:
            failures.append(failure)
        elif unit is not None:
            committable.append(unit)
    taking = Counter((unit.force, unit.capability) for unit in committable)
    for unit in committable:
        key = (unit.force, unit.capability)
        reserve = policies.get(unit.force, ForcePolicy()).reserve.get(unit.capability, 0)
        if lendable(available[key], reserve) < taking[key]:
            reason = (
                f"reserve would be breached in {unit.force}: {reserve} {unit.capability.value} must stay,"
                f" {available[key]} available, this tasking takes {taking[key]}"
            )
            failures.append(CommitFailure(unit_id=unit.unit_id, rule="reserve", reason=reason))
    return failures


def _unit_failure(unit_id: str, unit: UnitSnapshot | None, tasking: Tasking) -> CommitFailure | None:
    if unit is None:
        return CommitFailure(unit_id=unit_id, rule="exists", reason="no such unit is declared")
    if unit.status != UnitStatus.AVAILABLE:
        held = f" to {unit.committed_to}" if unit.committed_to else ""
        return CommitFailure(unit_id=unit_id, rule="available", reason=f"unit is {unit.status.value}{held}")
    if not covers(unit.windows, tasking.start, tasking.end):
        period = f"{tasking.start.isoformat()} to {tasking.end.isoformat()}"
        return CommitFailure(unit_id=unit_id, rule="window", reason=f"no availability window covers {period}")
    if not scope_allows(unit, tasking.requesting_region):
        reason = f"lending scope {unit.scope.value} does not allow lending to the {tasking.requesting_region} region"
        return CommitFailure(unit_id=unit_id, rule="scope", reason=reason)
    return None


def scope_allows(unit: UnitSnapshot, requesting_region: str) -> bool:
    """FORCE units are never lent, REGION units only inside their region, NATIONAL units anywhere."""
    if unit.scope == LendingScope.NATIONAL:
        return True
    return unit.scope == LendingScope.REGION and unit.region == requesting_region


def check_recallable(unit: UnitSnapshot) -> str:
    """Only a committed unit can be recalled; returns the request it was committed to."""
    if unit.status != UnitStatus.COMMITTED or unit.committed_to is None:
        raise Conflict(f"unit {unit.unit_id} is {unit.status.value}, not committed; there is nothing to recall")
    return unit.committed_to


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


def capacity(units: list[UnitSnapshot], policy: ForcePolicy) -> list[CapacityLine]:
    """Per capability: what a force declared, has free, has lent, must keep and can still lend.

    lendable = available - reserve, never below 0 (shared.reserve). The national commitment is met when what the
    force has lent plus what it can still lend reaches it.
    """
    declared = Counter(u.capability for u in units if u.status != UnitStatus.WITHDRAWN)
    available = Counter(u.capability for u in units if u.status == UnitStatus.AVAILABLE)
    committed = Counter(u.capability for u in units if u.status == UnitStatus.COMMITTED)
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
