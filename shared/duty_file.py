"""A duty system's CSV export as it really arrives, read into rows of text cells. Pure: no I/O.

What spreadsheets and duty systems write: UTF-8 with or without a byte order mark, or Windows-1252; commas,
semicolons (a spreadsheet in a locale whose decimal mark is a comma) or tabs between cells; CRLF line ends;
header names in any case; rows of empty cells left behind by deleted rows; UK dates (`01/12/2026 09:00`,
day first, UK wall-clock time). The rows come out with canonical column names and every time cell as RFC 3339
in UTC, so the readers of the file (`mutualaid units-import`, the console's import page) judge only its meaning.
"""

import csv
import io
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime

from shared.uk_time import from_uk_wall_clock

DELIMITERS = (",", ";", "\t")
_UK_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?")
TIME_HINT = "write a UK date and time (01/12/2026 09:00, UK time) or RFC 3339 with a zone (2026-12-01T09:00:00Z)"


@dataclass(frozen=True)
class FileProblem:
    """One reason the file cannot be read, and where it is (line of the file, canonical column)."""

    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        """The problem as `line 3, column capability: message`."""
        where = [f"line {self.line}"] if self.line is not None else []
        where += [f"column {self.column}"] if self.column else []
        return f"{', '.join(where)}: {self.message}" if where else self.message


@dataclass(frozen=True)
class Row:
    """One row that holds something: the line it ends on and its non-empty cells (trimmed) by column."""

    line: int
    cells: dict[str, str]
    extra: bool = False  # more cells than the header has columns


@dataclass
class DutyTable:
    """The file read: how it was written, its columns, its rows, and every problem found on the way."""

    encoding: str
    delimiter: str
    columns: list[str]
    rows: list[Row] = field(default_factory=list)
    blank_rows: int = 0
    problems: list[FileProblem] = field(default_factory=list)


def read_table(data: bytes | str, *, known: Collection[str], times: Collection[str] = ()) -> DutyTable:
    """Read a CSV export: decode it, find its delimiter, name its columns, skip blank rows, and write the cells
    of the `times` columns as RFC 3339 UTC. `known` are the canonical column names (the delimiter is the one
    that splits the header into most of them). Problems (an undecodable byte, malformed CSV, a time that is
    not one) are collected in `problems`, each with its line and column; reading goes on past them."""
    try:
        text, encoding = (data, "text") if isinstance(data, str) else decode(data)
    except UndecodableFile as error:
        return DutyTable(encoding="", delimiter="", columns=[], problems=[FileProblem(error.line, None, str(error))])
    header_line = next(iter(text.splitlines()), "")
    delimiter = max(DELIMITERS, key=lambda d: (len(set(_split(header_line, d)) & set(known)), d == ","))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    table = DutyTable(encoding=encoding, delimiter=delimiter, columns=[])
    try:
        table.columns = [column_name(name) for name in next(reader, [])]
        for cells in reader:
            _add(table, reader.line_num, cells, times)
    except csv.Error as error:
        table.problems.append(FileProblem(reader.line_num, None, f"not valid CSV: {error}"))
    return table


class UndecodableFile(ValueError):
    """The bytes are neither UTF-8 nor Windows-1252 text; `line` is where the first bad byte is."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


def decode(data: bytes) -> tuple[str, str]:
    """The file's text and the encoding it was read as: UTF-8 (a byte order mark dropped), else Windows-1252.

    Raises UndecodableFile, naming the line and the byte, when it is neither."""
    if data.startswith(b"\xef\xbb\xbf"):
        return _decoded(data[3:], "utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return _decoded(data, "cp1252"), "cp1252"


def _decoded(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        message = f"byte 0x{data[error.start]:02x} is neither UTF-8 nor Windows-1252 text; save the file as CSV UTF-8"
        raise UndecodableFile(line, message) from None


def column_name(name: str) -> str:
    """A header cell as a canonical column name: `Unit ID`, ` UNIT_ID ` and `unit-id` are all `unit_id`."""
    return re.sub(r"[\s\-]+", "_", name.strip().lstrip("\ufeff").strip()).lower()


def instant(text: str) -> str:
    """A time cell as RFC 3339 in UTC: a UK date (`dd/mm/yyyy`, midnight) or date and time (`dd/mm/yyyy hh:mm`)
    in UK wall-clock time, or RFC 3339 with a zone. Raises ValueError saying what to write instead, and
    shared.uk_time.NotAUkTime for a UK time the clocks skip or repeat."""
    match = _UK_DATE.fullmatch(text.strip())
    if match:
        day, month, year, hour, minute, second = (int(part) if part else 0 for part in match.groups())
        try:
            wall_clock = datetime(year, month, day, hour, minute, second)
        except ValueError as error:
            raise ValueError(f"not a date and time ({error}); {TIME_HINT}") from None
        return from_uk_wall_clock(wall_clock).isoformat().replace("+00:00", "Z")
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as error:
        why = f" ({error})" if re.match(r"\d{4}-\d\d-\d\d", text.strip()) and "isoformat" not in str(error) else ""
        raise ValueError(f"not a time{why}; {TIME_HINT}") from None
    if moment.tzinfo is None:
        raise ValueError(f"a time needs its zone, or write it as UK time; {TIME_HINT}")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _split(line: str, delimiter: str) -> list[str]:
    return [column_name(cell) for cell in next(csv.reader([line], delimiter=delimiter), [])]


def _add(table: DutyTable, line: int, cells: list[str], times: Collection[str]) -> None:
    if not any(cell.strip() for cell in cells):
        table.blank_rows += 1
        return
    named = dict(zip(table.columns, (cell.strip() for cell in cells), strict=False))
    extra = len(cells) > len(table.columns) and any(cell.strip() for cell in cells[len(table.columns) :])
    for column in () if extra else times:  # cells shifted by an extra one are not what their column says
        if named.get(column):
            try:
                named[column] = instant(named[column])
            except ValueError as error:
                table.problems.append(FileProblem(line, column, f"{named[column]!r}: {error}"))
    table.rows.append(Row(line, {name: cell for name, cell in named.items() if cell}, extra))
