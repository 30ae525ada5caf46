"""Duty-system exports as they really arrive (issue 13): encodings, delimiters, blank rows, header names in any
case and UK dates, read by `mutualaid units-import` (mutualaid.unit_import) through shared.duty_file."""

import pytest

from mutualaid.unit_import import UnitImportError, parse_units, request_body
from shared.duty_file import instant, read_table
from shared.uk_time import NotAUkTime

HEADER = "unit_id,capability,base_lat,base_lon,base_description,readiness_minutes,available_from,available_until"
ST_ASAPH = 'nwp-psu-1,PSU,53.257,-3.442,"St Asaph HQ, Llanelwy",30,2026-12-01T00:00:00Z,2026-12-31T00:00:00Z'
CAERNARFON = "nwp-psu-2,PSU,53.139,-4.273,Caernarfon (Gwynedd),45,2026-12-01T00:00:00Z,2026-12-31T00:00:00Z"


def units(data: bytes | str) -> list[dict[str, object]]:
    items: list[dict[str, object]] = request_body(parse_units(data, force="north-wales"))["items"]
    return items


def test_a_utf8_file_with_a_bom_crlf_and_quoted_welsh_places_imports() -> None:
    data = "\ufeff" + "\r\n".join([HEADER, ST_ASAPH, CAERNARFON]) + "\r\n"
    read = units(data.encode("utf-8"))
    assert [unit["base"] for unit in read] == [
        {"lat": 53.257, "lon": -3.442, "description": "St Asaph HQ, Llanelwy"},
        {"lat": 53.139, "lon": -4.273, "description": "Caernarfon (Gwynedd)"},
    ]


def test_rows_of_empty_cells_left_by_deleted_rows_are_skipped() -> None:
    data = "\n".join([HEADER, ST_ASAPH, ",,,,,,,", " , ,,,,,,", CAERNARFON, ",,,,,,,"]) + "\n"
    assert [unit["unit_id"] for unit in units(data)] == ["nwp-psu-1", "nwp-psu-2"]
    assert read_table(data, known=HEADER.split(",")).blank_rows == 3


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_a_semicolon_or_tab_delimited_file_imports(delimiter: str) -> None:
    rows = [HEADER, ST_ASAPH.replace('"St Asaph HQ, Llanelwy"', "St Asaph HQ"), CAERNARFON]
    data = "\n".join(row.replace(",", delimiter) for row in rows)
    assert [unit["unit_id"] for unit in units(data)] == ["nwp-psu-1", "nwp-psu-2"]


def test_a_semicolon_file_with_decimal_commas_says_what_is_wrong_once_per_cell() -> None:
    data = "\n".join([HEADER.replace(",", ";"), "nwp-psu-1;PSU;53,257;-3,442;St Asaph;30;01/12/2026;31/12/2026"])
    with pytest.raises(UnitImportError) as refused:
        parse_units(data, force="north-wales")
    assert [(p.line, p.column) for p in refused.value.problems] == [(2, "base_lat"), (2, "base_lon")]
    assert "'53,257'" in str(refused.value)


def test_uk_dates_are_read_day_first_in_uk_time() -> None:
    winter = "nwp-psu-1,PSU,53.257,-3.442,St Asaph,30,01/12/2026 00:00,31/12/2026"
    summer = "nwp-psu-2,PSU,53.257,-3.442,St Asaph,30,01/07/2027 18:30,02/07/2027 06:00"
    read = units("\n".join([HEADER, winter, summer]))
    assert [(u.get("available_from"), u.get("available_until")) for u in read] == [
        ("2026-12-01T00:00:00Z", "2026-12-31T00:00:00Z"),  # GMT
        ("2027-07-01T17:30:00Z", "2027-07-02T05:00:00Z"),  # BST: an hour ahead of UTC
    ]


def test_a_windows_1252_file_imports() -> None:
    row = "nwp-psu-1,PSU,53.257,-3.442,Bae Colwyn \u2013 Ffordd Abergele £,30,2026-12-01T00:00:00Z,2026-12-31T00:00:00Z"
    read = units("\r\n".join([HEADER, row]).encode("cp1252"))
    assert read[0]["base"] == {"lat": 53.257, "lon": -3.442, "description": "Bae Colwyn \u2013 Ffordd Abergele £"}


def test_header_names_in_any_case_and_with_spaces_are_read() -> None:
    header = "Unit ID,CAPABILITY,Base Lat,base-lon,Base_Description,Readiness Minutes,Available From,available_until"
    assert [unit["unit_id"] for unit in units("\n".join([header, CAERNARFON]))] == ["nwp-psu-2"]


def test_a_file_neither_utf8_nor_windows_1252_names_the_line_and_byte() -> None:
    data = "\n".join([HEADER, CAERNARFON]).encode() + b"\nnwp-psu-3,PSU,\x81\n"
    with pytest.raises(UnitImportError) as refused:
        parse_units(data, force="north-wales")
    [problem] = refused.value.problems
    assert problem.line == 3
    assert "0x81" in problem.message
    assert "save the file as CSV UTF-8" in problem.message


@pytest.mark.parametrize(
    ("cell", "says"),
    [
        ("12/31/2026", "month must be in 1..12"),
        ("2026-12-01 09:00", "needs its zone"),
        ("tomorrow", "not a time"),
        ("29/02/2027", "day is out of range"),
    ],
)
def test_a_time_that_is_not_one_says_what_to_write(cell: str, says: str) -> None:
    with pytest.raises(ValueError, match=says) as refused:
        instant(cell)
    assert "01/12/2026 09:00" in str(refused.value)


@pytest.mark.parametrize("cell", ["28/03/2027 01:30", "31/10/2027 01:30"])
def test_a_uk_time_the_clocks_skip_or_repeat_is_refused_in_words(cell: str) -> None:
    with pytest.raises(NotAUkTime):
        instant(cell)


def test_the_error_of_a_bad_time_cell_names_line_column_and_value() -> None:
    data = "\n".join([HEADER, CAERNARFON.replace("2026-12-31T00:00:00Z", "31/12/26")])
    with pytest.raises(UnitImportError) as refused:
        parse_units(data, force="north-wales")
    assert str(refused.value).startswith("line 2, column available_until: '31/12/26': not a time;")
