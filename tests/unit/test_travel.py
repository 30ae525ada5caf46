"""Travel times over land and across the sea: ferries where no road joins two places."""

import math

import pytest

from services.tasking.bootstrap import travel_model
from services.tasking.config import TaskingSettings
from services.tasking.planner.travel import FerryAwareTravel, GreatCircleTravel, Place, travel_from, travel_parameters

TRAVEL = travel_model(TaskingSettings())
ROAD = TRAVEL.road
BELFAST = Place(54.597, -5.930)
GLASGOW = Place(55.864, -4.252)
HOLYHEAD = Place(53.309, -4.633)
BIRMINGHAM, LONDON = Place(52.486, -1.890), Place(51.507, -0.128)
NEWPORT_IOW, WINCHESTER = Place(50.701, -1.293), Place(51.063, -1.308)
KIRKWALL, THURSO = Place(58.981, -2.960), Place(58.593, -3.522)


def test_places_on_one_land_mass_travel_by_road() -> None:
    assert TRAVEL.route(BIRMINGHAM, LONDON) == ROAD.route(BIRMINGHAM, LONDON)
    assert TRAVEL.route(BIRMINGHAM, LONDON).via == ()


@pytest.mark.parametrize("origin", [GLASGOW, HOLYHEAD])
def test_belfast_is_reached_across_the_north_channel_not_straight_over_the_sea(origin: Place) -> None:
    by_sea = TRAVEL.route(origin, BELFAST)
    straight = ROAD.route(origin, BELFAST)
    assert by_sea.via, by_sea
    assert by_sea.via[0].startswith("Cairnryan-")
    assert by_sea.minutes > straight.minutes + 120  # a sailing and boarding, not a bridge
    assert TRAVEL.route(BELFAST, origin).minutes == pytest.approx(by_sea.minutes)


def test_islands_are_reached_by_their_ferries() -> None:
    assert TRAVEL.route(WINCHESTER, NEWPORT_IOW).via[0] in {"Southampton-East Cowes", "Portsmouth-Fishbourne"}
    assert TRAVEL.route(THURSO, KIRKWALL).via in {("Scrabster-Stromness",), ("Gills Bay-St Margaret's Hope",)}
    assert TRAVEL.landmass_of(Place(49.916, -6.313)) == "isles-of-scilly"
    assert TRAVEL.landmass_of(Place(50.755, -1.531)) == "great-britain"  # Lymington, across the Solent


def test_a_place_no_crossing_reaches_is_unreachable() -> None:
    no_ferries = FerryAwareTravel(road=ROAD, crossings=(), landmasses=TRAVEL.landmasses)
    assert math.isinf(no_ferries.route(GLASGOW, BELFAST).minutes)


def test_a_recorded_travel_model_is_rebuilt_for_a_replay() -> None:
    rebuilt = travel_from(travel_parameters(TRAVEL))
    assert rebuilt.route(GLASGOW, BELFAST) == TRAVEL.route(GLASGOW, BELFAST)
    old_run = {"road_factor": 1.3, "convoy_speed_kmh": 80}
    assert travel_from(old_run) == GreatCircleTravel()


@pytest.mark.parametrize("model", [TRAVEL, ROAD, FerryAwareTravel(road=ROAD, landmasses=TRAVEL.landmasses)])
def test_the_minutes_between_many_places_are_those_of_each_route(model: FerryAwareTravel | GreatCircleTravel) -> None:
    everywhere = [BELFAST, GLASGOW, HOLYHEAD, BIRMINGHAM, LONDON, NEWPORT_IOW, WINCHESTER, KIRKWALL, THURSO]
    scenes = [BELFAST, LONDON, KIRKWALL, NEWPORT_IOW, THURSO]
    table = model.minutes_between(everywhere, scenes)
    assert table.shape == (len(scenes), len(everywhere))
    for row, scene in enumerate(scenes):
        for column, base in enumerate(everywhere):
            assert table[row, column] == pytest.approx(model.route(base, scene).minutes, rel=1e-12), (base, scene)
    assert model.minutes_between([], scenes).shape == (len(scenes), 0)
