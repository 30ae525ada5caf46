"""What tasking counts as free in a force when it works out what the force can lend in a period."""

from datetime import UTC, datetime, timedelta

from services.tasking.planner.problem import Candidate, Place
from services.tasking.pool import TRAVEL_MARGIN, away_at_the_busiest, lendable_in
from shared.vocabulary import Capability, Window

START = datetime(2026, 12, 1, 14, tzinfo=UTC)
END = START + timedelta(days=3)
DAY = timedelta(days=1)
PSU = Capability.PSU
KEY = ("staffordshire", PSU)


def unit(unit_id: str, *windows: Window, bookings: tuple[Window, ...] = ()) -> Candidate:
    return Candidate(
        unit_id=unit_id,
        force="staffordshire",
        region="West Midlands",
        capability=PSU,
        base=Place(52.8, -2.1),
        readiness_minutes=30,
        windows=list(windows) or [Window(start=START - 2 * DAY, end=END + 2 * DAY)],
        bookings=bookings,
    )


def away(*units: Candidate) -> int:
    return away_at_the_busiest(list(units), START - TRAVEL_MARGIN, END + TRAVEL_MARGIN, on_duty_in=(START, END))[KEY]


def test_a_unit_on_leave_during_the_period_is_away_like_a_booked_one() -> None:
    on_leave_midweek = (Window(start=START - DAY, end=START + DAY), Window(start=START + 2 * DAY, end=END + DAY))
    booked_early = (Window(start=START - DAY, end=START + DAY),)
    assert away(unit("a"), unit("b", *on_leave_midweek)) == 1
    assert away(unit("a"), unit("b", *on_leave_midweek), unit("c", bookings=booked_early)) == 1  # never both
    assert away(unit("a"), unit("b", *on_leave_midweek), unit("c", bookings=(Window(start=START, end=END),))) == 2


def test_a_unit_declared_from_the_start_of_the_period_is_not_away_the_day_before() -> None:
    assert away(unit("a"), unit("b", Window(start=START, end=END))) == 0
    assert away(unit("a"), unit("b", Window(start=START, end=END - timedelta(hours=1)))) == 1


def test_off_duty_units_limit_a_loan_only_where_the_force_keeps_a_reserve() -> None:
    tours = [Window(start=START + n * DAY, end=START + (n + 1) * DAY) for n in range(3)]
    units = [unit(f"t{n}", tour) for n, tour in enumerate(tours)] + [unit("always")]
    period = (START, START + 3 * DAY)
    assert lendable_in(units, period, reserves={})[KEY] == 4  # each unit's window is the planner's
    assert lendable_in(units, period, reserves={"staffordshire": {PSU: 1}})[KEY] == 1  # 2 on duty at most


def test_a_unit_booked_until_just_before_the_period_is_free_in_it() -> None:
    before = (Window(start=START - 2 * DAY, end=START - timedelta(hours=6)),)
    assert lendable_in([unit("a", bookings=before)], (START, END), reserves={})[KEY] == 1
    overlapping = (Window(start=START - 2 * DAY, end=START + timedelta(hours=6)),)
    assert lendable_in([unit("a", bookings=overlapping)], (START, END), reserves={})[KEY] == 0
