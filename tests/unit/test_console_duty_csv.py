"""The console's dry run of a duty-system file: it reads the file as `mutualaid units-import` does and
says which units applying it would add, update, leave alone and withdraw, and which bookings stop it."""

from pathlib import Path
from typing import Any

import pytest

from mutualaid.unit_import import parse_units
from services.availability.schemas import UnitDeclareWithId
from services.console.duty_csv import UnreadableFile, dry_run, read_units

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "units.csv"
HEADER = "unit_id,capability,base_lat,base_lon,base_description,readiness_minutes,available_from,available_until"
PSU = "staffs-psu-1,PSU,52.814,-2.092,Stafford,60,2026-12-01T00:00:00Z,2026-12-31T00:00:00Z"
AFO = "staffs-afo-1,AFO,52.814,-2.092,Stafford,30,2026-12-01T00:00:00Z,2027-01-31T00:00:00Z"


def read(*lines: str, header: str = HEADER) -> list[dict[str, Any]]:
    return read_units("\n".join([header, *lines]) + "\n", force="staffordshire")


def problems(*lines: str, header: str = HEADER) -> list[str]:
    with pytest.raises(UnreadableFile) as raised:
        read(*lines, header=header)
    return raised.value.problems


def held(unit: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The unit as GET /v1/units shows it once declared."""
    return {**unit, "region": "West Midlands", "version": 1, "bookings": [], **changes}


def ids(changes: list[Any]) -> list[str]:
    return [change.unit_id for change in changes]


def test_the_console_reads_the_example_file_as_the_command_line_import_does() -> None:
    text = EXAMPLE.read_text()
    ours = [UnitDeclareWithId.model_validate(unit) for unit in read_units(text, force="staffordshire")]
    theirs = parse_units(text, force="staffordshire").items
    assert [(u.unit_id, u.capability, u.base, u.scope, u.status, u.availability()) for u in ours] == [
        (u.unit_id, u.capability, u.base, u.scope, u.status, u.availability()) for u in theirs
    ]


def test_a_bad_file_is_refused_with_each_line_and_column() -> None:
    assert problems(PSU.replace("PSU,", "UNICORN,"), AFO.replace(",30,", ",soon,")) == [
        "line 2, column capability: Input should be 'PSU', 'CTSFO', 'AFO', 'CBRN_T1', 'CBRN_T2', 'POM', "
        "'POLSA', 'DOG', 'MOUNTED', 'NEGOTIATOR' or 'DVI'",
        "line 3, column readiness_minutes: Input should be a valid integer, unable to parse string as an integer",
    ]
    assert problems(PSU, header=HEADER.replace("capability", "kind")) == [
        "line 1: column capability is missing",
        "line 1: column 'kind' is not one of unit_id, capability, base_lat, base_lon, readiness_minutes, "
        "available_from, available_until, base_description, scope, status, force",
    ]


def test_an_empty_file_never_withdraws_the_whole_force() -> None:
    assert problems() == ["there are no units in the file: refusing to withdraw every unit of the force"]


def test_a_unit_of_another_force_is_refused() -> None:
    assert problems(PSU + ",REGION,AVAILABLE,warwickshire", header=HEADER + ",scope,status,force") == [
        "line 2: unit staffs-psu-1 belongs to warwickshire, not to staffordshire"
    ]


def test_the_dry_run_names_what_would_be_added_updated_unchanged_and_withdrawn() -> None:
    psu, afo = read(PSU, AFO)
    current = [held(psu), held(afo, readiness_minutes=45), held(psu, unit_id="staffs-dog-1", capability="DOG")]
    run = dry_run(read(PSU, AFO, PSU.replace("psu-1", "psu-2")), current)
    assert (ids(run.added), ids(run.updated), ids(run.unchanged), ids(run.withdrawn)) == (
        ["staffs-psu-2"],
        ["staffs-afo-1"],
        ["staffs-psu-1"],
        ["staffs-dog-1"],
    )
    assert run.updated[0].what == "readiness_minutes"
    assert not run.kept


def test_windows_the_service_would_merge_are_no_change() -> None:
    (psu,) = read(PSU)
    split = PSU.replace("2026-12-31", "2026-12-15"), PSU.replace("2026-12-01", "2026-12-10")
    assert ids(dry_run(read(*split), [held(psu)]).unchanged) == ["staffs-psu-1"]


def test_a_booked_unit_named_or_left_out_is_kept_as_it_is() -> None:
    psu, afo = read(PSU, AFO)
    booking = [{"request_id": "r-1", "start": "2026-12-02T00:00:00Z", "end": "2026-12-03T00:00:00Z"}]
    current = [held(psu, status="COMMITTED", bookings=booking), held(afo, status="COMMITTED", bookings=booking)]
    run = dry_run(read(PSU.replace(",60,", ",90,")), current)
    assert [(c.unit_id, c.booked_for) for c in run.kept] == [("staffs-psu-1", "r-1"), ("staffs-afo-1", "r-1")]
    assert run.updated == run.withdrawn == run.unchanged == []


def test_a_withdrawn_unit_left_out_is_not_withdrawn_again() -> None:
    (psu,) = read(PSU)
    (afo,) = read(AFO)
    assert dry_run([psu], [held(psu), held(afo, status="WITHDRAWN")]).withdrawn == []


@pytest.mark.parametrize("cells", ["nan,-2.092", "52.814,inf", "-Infinity,-2.092"])
def test_coordinates_that_are_not_finite_numbers_are_refused_by_line_and_column(cells: str) -> None:
    found = problems(PSU.replace("52.814,-2.092", cells))
    assert len(found) == 1
    assert found[0].startswith("line 2, column base_l")
    assert "finite number" in found[0]


@pytest.mark.parametrize("cells", ["91,-2.092", "52_1,-2.092", "52.814,12"])
def test_coordinates_outside_the_uk_are_refused_by_line_and_column(cells: str) -> None:
    found = problems(PSU, PSU.replace("staffs-psu-1", "staffs-psu-2").replace("52.814,-2.092", cells))
    assert len(found) == 1, found
    assert found[0].startswith("line 3, column base_l"), found


def test_a_file_with_more_units_than_the_service_takes_at_once_is_refused_before_the_dry_run() -> None:
    rows = [PSU.replace("staffs-psu-1", f"staffs-psu-{n}") for n in range(5001)]
    assert problems(*rows) == ["the file has 5,001 units; the availability service takes at most 5,000"]
