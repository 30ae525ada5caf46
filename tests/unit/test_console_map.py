"""The console's map: one projection both ways, and the national picture summed from the services' answers."""

import uuid

import pytest

from services.console import composition
from services.console.geo import UK, Projection, hull, outline_paths
from services.console.picture import demand_by_region, force_points, region_areas
from shared.forces import Force, forces


@pytest.mark.parametrize(("lat", "lon"), [(52.4836, -1.8972), (56.076, -3.731), (54.589, -5.873), (50.07, -5.71)])
def test_a_place_drawn_and_clicked_comes_back_where_it_was(lat: float, lon: float) -> None:
    x, y = UK.to_xy(lat, lon)
    assert UK.to_place(x, y) == pytest.approx((lat, lon), abs=1e-9)


def test_every_force_headquarters_is_inside_the_map() -> None:
    for force in forces().values():
        x, y = UK.to_xy(force.hq_lat, force.hq_lon)
        assert 0 < x < UK.width, force.code
        assert 0 < y < UK.height, force.code


def test_north_is_up_and_east_is_right_with_a_degree_of_longitude_shorter_than_one_of_latitude() -> None:
    birmingham = UK.to_xy(52.48, -1.90)
    north, east = UK.to_xy(53.48, -1.90), UK.to_xy(52.48, -0.90)
    assert north[1] < birmingham[1]
    assert east[0] > birmingham[0]
    assert (east[0] - birmingham[0]) < (birmingham[1] - north[1])


def test_the_page_is_given_the_numbers_its_script_inverts_the_projection_with() -> None:
    attributes = Projection(width=300).data_attributes()
    x, y = 120.0, 200.0
    lat = float(attributes["data-north"]) - y / float(attributes["data-scale"])
    lon = float(attributes["data-west"]) + x / (float(attributes["data-shrink"]) * float(attributes["data-scale"]))
    assert (lat, lon) == pytest.approx(Projection(width=300).to_place(x, y), abs=1e-4)


def test_the_outline_draws_great_britain_and_ireland_as_closed_paths() -> None:
    paths = outline_paths()
    assert len(paths) == 2
    assert all(path.startswith("M") and path.endswith("Z") for path in paths)


def test_a_hull_keeps_the_corners_and_drops_what_lies_inside() -> None:
    square = [(0.0, 0.0), (4.0, 0.0), (4.0, 4.0), (0.0, 4.0)]
    assert sorted(hull([*square, (2.0, 2.0), (1.0, 3.0)])) == sorted(square)
    assert hull([(1.0, 1.0), (2.0, 2.0)]) == [(1.0, 1.0), (2.0, 2.0)]


def line(capability: str, *, lendable: int = 0, committed: int = 0, reserve: int = 0) -> dict[str, object]:
    return {"capability": capability, "declared": lendable + committed + reserve, "available": lendable + reserve,
            "committed": committed, "reserve": reserve, "lendable": lendable, "national_commitment": 0,
            "commitment_met": True}  # fmt: skip


def force(code: str, region: str) -> Force:
    return Force(code, f"{code} police", region, "somewhere", 52.0, -1.5, 1000)


def test_a_force_shows_what_it_can_lend_of_one_capability_or_of_all_and_a_silent_force_shows_none() -> None:
    known = [force("lender", "West Midlands"), force("silent", "Wales")]
    capacity = {"forces": [{"force": "lender", "items": [line("PSU", lendable=3, reserve=1), line("DOG", lendable=4)]}]}
    every = {p.code: p for p in force_points(capacity, known, None)}
    assert (every["lender"].lendable, every["lender"].reserve, every["lender"].band) == (7, 1, 3)
    assert (every["silent"].declared, every["silent"].lendable, every["silent"].band) == (0, 0, 0)
    psu = {p.code: p for p in force_points(capacity, known, "PSU")}
    assert (psu["lender"].lendable, psu["lender"].band) == (3, 2)


def request(region: str, status: str, *quantities: int) -> dict[str, object]:
    needs = [{"capability": "PSU", "quantity": q} for q in quantities]
    return {"id": str(uuid.uuid4()), "requesting_region": region, "status": status, "needs": needs}


def test_demand_counts_open_requests_and_their_units_and_those_unfilled_wholly_or_in_part() -> None:
    requests = [
        request("Wales", "PROPOSED", 2, 1),
        request("Wales", "UNFILLED", 4),
        request("Wales", "PARTIALLY_FILLED", 1),
        request("Wales", "CLOSED", 9),
        request("London", "CANCELLED", 3),
    ]
    rows = {row.region: row for row in demand_by_region(requests, ["London", "Wales"])}
    assert (rows["Wales"].open_requests, rows["Wales"].units_asked, rows["Wales"].unfilled_requests) == (3, 8, 2)
    assert (rows["London"].open_requests, rows["London"].units_asked) == (0, 0)
    assert [row.region for row in demand_by_region(requests, ["London", "Wales"])] == ["Wales", "London"]


def test_a_region_is_outlined_around_its_forces_and_a_lone_force_or_the_national_ones_are_not() -> None:
    known = [force("a", "Wales"), force("b", "Wales"), force("c", "Scotland"), force("d", "national")]
    known[1] = Force("b", "b police", "Wales", "elsewhere", 53.0, -3.5, 1000)
    areas = region_areas(force_points({"forces": []}, known, None))
    assert [area.region for area in areas] == ["Wales"]


PSU = [{"role": "inspector", "count": 1}, {"role": "sergeant", "count": 3}, {"role": "constable", "count": 18}]


def test_the_catalogue_s_composition_unchanged_is_no_override_and_a_changed_one_is() -> None:
    assert composition.override(composition.as_text(PSU), PSU) is None
    assert composition.override("  \n", PSU) is None
    changed = composition.override("1 inspector\n4 sergeant\n\n16 x constable\n", PSU)
    assert changed == [
        {"role": "inspector", "count": 1},
        {"role": "sergeant", "count": 4},
        {"role": "constable", "count": 16},
    ]


def test_a_composition_line_without_a_count_is_refused_with_its_line_number() -> None:
    with pytest.raises(composition.UnreadableComposition, match="line 2"):
        composition.read("1 inspector\nsome sergeants")
