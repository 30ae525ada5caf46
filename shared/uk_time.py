"""UK wall-clock time (Europe/London) as instants, across the clock changes. Pure: no I/O.

Once a year an hour of wall-clock time does not exist in the UK (the clocks go forward at 01:00 GMT on the
last Sunday of March) and once a year an hour happens twice (they go back at 02:00 BST on the last Sunday of
October): such a time is refused in words rather than guessed.
"""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

UK = ZoneInfo("Europe/London")


class NotAUkTime(ValueError):
    """A wall-clock time that is not one instant in the UK, with what to do about it in words."""


def from_uk_wall_clock(value: datetime) -> datetime:
    """A naive UK wall-clock time as the instant it names, in UTC.

    Raises NotAUkTime for a time the clocks skip (spring) or repeat (autumn)."""
    earlier, later = value.replace(tzinfo=UK, fold=0), value.replace(tzinfo=UK, fold=1)
    when = f"{value:%H:%M} on {value.day} {value:%B %Y}"
    if earlier.astimezone(UTC).astimezone(UK).replace(tzinfo=None) != value:
        raise NotAUkTime(f"{when} does not exist in the UK: the clocks go forward that night. Choose 02:00 or later.")
    if earlier.utcoffset() != later.utcoffset():
        raise NotAUkTime(
            f"{when} happens twice in the UK (the clocks go back that night, first in BST, then in GMT): "
            "choose a time before 01:00 or from 02:00."
        )
    return earlier.astimezone(UTC)
