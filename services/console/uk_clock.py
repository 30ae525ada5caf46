"""UK local time in forms, both ways, across the clock changes. Pure: no I/O.

A datetime-local field holds a wall-clock time with no zone. Once a year an hour of wall-clock time does not
exist in the UK (the clocks go forward at 01:00 GMT) and once a year an hour happens twice (they go back at
02:00 BST): such a time is refused in words rather than guessed. A time the console itself showed keeps its
offset in a hidden field (`shown`), so saving a form unchanged never moves the second 01:30 to the first.
"""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

UK = ZoneInfo("Europe/London")


class NotAUkTime(ValueError):
    """A time that cannot be read as one instant in the UK, with what to do about it in words."""


def field_value(moment: str | None) -> str:
    """A UTC time (ISO text) as the value of a datetime-local field in UK local time."""
    return f"{_local(moment):%Y-%m-%dT%H:%M}" if moment else ""


def shown_with_offset(moment: str | None) -> str:
    """The same UK local time with its offset (for a hidden field beside it): which 01:30 was shown."""
    return _local(moment).isoformat(timespec="minutes") if moment else ""


def to_utc(text: str, *, shown: str = "") -> str:
    """A datetime-local value (UK local time) as RFC 3339 UTC; a value with an offset keeps its offset.

    `shown` is the offset form of the value the page showed: when the field still holds it, it is that instant.
    Raises NotAUkTime for a time the clock change skips or repeats, ValueError when it is not a time at all."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is not None:
        return value.astimezone(UTC).isoformat()
    if shown and datetime.fromisoformat(shown).replace(tzinfo=None) == value:
        return datetime.fromisoformat(shown).astimezone(UTC).isoformat()
    earlier, later = value.replace(tzinfo=UK, fold=0), value.replace(tzinfo=UK, fold=1)
    when = f"{value:%H:%M} on {value.day} {value:%B %Y}"
    if earlier.astimezone(UTC).astimezone(UK).replace(tzinfo=None) != value:
        raise NotAUkTime(f"{when} does not exist in the UK: the clocks go forward that night. Choose 02:00 or later.")
    if earlier.utcoffset() != later.utcoffset():
        raise NotAUkTime(
            f"{when} happens twice in the UK (the clocks go back that night, first in BST, then in GMT): "
            "choose a time before 01:00 or from 02:00."
        )
    return earlier.astimezone(UTC).isoformat()


def _local(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00")).astimezone(UK)
