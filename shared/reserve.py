"""The business-as-usual reserve rule that availability and tasking both apply.

A force keeps its reserve of each capability at home (DOMAIN.md, "BAU"; set per force with
PUT /v1/forces/{code}/policy): it can lend what it has free beyond that, never below zero.
"""


def lendable(free: int, reserve: int) -> int:
    """Units a force can still lend: its free units less its reserve, never below 0."""
    return max(0, free - reserve)
