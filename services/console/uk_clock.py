"""UK local time in forms, both ways, across the clock changes. Pure: no I/O.

A datetime-local field holds a wall-clock time with no zone, read as shared.uk_time reads it (a time the
clocks skip or repeat is refused in words). A time the console itself showed keeps its
offset in a hidden field (`shown`), so saving a form unchanged never moves the second 01:30 to the first.
"""

from datetime import UTC, datetime

from shared.uk_time import UK, NotAUkTime, from_uk_wall_clock

__all__ = ["UK", "NotAUkTime", "field_value", "shown_with_offset", "to_utc"]


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
    return from_uk_wall_clock(value).isoformat()


def _local(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00")).astimezone(UK)
