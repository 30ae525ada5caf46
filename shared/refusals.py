"""Refused calls (403): which to record, so that a caller who is refused again and again cannot flood the record.

Every refusal is counted (mutualaid_refusals_total). A refusal is recorded (an audit entry in tasking, a
warning line in the other services) the first time a principal is refused on a resource (method and path)
within the window, and at most `per_principal` times per principal until it has had a window without a
record; the rest are only counted.
Kept in memory, per process: a replica records at most that much, and a restart starts afresh. See
docs/decisions/0016-refusals-recorded-once-and-bounded.md.
"""

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from cachetools import TTLCache
from fastapi import Request

from shared.auth import Principal
from shared.errors import Forbidden
from shared.metrics import REFUSALS

log = logging.getLogger("mutualaid.refusals")

WINDOW = timedelta(hours=1)
PER_PRINCIPAL = 20  # new resources a principal's refusals are recorded for, per window
REMEMBERED = 10_000  # (principal, resource) pairs and principals kept in memory at most; the oldest go first

Record = Callable[[Request, Forbidden], Awaitable[None]]


class RefusalThrottle:
    """Decides which refusals are recorded: a principal's first on each resource, up to `per_principal` of them,
    within `window`. `clock` gives seconds (monotonic)."""

    def __init__(
        self,
        *,
        window: timedelta = WINDOW,
        per_principal: int = PER_PRINCIPAL,
        remembered: int = REMEMBERED,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        ttl = window.total_seconds()
        self.per_principal = per_principal
        self._seen: TTLCache[tuple[str, str], bool] = TTLCache(maxsize=remembered, ttl=ttl, timer=clock)
        self._recorded: TTLCache[str, int] = TTLCache(maxsize=remembered, ttl=ttl, timer=clock)

    def first(self, who: str, resource: str) -> bool:
        """Whether this refusal is to be recorded; remembers it either way."""
        if (who, resource) in self._seen:
            return False
        self._seen[who, resource] = True
        recorded = self._recorded.get(who, 0)
        if recorded >= self.per_principal:
            return False
        self._recorded[who] = recorded + 1  # kept for a window from its latest record: a steady flood stays muted
        return True


def recorder(service: str, record: Record | None = None, throttle: RefusalThrottle | None = None) -> Record:
    """The hook every 403 goes through (shared.web's on_refused): counts it and, when the throttle lets it,
    hands it to `record` (tasking: its audit trail), or else logs a warning line naming who and what."""
    throttle = throttle or RefusalThrottle()

    async def on_refused(request: Request, error: Forbidden) -> None:
        principal: Principal | None = getattr(request.state, "principal", None)
        role = principal.role.value if principal else "none"
        resource = f"{request.method} {request.url.path}"
        kept = throttle.first(principal.sub if principal else "", resource)
        REFUSALS.labels(service=service, role=role, recorded=str(kept).lower()).inc()
        if not kept:
            return
        if record is not None:
            await record(request, error)
        else:
            log.warning("refused %s (%s) %s: %s", principal.sub if principal else "-", role, resource, error.detail)

    return on_refused
