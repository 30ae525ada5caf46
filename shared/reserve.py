"""The business-as-usual reserve rule that availability and tasking both apply.

A force keeps its reserve of each capability at home (DOMAIN.md, "BAU"; set per force with
PUT /v1/forces/{code}/policy): it can lend what it has free beyond that, never below zero, and
"free" is for a period: at every instant of it (units booked at the busiest moment are not free).
"""

from datetime import datetime


def lendable(free: int, reserve: int) -> int:
    """Units a force can still lend: its free units less its reserve, never below 0."""
    return max(0, free - reserve)


def most_at_once(intervals: list[tuple[datetime, datetime]], start: datetime, end: datetime) -> int:
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
