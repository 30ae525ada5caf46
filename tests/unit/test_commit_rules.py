"""Availability rules: windows, lending scope, reserves, the all-or-nothing commit and capacity."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from services.availability.domain import (
    ForcePolicy,
    Tasking,
    UnitSnapshot,
    capacity,
    check_declarable,
    check_version,
    commit_failures,
    covers,
    merge_windows,
    sum_capacity,
)
from shared.errors import Conflict, InvalidInput, PreconditionFailed
from shared.events import UnitStatus
from shared.vocabulary import Capability, LendingScope, Window

START = datetime(2026, 12, 1, 14, tzinfo=UTC)
END = START + timedelta(days=3)
DAY = timedelta(days=1)
PSU = Capability.PSU


def unit(unit_id: str, force: str = "staffordshire", **overrides: object) -> UnitSnapshot:
    values: dict[str, object] = {
        "unit_id": unit_id,
        "force": force,
        "region": "West Midlands",
        "capability": PSU,
        "status": UnitStatus.AVAILABLE,
        "windows": [Window(start=START - DAY, end=END + DAY)],
    }
    return UnitSnapshot(**(values | overrides))  # type: ignore[arg-type]


def tasking(*unit_ids: str, region: str = "West Midlands") -> Tasking:
    return Tasking(request_id="req-2", requesting_region=region, start=START, end=END, unit_ids=list(unit_ids))


def failures_of(
    t: Tasking, units: list[UnitSnapshot], policies: dict[str, ForcePolicy] | None = None
) -> list[tuple[str, str]]:
    available = Counter((u.force, u.capability) for u in units if u.status == UnitStatus.AVAILABLE)
    found = commit_failures(t, {u.unit_id: u for u in units}, available=available, policies=policies or {})
    return [(failure.unit_id, failure.rule) for failure in found]


def test_available_units_whose_window_covers_the_period_commit() -> None:
    assert failures_of(tasking("a", "b"), [unit("a"), unit("b")]) == []


def test_each_failing_unit_is_named_with_its_rule() -> None:
    units = [
        unit("taken", status=UnitStatus.COMMITTED, committed_to="req-1"),
        unit("short", windows=[Window(start=START, end=END - timedelta(hours=1))]),
        unit("home", scope=LendingScope.FORCE),
        unit("ok"),
    ]
    assert failures_of(tasking("taken", "short", "ghost", "home", "ok"), units) == [
        ("taken", "available"),
        ("short", "window"),
        ("ghost", "exists"),
        ("home", "scope"),
    ]


def test_a_region_scoped_unit_is_lent_only_inside_its_region() -> None:
    regional = unit("r", scope=LendingScope.REGION)
    assert failures_of(tasking("r", region="West Midlands"), [regional]) == []
    assert failures_of(tasking("r", region="London"), [regional]) == [("r", "scope")]


def test_a_commit_that_would_leave_a_force_below_its_reserve_is_refused() -> None:
    units = [unit("a"), unit("b"), unit("c")]
    policies = {"staffordshire": ForcePolicy(reserve={PSU: 2})}
    assert failures_of(tasking("a"), units, policies) == []
    assert failures_of(tasking("a", "b"), units, policies) == [("a", "reserve"), ("b", "reserve")]


def test_a_unit_named_twice_in_one_tasking_is_refused() -> None:
    assert [rule for _, rule in failures_of(tasking("a", "a"), [unit("a")])] == ["distinct"]


def test_windows_are_merged_and_one_must_cover_the_whole_period() -> None:
    merged = merge_windows(
        [
            Window(start=START + DAY, end=END),
            Window(start=START - DAY, end=START + DAY),
            Window(start=END + DAY, end=END + 2 * DAY),
        ]
    )
    assert [(w.start, w.end) for w in merged] == [(START - DAY, END), (END + DAY, END + 2 * DAY)]
    assert covers(merged, START, END)
    assert not covers(merged, START, END + DAY + timedelta(hours=1))


@pytest.mark.parametrize("windows", [[], [Window(start=START, end=START)]])
def test_a_unit_needs_a_window_that_ends_after_it_starts(windows: list[Window]) -> None:
    with pytest.raises(InvalidInput):
        merge_windows(windows)


def test_a_committed_unit_cannot_be_redeclared_and_committed_cannot_be_declared() -> None:
    with pytest.raises(Conflict, match="recall it first"):
        check_declarable(UnitStatus.COMMITTED, UnitStatus.AVAILABLE, "req-1")
    with pytest.raises(InvalidInput, match="COMMITTED"):
        check_declarable(UnitStatus.AVAILABLE, UnitStatus.COMMITTED, None)
    check_declarable(UnitStatus.AVAILABLE, UnitStatus.WITHDRAWN, None)


def test_an_update_based_on_an_old_version_is_refused() -> None:
    check_version(3, 3)
    check_version(3, None)
    with pytest.raises(PreconditionFailed, match="based on version 2 but the unit is at version 3"):
        check_version(3, 2)
    with pytest.raises(PreconditionFailed, match="no such unit"):
        check_version(None, 1)


def test_capacity_shows_what_a_force_can_still_lend() -> None:
    units = [
        unit("a"),
        unit("b"),
        unit("c"),
        unit("d", status=UnitStatus.COMMITTED, committed_to="req-1"),
        unit("e", status=UnitStatus.WITHDRAWN),
        unit("f", capability=Capability.AFO),
    ]
    policy = ForcePolicy(reserve={PSU: 2, Capability.CTSFO: 1}, national_commitment={PSU: 4})
    lines = {line.capability: line for line in capacity(units, policy)}
    psu = lines[PSU]
    assert (psu.declared, psu.available, psu.committed, psu.reserve, psu.lendable) == (4, 3, 1, 2, 1)
    assert (psu.national_commitment, psu.commitment_met) == (4, False)
    assert lines[Capability.CTSFO].lendable == 0
    assert lines[Capability.AFO].commitment_met


def test_region_totals_add_forces_up() -> None:
    one = capacity([unit("a"), unit("b")], ForcePolicy(reserve={PSU: 1}))
    two = capacity([unit("c", force="warwickshire")], ForcePolicy())
    [total] = sum_capacity(one + two)
    assert (total.declared, total.available, total.reserve, total.lendable) == (3, 3, 1, 2)
