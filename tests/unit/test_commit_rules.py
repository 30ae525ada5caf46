"""Availability rules: windows, lending scope, reserves, the all-or-nothing commit and capacity."""

from datetime import UTC, datetime, timedelta

import pytest

from services.availability.domain import (
    Booking,
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


def tasking(
    *unit_ids: str, region: str = "West Midlands", start: datetime = START, end: datetime = END, eta: int = 0
) -> Tasking:
    return Tasking(
        request_id="req-2",
        host_force="west-midlands",
        requesting_region=region,
        start=start,
        end=end,
        unit_ids=list(unit_ids),
        eta_minutes=[eta] * len(unit_ids),
    )


def booking(
    unit_id: str, start: datetime, end: datetime, *, request: str = "req-1", host: str = "warwickshire"
) -> Booking:
    return Booking(unit_id=unit_id, request_id=request, host_force=host, start=start, end=end, capability=PSU)


def failures_of(
    t: Tasking,
    units: list[UnitSnapshot],
    policies: dict[str, ForcePolicy] | None = None,
    receiving: list[Booking] | None = None,
) -> list[tuple[str, str]]:
    found = commit_failures(
        t, {u.unit_id: u for u in units}, force_units=units, policies=policies or {}, receiving=receiving or []
    )
    return [(failure.unit_id, failure.rule) for failure in found]


def test_available_units_whose_window_covers_the_period_commit() -> None:
    assert failures_of(tasking("a", "b"), [unit("a"), unit("b")]) == []


def test_each_failing_unit_is_named_with_its_rule() -> None:
    units = [
        unit("taken", bookings=(booking("taken", START + DAY, END + DAY),)),
        unit("off", status=UnitStatus.UNAVAILABLE),
        unit("short", windows=[Window(start=START, end=END - timedelta(hours=1))]),
        unit("home", scope=LendingScope.FORCE),
        unit("ok"),
    ]
    assert failures_of(tasking("taken", "off", "short", "ghost", "home", "ok"), units) == [
        ("taken", "booked"),
        ("off", "available"),
        ("short", "window"),
        ("ghost", "exists"),
        ("home", "scope"),
    ]


def test_a_unit_booked_for_another_period_is_free_for_this_one() -> None:
    june = booking("a", START + 180 * DAY, START + 183 * DAY)
    assert failures_of(tasking("a"), [unit("a", bookings=(june,), windows=[Window(start=START, end=june.end)])]) == []


def test_a_booking_counts_the_travel_there_and_back() -> None:
    before = booking("a", START - DAY, START - timedelta(hours=1))
    assert failures_of(tasking("a", eta=30), [unit("a", bookings=(before,))]) == []
    assert failures_of(tasking("a", eta=90), [unit("a", bookings=(before,))]) == [("a", "booked")]


def test_a_force_receiving_a_capability_does_not_lend_it_for_an_overlapping_period() -> None:
    lent_to_staffordshire = booking("w1", START + DAY, END, host="staffordshire")
    assert failures_of(tasking("a"), [unit("a")], receiving=[lent_to_staffordshire]) == [("a", "in_need")]
    later = booking("w1", END + DAY, END + 2 * DAY, host="staffordshire")
    assert failures_of(tasking("a"), [unit("a")], receiving=[later]) == []


def test_the_reserve_holds_at_every_instant_of_the_period() -> None:
    policies = {"staffordshire": ForcePolicy(reserve={PSU: 1})}
    busy_early = booking("b", START, START + DAY)
    busy_late = booking("c", END - DAY, END)
    units = [unit("a"), unit("b", bookings=(busy_early,)), unit("c", bookings=(busy_late,))]
    assert failures_of(tasking("a"), units, policies) == []  # one of b and c is home at every instant
    overlapping = booking("c", START + timedelta(hours=12), END)
    units = [unit("a"), unit("b", bookings=(busy_early,)), unit("c", bookings=(overlapping,))]
    assert failures_of(tasking("a"), units, policies) == [("a", "reserve")]


def test_a_unit_off_duty_during_the_period_does_not_count_towards_the_reserve() -> None:
    policies = {"staffordshire": ForcePolicy(reserve={PSU: 1})}
    on_leave_midweek = [Window(start=START - DAY, end=START + DAY), Window(start=START + 2 * DAY, end=END + DAY)]
    units = [unit("a"), unit("b", windows=on_leave_midweek)]
    assert failures_of(tasking("a"), units, policies) == [("a", "reserve")]
    assert failures_of(tasking("a", end=START + DAY), units, policies) == []  # b is on duty throughout that
    declared_from_start = [Window(start=START, end=END + DAY)]
    units = [unit("a"), unit("b", windows=declared_from_start)]
    assert failures_of(tasking("a", eta=90), units, policies) == []  # before the period is travel time, not duty


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


def test_a_booked_unit_cannot_be_redeclared_and_committed_cannot_be_declared() -> None:
    live = (booking("a", START, END),)
    with pytest.raises(Conflict, match="recall it first"):
        check_declarable(UnitStatus.AVAILABLE, live, START)
    with pytest.raises(InvalidInput, match="COMMITTED"):
        check_declarable(UnitStatus.COMMITTED, (), START)
    check_declarable(UnitStatus.WITHDRAWN, (), START)
    check_declarable(UnitStatus.WITHDRAWN, live, END + DAY)  # its booking has ended


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
        unit("d", bookings=(booking("d", START - DAY, END),)),
        unit("e", status=UnitStatus.WITHDRAWN),
        unit("f", capability=Capability.AFO),
    ]
    policy = ForcePolicy(reserve={PSU: 2, Capability.CTSFO: 1}, national_commitment={PSU: 4})
    lines = {line.capability: line for line in capacity(units, policy, START, START)}
    psu = lines[PSU]
    assert (psu.declared, psu.available, psu.committed, psu.reserve, psu.lendable) == (4, 3, 1, 2, 1)
    assert (psu.national_commitment, psu.commitment_met) == (4, False)
    assert lines[Capability.CTSFO].lendable == 0
    assert lines[Capability.AFO].commitment_met


def test_capacity_counts_a_unit_free_only_while_it_is_on_duty() -> None:
    units = [unit("a"), unit("b", windows=[Window(start=START + DAY, end=END)])]
    [now] = capacity(units, ForcePolicy(reserve={PSU: 1}), START, START)
    assert (now.declared, now.available, now.committed, now.lendable) == (2, 1, 0, 0)
    [later] = capacity(units, ForcePolicy(reserve={PSU: 1}), START + DAY, END)
    assert (later.available, later.lendable) == (2, 1)


def test_region_totals_add_forces_up() -> None:
    one = capacity([unit("a"), unit("b")], ForcePolicy(reserve={PSU: 1}), START, END)
    two = capacity([unit("c", force="warwickshire")], ForcePolicy(), START, END)
    [total] = sum_capacity(one + two)
    assert (total.declared, total.available, total.reserve, total.lendable) == (3, 3, 1, 2)
