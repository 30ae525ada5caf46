"""Read a force's units from a CSV file (a duty system export) into a PUT /v1/forces/{code}/units body.

Pure: no files, no network. One row is one availability window of a unit; a unit with several windows
repeats its unit_id on several rows whose other cells agree. Each cell is checked by the availability
service's own models and rules, so a bad row is reported with its line and column before anything is sent.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from services.availability.domain import check_declarable, merge_windows
from services.availability.schemas import ReplacementOutcome, ReplacementResult, UnitDeclareWithId, UnitReplacement
from shared.duty_file import FileProblem, read_table
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


Problem = FileProblem


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


def parse_units(data: bytes | str, *, force: str) -> UnitReplacement:
    """The replacement body for a CSV file (its bytes as saved, or its text); rows without a force cell belong to
    `force`. The file may be written as duty systems and spreadsheets write it (shared.duty_file). Raises
    UnitImportError listing every problem, each with its line and column."""
    table = read_table(data, known=COLUMNS, times=WINDOW_COLUMNS)
    problems = list(table.problems)
    if not problems:
        _check_header(table.columns)
    rows: list[Row] = []
    bad_lines = {problem.line for problem in problems}
    for row in table.rows:
        try:
            if row.line not in bad_lines:
                rows.append(parse_row(row.line, row.cells, force=force, extra=row.extra))
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


def _check_header(columns: list[str]) -> None:
    """Refuse an empty file, and a header with missing, unknown or repeated columns (names in any case)."""
    if not columns:
        raise UnitImportError([Problem(1, None, f"the file is empty; expected a header: {','.join(COLUMNS)}")])
    problems = [Problem(1, column, "missing column") for column in REQUIRED_COLUMNS if column not in columns]
    problems += [
        Problem(1, name, f"unknown column; known: {', '.join(COLUMNS)}") for name in columns if name not in COLUMNS
    ]
    problems += [Problem(1, name, "repeated column") for name in sorted({n for n in columns if columns.count(n) > 1})]
    if problems:
        raise UnitImportError(problems)


def parse_row(line: int, cells: dict[str, str], *, force: str, extra: bool = False) -> Row:
    """One CSV row (its non-empty cells by column), checked by the service's declaration model and its window
    and status rules; `extra`: the row has more cells than the header has columns."""
    values = _values(line, cells, extra=extra)
    try:
        unit = UnitDeclareWithId.model_validate(_declaration(values, force), context=TEXT_CELLS)
    except ValidationError as error:
        raise UnitImportError([_problem(line, values, item) for item in error.errors()]) from None
    _check_rules(line, unit)
    return Row(line=line, unit=unit)


def _values(line: int, values: dict[str, str], *, extra: bool) -> dict[str, str]:
    """The row's non-empty cells by column; refuses extra fields and empty required cells."""
    if extra:
        raise UnitImportError([Problem(line, None, "more fields than the header has columns")])
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
    client: httpx.AsyncClient, force: str, replacement: UnitReplacement, *, token: str, dry_run: bool = False
) -> ReplacementResult:
    """Replace the force's declared set through PUT /v1/forces/{force}/units (`dry_run`: the service says what it
    would do and changes nothing); UnitsRefused on an HTTP error."""
    response = await client.put(
        f"/v1/forces/{force}/units",
        json=request_body(replacement),
        headers={"Authorization": f"Bearer {token}"},
        params={"dry_run": "true"} if dry_run else {},
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


def summary(result: ReplacementResult) -> str:
    """What the service did (or would do) with the file, in lines: the counts, then each unit withdrawn, kept
    (booked, whatever the file said) or updated (with the fields that change)."""
    counts = (
        f"{result.force}: {result.declared} declared, {result.updated} updated, {result.unchanged} unchanged, "
        f"{result.withdrawn} withdrawn, {result.kept} kept as booked"
    )
    lines = [counts + (" (dry run: nothing changed)" if result.dry_run else "")]
    for unit in result.units:
        if unit.outcome == ReplacementOutcome.WITHDRAWN:
            lines.append(f"  withdrawn  {unit.unit_id}")
        elif unit.outcome == ReplacementOutcome.KEPT:
            lines.append(f"  kept       {unit.unit_id}: {unit.reason}")
        elif unit.outcome == ReplacementOutcome.UPDATED:
            lines.append(f"  updated    {unit.unit_id}: {', '.join(unit.changed)}")
    return "\n".join(lines)
