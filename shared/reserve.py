"""The business-as-usual reserve rule that availability and tasking both apply.

A force keeps its reserve of each capability at home (DOMAIN.md, "BAU"; set per force with
PUT /v1/forces/{code}/policy): it can lend what it has free beyond that, never below zero, and
"free" is for a period: at every instant of it. A unit is free at an instant when it is declared
AVAILABLE, inside one of its availability windows (outside them it is off duty: on leave, rest
days, training) and not booked; the units away at the busiest moment are not free.
"""

from collections.abc import Iterable
from datetime import UTC, datetime

Interval = tuple[datetime, datetime]
ALWAYS: Interval = (datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC))


def lendable(free: int, reserve: int) -> int:
    """Units a force can still lend: its free units less its reserve, never below 0."""
    return max(0, free - reserve)


def away(
    bookings: Iterable[Interval], windows: Iterable[Interval] = (ALWAYS,), on_duty_in: Interval = ALWAYS
) -> list[Interval]:
    """When one unit is not free at home (UTC): booked, or outside every availability window.

    Windows are asked only during on_duty_in (the period a rule is about: the travel either side
    of it, or a day that has passed, does not make a unit off duty); no windows: never free in it.
    Merged, so that however its bookings and gaps overlap the unit counts once at any instant;
    pass every unit's intervals together to most_at_once.
    """
    gaps, edge = [], ALWAYS[0]
    outside = [(ALWAYS[0], on_duty_in[0]), (on_duty_in[1], ALWAYS[1])]
    for first, last in sorted([*windows, *outside]):
        if edge < first:
            gaps.append((edge, first))
        edge = max(edge, last)
    if edge < ALWAYS[1]:
        gaps.append((edge, ALWAYS[1]))
    merged: list[Interval] = []
    for first, last in sorted([*bookings, *gaps]):
        if merged and first <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def most_at_once(intervals: list[Interval], start: datetime, end: datetime) -> int:
    """The most of these intervals (UTC) that overlap the period at one instant: how many units its bookings
    take at the busiest moment. Touching intervals do not overlap; an instant (start == end) counts those
    that cover it."""
    if start == end:
        return sum(1 for first, last in intervals if first <= start < last)
    edges = sorted(
        edge
        for first, last in intervals
        if first < end and start < last
        for edge in ((max(first, start), 1), (min(last, end), -1))
    )
    most = now = 0
    for _, step in edges:  # at a shared instant an end (-1) sorts before a start (+1)
        now += step
        most = max(most, now)
    return most
