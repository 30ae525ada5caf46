"""Read a force's units from a CSV file (a duty system export) into a PUT /v1/forces/{code}/units body.

Pure: no files, no network. One row is one availability window of a unit; a unit with several windows
repeats its unit_id on several rows whose other cells agree. Each cell is checked by the availability
service's own models and rules, so a bad row is reported with its line and column before anything is sent.
"""

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from services.availability.domain import check_declarable, merge_windows
from services.availability.schemas import ReplacementResult, UnitDeclareWithId, UnitReplacement
from shared.errors import MutualAidError
from shared.vocabulary import TEXT_CELLS

REQUIRED_COLUMNS = (
    "unit_id",
    "capability",
    "base_lat",
    "base_lon",
    "base_description",
    "readiness_minutes",
    "available_from",
    "available_until",
)
OPTIONAL_COLUMNS = ("scope", "status", "force")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
MAY_BE_EMPTY = frozenset({"base_description", *OPTIONAL_COLUMNS})
WINDOW_COLUMNS = frozenset({"available_from", "available_until"})
UNIT_FIELDS = ("unit_id", "force", "capability", "readiness_minutes", "scope", "status")
BASE_FIELDS = ("lat", "lon", "description")


@dataclass(frozen=True)
class Problem:
    """One reason the file cannot be imported, and where it is."""

    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        """The problem as `line 3, column capability: message`."""
        where = [f"line {self.line}"] if self.line is not None else []
        where += [f"column {self.column}"] if self.column else []
        return f"{', '.join(where)}: {self.message}" if where else self.message


class UnitImportError(ValueError):
    """The file cannot be imported; `problems` lists every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems


@dataclass(frozen=True)
class Row:
    """One valid row: a unit declared with that row's single window."""

    line: int
    unit: UnitDeclareWithId


def parse_units(lines: Iterable[str], *, force: str) -> UnitReplacement:
    """The replacement body for the CSV lines; rows without a force cell belong to `force`."""
    rows: list[Row] = []
    problems: list[Problem] = []
    for line, cells in _records(csv.DictReader(lines)):
        try:
            rows.append(parse_row(line, cells, force=force))
        except UnitImportError as error:
            problems.extend(error.problems)
    if problems:
        raise UnitImportError(problems)
    if not rows:
        raise UnitImportError([Problem(None, None, "no units in the file: refusing to withdraw the whole set")])
    return _replacement(merge_rows(rows))


def request_body(replacement: UnitReplacement) -> dict[str, Any]:
    """The JSON body of PUT /v1/forces/{code}/units."""
    return replacement.model_dump(mode="json", exclude_none=True)


def _records(reader: "csv.DictReader[str]") -> Iterator[tuple[int, dict[str | Any, Any]]]:
    """Each row with the line it ends on, after checking the header; malformed CSV is a problem too."""
    try:
        _check_header(reader.fieldnames, line=max(reader.line_num, 1))
        for cells in reader:
            yield reader.line_num, cells
    except csv.Error as error:
        raise UnitImportError([Problem(reader.line_num, None, f"not valid CSV: {error}")]) from None


def _check_header(fieldnames: Iterable[str] | None, *, line: int) -> None:
    """Refuse an empty file, and a header with missing, unknown or repeated columns."""
    if fieldnames is None:
        raise UnitImportError([Problem(line, None, f"the file is empty; expected a header: {','.join(COLUMNS)}")])
    names = [name.strip() for name in fieldnames]
    problems = [Problem(line, column, "missing column") for column in REQUIRED_COLUMNS if column not in names]
    problems += [
        Problem(line, name, f"unknown column; known: {', '.join(COLUMNS)}") for name in names if name not in COLUMNS
    ]
    problems += [Problem(line, name, "repeated column") for name in sorted({n for n in names if names.count(n) > 1})]
    if problems:
        raise UnitImportError(problems)


def parse_row(line: int, cells: dict[str | Any, Any], *, force: str) -> Row:
    """One CSV row, checked by the service's declaration model and its window and status rules."""
    values = _values(line, cells)
    try:
        unit = UnitDeclareWithId.model_validate(_declaration(values, force), context=TEXT_CELLS)
    except ValidationError as error:
        raise UnitImportError([_problem(line, values, item) for item in error.errors()]) from None
    _check_rules(line, unit)
    return Row(line=line, unit=unit)


def _values(line: int, cells: dict[str | Any, Any]) -> dict[str, str]:
    """The row's non-empty cells by column; refuses extra fields and empty required cells."""
    if any(str(extra).strip() for extra in cells.get(None) or []):
        raise UnitImportError([Problem(line, None, "more fields than the header has columns")])
    values = {name.strip(): cell.strip() for name, cell in cells.items() if isinstance(cell, str) and cell.strip()}
    missing = [column for column in REQUIRED_COLUMNS if column not in MAY_BE_EMPTY and column not in values]
    if missing:
        raise UnitImportError([Problem(line, column, "missing value") for column in missing])
    return values


def _declaration(values: dict[str, str], force: str) -> dict[str, Any]:
    """The PUT /v1/units body (plus unit_id) the row stands for, cells still as text."""
    body: dict[str, Any] = {name: values[name] for name in UNIT_FIELDS if name in values}
    body.setdefault("force", force)
    body["base"] = {name: values[f"base_{name}"] for name in BASE_FIELDS if f"base_{name}" in values}
    body["available_from"] = values["available_from"]
    body["available_until"] = values["available_until"]
    return body


def _problem(line: int, values: dict[str, str], error: ErrorDetails) -> Problem:
    """A pydantic error as a problem naming the column and quoting the cell."""
    loc = tuple(error["loc"])
    column = f"base_{loc[1]}" if loc[:1] == ("base",) and len(loc) > 1 else str(loc[0]) if loc else None
    message = str(error["msg"]).removeprefix("Value error, ")
    if column in values:
        message = f"{values[column]!r}: {message}"
    return Problem(line, column, message)


def _check_rules(line: int, unit: UnitDeclareWithId) -> None:
    """The service's own rules for a declared status and a window, with the row's line."""
    problems: list[Problem] = []
    try:
        check_declarable(unit.status, (), datetime.now(UTC))
    except MutualAidError as error:
        problems.append(Problem(line, "status", error.detail))
    try:
        merge_windows(unit.availability())
    except MutualAidError as error:
        problems.append(Problem(line, "available_until", error.detail))
    if problems:
        raise UnitImportError(problems)


def merge_rows(rows: list[Row]) -> list[UnitDeclareWithId]:
    """One declaration per unit id, in file order; repeated ids become windows of one unit."""
    by_unit: dict[str, list[Row]] = {}
    for row in rows:
        by_unit.setdefault(row.unit.unit_id, []).append(row)
    units: list[UnitDeclareWithId] = []
    problems: list[Problem] = []
    for unit_rows in by_unit.values():
        try:
            units.append(_one_unit(unit_rows))
        except UnitImportError as error:
            problems.extend(error.problems)
    if problems:
        raise UnitImportError(problems)
    return units


def _one_unit(rows: list[Row]) -> UnitDeclareWithId:
    """The unit of its rows: their cells other than the window must agree."""
    first = rows[0]
    if len(rows) == 1:
        return first.unit
    problems = [problem for row in rows[1:] for problem in _disagreements(first, row)]
    if problems:
        raise UnitImportError(problems)
    body = first.unit.model_dump(exclude={"available_from", "available_until"})
    try:
        windows = [row.unit.availability()[0].model_dump() for row in rows]
        return UnitDeclareWithId.model_validate(body | {"windows": windows})
    except ValidationError as error:
        message = f"unit {first.unit.unit_id} has {len(rows)} windows: {error.errors()[0]['msg']}"
        raise UnitImportError([Problem(first.line, "unit_id", message)]) from None


def _disagreements(first: Row, row: Row) -> list[Problem]:
    """Where a repeated unit's row differs from its first row, other than the window."""
    theirs, ours = _cells_of(first.unit), _cells_of(row.unit)
    return [
        Problem(
            row.line,
            column,
            f"unit {row.unit.unit_id} has {ours[column]!r} here but {theirs[column]!r} on line {first.line}; "
            "rows of one unit may differ only in available_from and available_until",
        )
        for column in theirs
        if theirs[column] != ours[column]
    ]


def _cells_of(unit: UnitDeclareWithId) -> dict[str, Any]:
    """The unit's values by CSV column, other than the window."""
    data = unit.model_dump(mode="json", include={*UNIT_FIELDS, "base"})
    base = data.pop("base")
    return data | {f"base_{name}": base[name] for name in BASE_FIELDS}


def _replacement(units: list[UnitDeclareWithId]) -> UnitReplacement:
    """The request body; refuses more units than the service takes at once."""
    try:
        return UnitReplacement(items=units)
    except ValidationError as error:
        raise UnitImportError([Problem(None, None, f"{item['msg']}") for item in error.errors()]) from None


class UnitsRefused(Exception):
    """The availability service refused the import; carries its status and problem detail."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


async def put_force_units(
    client: httpx.AsyncClient, force: str, replacement: UnitReplacement, *, token: str
) -> ReplacementResult:
    """Replace the force's declared set through PUT /v1/forces/{force}/units; UnitsRefused on an HTTP error."""
    response = await client.put(
        f"/v1/forces/{force}/units", json=request_body(replacement), headers={"Authorization": f"Bearer {token}"}
    )
    if response.is_error:
        raise UnitsRefused(response.status_code, _problem_detail(response))
    return ReplacementResult.model_validate(response.json())


def _problem_detail(response: httpx.Response) -> str:
    """The detail of a problem+json answer, or the body as text when it is not one."""
    try:
        body = response.json()
    except ValueError:
        return response.text or response.reason_phrase
    detail = body.get("detail") if isinstance(body, dict) else None
    return str(detail) if detail else response.text
