"""The planning scheduler's batching window: counted from the first wake-up, not from the end of the last run."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

from services.tasking.scheduler import PlanningScheduler

WINDOW_S = 0.2
Run = tuple[float, float]  # when a planning run began and ended (loop time, seconds)


@contextlib.asynccontextmanager
async def scheduling(
    run_s: float, *, wake_during_first_run: bool = False
) -> AsyncIterator[tuple[PlanningScheduler, asyncio.Queue[Run]]]:
    """A scheduler planning with a stand-in run of `run_s` seconds; each run's times go to the queue."""
    loop = asyncio.get_running_loop()
    runs: asyncio.Queue[Run] = asyncio.Queue()
    scheduler = PlanningScheduler(window_s=WINDOW_S, sweep_s=60)

    async def plan() -> int:
        began = loop.time()
        if wake_during_first_run and runs.empty():
            scheduler.wake()  # a request arrives as the run starts
        await asyncio.sleep(run_s)
        runs.put_nowait((began, loop.time()))
        return 0

    task = asyncio.create_task(scheduler.run(plan))
    try:
        yield scheduler, runs
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_request_waits_out_the_window_before_an_idle_scheduler_plans() -> None:
    async with scheduling(0.0) as (scheduler, runs):
        await asyncio.wait_for(runs.get(), 5)  # the first pass plans what a previous run left open
        await asyncio.sleep(0.1)
        woken = asyncio.get_running_loop().time()
        scheduler.wake()
        began, _ = await asyncio.wait_for(runs.get(), 5)
    assert began - woken >= WINDOW_S - 0.01  # requests arriving together are planned together


async def test_requests_that_arrived_during_a_long_run_are_planned_as_soon_as_it_ends() -> None:
    """They have waited longer than the window already: waiting it out again only adds latency under load."""
    async with scheduling(2 * WINDOW_S, wake_during_first_run=True) as (_, runs):
        _, ended = await asyncio.wait_for(runs.get(), 5)
        next_began, _ = await asyncio.wait_for(runs.get(), 5)
    assert next_began - ended < WINDOW_S / 2
