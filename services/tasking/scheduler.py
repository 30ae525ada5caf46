"""Batches planning: requests that arrive within the batching window are planned together."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from shared import tracing

log = logging.getLogger(__name__)


class PlanningScheduler:
    """Woken when a request needs planning; waits out the batching window, then plans every OPEN request.

    The window counts from the first wake-up since the last run began: what arrived during a run that
    took longer than the window is planned as soon as it ends (it has waited long enough), so under load
    runs follow each other and a request waits at most the window and two runs.

    OPEN requests live in the database, so a crash between accepting and planning loses nothing:
    the first pass after a start plans whatever is open, and a sweep every `sweep_s` seconds plans
    what no event woke this replica for (taken in by another replica that died, or left by a failed run).
    """

    def __init__(self, *, window_s: float, sweep_s: float) -> None:
        self._window_s = window_s
        self._sweep_s = sweep_s
        self._wake = asyncio.Event()
        self._wake.set()  # plan what a previous run left open
        self._woken_at: float | None = None  # loop time of the first wake-up since the last run began

    def wake(self) -> None:
        if not self._wake.is_set():
            self._woken_at = asyncio.get_running_loop().time()
        self._wake.set()

    async def run(self, plan: Callable[[], Awaitable[int]]) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._sweep_s):
                    await self._wake.wait()
                now = asyncio.get_running_loop().time()
                waited = now - self._woken_at if self._woken_at is not None else 0.0
                await asyncio.sleep(max(0.0, self._window_s - waited))
            self._wake.clear()
            self._woken_at = None
            try:
                with tracing.span("tasking planning run"):
                    planned = await plan()
            except Exception:  # a failed run must not stop planning: the requests stay OPEN for the next
                log.exception("planning run failed; the requests stay open")
                await asyncio.sleep(1)
                self._wake.set()
                continue
            if planned:
                log.info("planned %d request(s)", planned)
