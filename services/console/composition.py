"""A unit's composition as the request form shows it: one role a line, its count first ("3 sergeant")."""

import re

LINE = re.compile(r"^\s*(\d+)\s*(?:x|\u00d7)?\s+(\S.*?)\s*$")


class UnreadableComposition(ValueError):
    """A line of the composition is not a count followed by a role."""


def as_text(lines: list[dict[str, object]]) -> str:
    """The catalogue's (or a request's) composition, one "count role" a line."""
    return "\n".join(f"{line['count']} {line['role']}" for line in lines)


def read(text: str) -> list[dict[str, object]]:
    """The lines typed, as the requests service takes a need's composition; blank lines are skipped."""
    lines = []
    for number, typed in enumerate(text.splitlines(), start=1):
        if not typed.strip():
            continue
        found = LINE.match(typed)
        if found is None:
            raise UnreadableComposition(
                f"line {number} of the composition, {typed.strip()!r}: write a count, then a role"
            )
        lines.append({"role": found.group(2), "count": int(found.group(1))})
    return lines


def override(typed: str, default: list[dict[str, object]]) -> list[dict[str, object]] | None:
    """The composition to send with a need: None when what was typed is the catalogue's default (or nothing)."""
    lines = read(typed)
    return None if not lines or lines == default else lines
