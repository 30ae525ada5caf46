"""The nearest-first planner and the travel model behind it."""

from datetime import UTC, datetime, timedelta

import pytest

from services.tasking.planner.greedy import plan_nearest
from services.tasking.planner.problem import (
    Candidate,
    Demand,
    GreatCircleTravel,
    Place,
    free_counts,
    lendable_counts,
)
from shared.events import UnitStatus
from shared.vocabulary import Capability, LendingScope, Need, Window

REQUIRED_BY = datetime(2026, 12, 1, 14, tzinfo=UTC)
VILLA_PARK = Place(52.509, -1.885)
TRAVEL = GreatCircleTravel(road_factor=1.3, convoy_speed_kmh=80)
DAY, HOUR = timedelta(days=1), timedelta(hours=1)
NOW = REQUIRED_BY - DAY


def demand(*needs: Need, force: str = "west-midlands") -> Demand:
    return Demand(
        request_id="r1",
        requesting_force=force,
        requesting_region="West Midlands",
        location=VILLA_PARK,
        required_by=REQUIRED_BY,
        end=REQUIRED_BY + timedelta(days=3),
        needs=list(needs),
    )


def candidate(unit_id: str, force: str, base: Place, **overrides: object) -> Candidate:
    values: dict[str, object] = {
        "unit_id": unit_id,
        "force": force,
        "capability": Capability.PSU,
        "base": base,
        "region": "West Midlands",
        "readiness_minutes": 30,
        "windows": [Window(start=REQUIRED_BY - timedelta(days=1), end=REQUIRED_BY + timedelta(days=10))],
    }
    return Candidate(**(values | overrides))  # type: ignore[arg-type]


def test_great_circle_distance_matches_a_known_one() -> None:
    birmingham, london = Place(52.4862, -1.8904), Place(51.5072, -0.1276)
    bare = GreatCircleTravel(road_factor=1.0)
    assert bare.distance_km(birmingham, london) == pytest.approx(163, abs=2)
    assert TRAVEL.minutes(80.0) == pytest.approx(60)


def test_the_nearest_units_of_other_forces_are_chosen() -> None:
    units = [
        candidate("host", "west-midlands", Place(52.51, -1.88)),
        candidate("far", "west-mercia", Place(52.215, -2.178)),
        candidate("near", "staffordshire", Place(52.586, -2.128)),
    ]
    plan = plan_nearest(demand(Need(capability=Capability.PSU, quantity=1)), units, TRAVEL, now=NOW)
    assert [a.unit_id for a in plan.allocations] == ["near"]
    assert plan.unfilled == []


def test_units_that_are_busy_of_another_capability_or_not_free_for_the_period_are_left_out() -> None:
    here = Place(52.6, -2.0)
    units = [
        candidate("committed", "staffordshire", here, status=UnitStatus.COMMITTED),
        candidate("afo", "staffordshire", here, capability=Capability.AFO),
        candidate("leaves-early", "staffordshire", here, windows=[Window(start=REQUIRED_BY, end=REQUIRED_BY + DAY)]),
        candidate(
            "starts-late", "staffordshire", here, windows=[Window(start=REQUIRED_BY + HOUR, end=REQUIRED_BY + 9 * DAY)]
        ),
        candidate("kept-home", "staffordshire", here, scope=LendingScope.FORCE),
        candidate("other-region", "avon-and-somerset", here, region="South West", scope=LendingScope.REGION),
    ]
    plan = plan_nearest(demand(Need(capability=Capability.PSU, quantity=2)), units, TRAVEL, now=NOW)
    assert plan.allocations == []
    assert (plan.unfilled[0].quantity, plan.unfilled[0].capability) == (2, Capability.PSU)


def test_equal_arrival_times_are_broken_by_unit_id_so_plans_repeat() -> None:
    same = Place(52.8, -2.1)
    units = [candidate(name, "staffordshire", same) for name in ("c", "a", "b")]
    need = Need(capability=Capability.PSU, quantity=2)
    assert [a.unit_id for a in plan_nearest(demand(need), units, TRAVEL, now=NOW).allocations] == ["a", "b"]
    assert plan_nearest(demand(need), list(reversed(units)), TRAVEL, now=NOW) == plan_nearest(
        demand(need), units, TRAVEL, now=NOW
    )


def test_arrival_time_is_readiness_plus_travel() -> None:
    base = Place(52.814, -2.092)
    [allocation] = plan_nearest(
        demand(Need(capability=Capability.PSU, quantity=1)), [candidate("u", "staffordshire", base)], TRAVEL, now=NOW
    ).allocations
    distance = TRAVEL.distance_km(base, VILLA_PARK)
    assert allocation.distance_km == pytest.approx(distance, abs=0.05)
    assert allocation.eta_minutes == pytest.approx(30 + TRAVEL.minutes(distance), abs=1)


def test_no_force_is_planned_below_its_reserve() -> None:
    near, far = Place(52.6, -2.0), Place(52.2, -2.2)
    units = [
        candidate("s1", "staffordshire", near),
        candidate("s2", "staffordshire", near),
        candidate("m1", "west-mercia", far),
    ]
    lendable = lendable_counts(free_counts(units), {"staffordshire": {Capability.PSU: 1}})
    plan = plan_nearest(demand(Need(capability=Capability.PSU, quantity=3)), units, TRAVEL, lendable=lendable, now=NOW)
    assert [a.unit_id for a in plan.allocations] == ["s1", "m1"]
    assert plan.unfilled[0].quantity == 1
    assert plan.unfilled[0].reason.endswith("reserve would be breached in staffordshire")
