"""Reading a force's units from a CSV file: the request body, windows, and every bad row with its line."""

from typing import Any

import pytest

from mutualaid.unit_import import Problem, UnitImportError, parse_units, request_body
from services.availability.schemas import UnitReplacement

HEADER = "unit_id,capability,base_lat,base_lon,base_description,readiness_minutes,available_from,available_until"
PSU = "staffs-psu-1,PSU,52.814,-2.092,Stafford,60,2026-12-01T00:00:00Z,2026-12-31T00:00:00Z"
AFO = "staffs-afo-1,AFO,52.814,-2.092,Stafford,30,2026-12-01T00:00:00Z,2027-01-31T00:00:00Z"


def parse(*lines: str, header: str = HEADER) -> UnitReplacement:
    return parse_units("\n".join([header, *lines]) + "\n", force="staffordshire")


def problems(*lines: str, header: str = HEADER) -> list[Problem]:
    with pytest.raises(UnitImportError) as raised:
        parse(*lines, header=header)
    return raised.value.problems


def where(*lines: str, header: str = HEADER) -> list[tuple[int | None, str | None]]:
    return [(problem.line, problem.column) for problem in problems(*lines, header=header)]


def test_a_good_file_becomes_the_replacement_body() -> None:
    body = request_body(parse(PSU, AFO))
    first: dict[str, Any] = body["items"][0]
    assert [item["unit_id"] for item in body["items"]] == ["staffs-psu-1", "staffs-afo-1"]
    assert first == {
        "unit_id": "staffs-psu-1",
        "force": "staffordshire",
        "capability": "PSU",
        "base": {"lat": 52.814, "lon": -2.092, "description": "Stafford"},
        "readiness_minutes": 60,
        "scope": "NATIONAL",
        "status": "AVAILABLE",
        "available_from": "2026-12-01T00:00:00Z",
        "available_until": "2026-12-31T00:00:00Z",
    }


def test_scope_status_and_force_columns_are_optional_and_read_when_given() -> None:
    header = HEADER + ",scope,status,force"
    replacement = parse(PSU + ",REGION,UNAVAILABLE,staffordshire", AFO + ",,,", header=header)
    psu, afo = replacement.items
    assert (psu.scope, psu.status, psu.force) == ("REGION", "UNAVAILABLE", "staffordshire")
    assert (afo.scope, afo.status, afo.force) == ("NATIONAL", "AVAILABLE", "staffordshire")


def test_cells_and_column_names_may_carry_spaces_and_the_description_may_be_empty() -> None:
    header = " " + HEADER.replace(",", " , ")
    unit = parse(
        "staffs-psu-1 , PSU , 52.8 , -2.0 ,  , 60 , 2026-12-01T00:00:00+00:00 , 2026-12-02T00:00:00+01:00",
        header=header,
    ).items[0]
    assert (unit.unit_id, unit.base.description, unit.readiness_minutes) == ("staffs-psu-1", "", 60)


def test_rows_repeating_a_unit_id_become_windows_of_one_unit() -> None:
    second_window = PSU.replace(
        "2026-12-01T00:00:00Z,2026-12-31T00:00:00Z", "2027-02-01T00:00:00Z,2027-02-10T00:00:00Z"
    )
    body = request_body(parse(PSU, AFO, second_window))
    psu = body["items"][0]
    assert len(body["items"]) == 2
    assert "available_from" not in psu
    assert psu["windows"] == [
        {"start": "2026-12-01T00:00:00Z", "end": "2026-12-31T00:00:00Z"},
        {"start": "2027-02-01T00:00:00Z", "end": "2027-02-10T00:00:00Z"},
    ]


def test_rows_of_one_unit_that_differ_other_than_the_window_are_refused() -> None:
    slower = PSU.replace(",60,", ",45,").replace("2026-12-01", "2027-02-01").replace("2026-12-31", "2027-02-10")
    [problem] = problems(PSU, AFO, slower)
    assert (problem.line, problem.column) == (4, "readiness_minutes")
    assert "staffs-psu-1 has 45 here but 60 on line 2" in problem.message


def test_an_unknown_capability_names_its_line_and_column() -> None:
    [problem] = problems(PSU, AFO.replace("AFO,", "SWAT,"))
    assert str(problem).startswith("line 3, column capability: 'SWAT': Input should be 'PSU'")


@pytest.mark.parametrize(
    ("row", "column"),
    [
        (PSU.replace("52.814", "52,8"), None),  # a comma in a number: one field too many
        (PSU.replace("52.814", "fifty-two"), "base_lat"),
        (PSU.replace("-2.092", "-20.5"), "base_lon"),  # a number, but not in the UK
        (PSU.replace(",60,", ",1h,"), "readiness_minutes"),
        (PSU.replace(",60,", ",-5,"), "readiness_minutes"),
    ],
)
def test_a_bad_number_names_its_line_and_column(row: str, column: str | None) -> None:
    assert where(AFO, row) == [(3, column)]


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        (PSU.replace("2026-12-01T00:00:00Z", "2026-12-01T00:00:00"), "available_from", "needs its zone"),
        (PSU.replace("2026-12-31T00:00:00Z", "12/31/2026"), "available_until", "month must be in 1..12"),
        (PSU.replace("2026-12-01T00:00:00Z", "2026-13-01T00:00:00Z"), "available_from", "month"),
        (PSU.replace("2026-12-31T00:00:00Z", "2026-11-01T00:00:00Z"), "available_until", "ends before it starts"),
    ],
)
def test_a_bad_datetime_names_its_line_and_column(row: str, column: str, message: str) -> None:
    [problem] = problems(AFO, row)
    assert (problem.line, problem.column) == (3, column)
    assert message in problem.message


def test_a_missing_column_is_named_on_the_header_line() -> None:
    header = HEADER.replace(",readiness_minutes", "")
    assert where(PSU.replace(",60,", ","), header=header) == [(1, "readiness_minutes")]


def test_an_unknown_or_repeated_column_is_refused() -> None:
    assert where(PSU + ",x", header=HEADER + ",stauts") == [(1, "stauts")]
    assert where(PSU + ",PSU", header=HEADER + ",capability") == [(1, "capability")]


def test_an_empty_required_cell_or_a_short_row_is_a_missing_value() -> None:
    assert where(PSU.replace("PSU,", ",", 1)) == [(2, "capability")]
    assert where(AFO, PSU.rsplit(",", 2)[0]) == [(3, "available_from"), (3, "available_until")]


def test_other_bad_cells_use_the_service_rules() -> None:
    header = HEADER + ",scope,status,force"
    assert where(PSU + ",WORLD,,", header=header) == [(2, "scope")]
    assert where(PSU + ",,COMMITTED,", header=header) == [(2, "status")]
    assert where(PSU + ",,,atlantis", header=header) == [(2, "force")]
    assert where(PSU.replace("staffs-psu-1", "staffs psu 1")) == [(2, "unit_id")]


def test_every_bad_row_is_reported_at_once() -> None:
    lines = [PSU, AFO.replace("AFO,", "SWAT,"), "", PSU.replace("staffs-psu-1", "b").replace(",60,", ",x,")]
    assert where(*lines) == [(3, "capability"), (5, "readiness_minutes")]


def test_an_empty_file_or_one_without_units_is_refused() -> None:
    with pytest.raises(UnitImportError, match="line 1: the file is empty"):
        parse_units("", force="staffordshire")
    with pytest.raises(UnitImportError, match="no units in the file"):
        parse()


def test_more_units_than_the_service_takes_at_once_are_refused() -> None:
    rows = [PSU.replace("staffs-psu-1", f"staffs-psu-{n}") for n in range(5001)]
    [problem] = problems(*rows)
    assert problem.line is None
    assert "at most 5000" in problem.message
