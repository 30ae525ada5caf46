"""One fault run: a supervised stack under load while its processes are killed and its broker frozen and killed,
then the wait for it to converge and the count of what it lost and duplicated. The fault test and
benchmarks/fault.py run it at two sizes."""

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

import httpx

from mutualaid.runner import Stack
from tests.support.effects import quiet
from tests.support.fault_checks import Tally, audit_intact, forces_below_reserve, tally
from tests.support.fault_load import (
    DONORS,
    RESERVE,
    SETTLED,
    Load,
    declare_donors,
    keep_approving,
    settled,
    status_of,
    submit_requests,
)
from tests.support.fault_schedule import Faults, run_schedule, supervised


@dataclass(frozen=True)
class Plan:
    """How big a run is: requests over a number of seconds, units per donor force, kills per service, the broker
    freeze, the gap between faults and how long the stack may take to converge after the last one."""

    requests: int = 72
    seconds: float = 30.0
    units_per_force: int = 4
    kills_per_service: int = 2
    freeze_s: float = 20.0
    gap_s: float = 1.5
    converge_within_s: float = 150.0


@dataclass
class Outcome:
    """What a run did and found; converged_s is None when the stack had not converged in time."""

    load: Load
    faults: Faults
    tally: Tally
    converged_s: float | None
    faulted_s: float = 0.0  # from the first declaration to the last fault and the last request accepted
    below_reserve: list[str] = field(default_factory=list)
    audit: str = ""

    def summary(self) -> str:
        converged = f"{self.converged_s:.1f}s" if self.converged_s is not None else "not within the time allowed"
        kills = ", ".join(f"{name} {n}" for name, n in sorted(self.faults.kills.items()))
        return (
            f"requests {len(self.load.accepted)}, units {len(self.load.declared)}, "
            f"approvals {dict(self.load.approvals)}, calls retried {self.load.retried}\n"
            f"kills {self.faults.kills.total()} ({kills}), pauses {len(self.faults.pauses)} "
            f"({', '.join(f'{s:.0f}s' for s in self.faults.pauses)})\n"
            f"load and faults {self.faulted_s:.1f}s; "
            f"lost {self.tally.lost}, duplicated {self.tally.duplicated}, time to converge {converged}"
            + "".join(f"\n  {finding}" for finding in self.tally.findings)
        )


async def run_faults(stack: Stack, plan: Plan) -> Outcome:
    """Load the stack and inject the faults of the plan, wait for it to converge, then check the invariants."""
    load, faults, started = Load(), Faults(), time.monotonic()
    # Calls wait for a free connection as long as it takes: the load queues, it does not count a full pool as an outage.
    async with httpx.AsyncClient(timeout=httpx.Timeout(10, pool=None)) as client, supervised(stack, faults):
        await declare_donors(load, client, stack, units_per_force=plan.units_per_force)
        approving = asyncio.create_task(keep_approving(load, client, stack))
        try:
            await asyncio.gather(
                submit_requests(load, client, stack, count=plan.requests, seconds=plan.seconds),
                run_schedule(
                    stack, faults, kills_per_service=plan.kills_per_service, freeze_s=plan.freeze_s, gap_s=plan.gap_s
                ),
            )
        finally:
            approving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await approving
        faulted_s = time.monotonic() - started
        converged_s = await converge(load, client, stack, within=plan.converge_within_s)
        statuses = [await status_of(load, client, stack, request_id) for request_id in load.accepted]
    unsettled = [r for r, status in zip(load.accepted, statuses, strict=True) if status not in SETTLED]
    return Outcome(
        load=load,
        faults=faults,
        tally=await tally(stack, accepted=load.accepted, unsettled=unsettled),
        converged_s=converged_s,
        faulted_s=faulted_s,
        below_reserve=await forces_below_reserve(stack, DONORS, RESERVE),
        audit=await audit_intact(stack),
    )


async def converge(load: Load, client: httpx.AsyncClient, stack: Stack, *, within: float) -> float | None:
    """Seconds until every request settled and nothing is in flight (polled every half second), or None."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        if await settled(load, client, stack) and await quiet(stack):
            return time.monotonic() - started
        await asyncio.sleep(0.5)
    return None
