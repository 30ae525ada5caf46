"""The fault suite's faults: services SIGKILLed, the broker frozen (SIGSTOP) and SIGKILLed, while the stack is
supervised as `mutualaid run` supervises it (each process that dies is started again, the broker on its port).

Each kill waits until the killed process has been replaced and answers /healthz, so that the next fault hits
a running system; readiness is not awaited (a service restarted while the broker is frozen is alive, not ready).
"""

import asyncio
import contextlib
import os
import signal
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx

from mutualaid.runner import Stack
from mutualaid.services import SERVICES
from mutualaid.supervisor import RestartPolicy

QUICK_RESTARTS = RestartPolicy(first_delay_s=0.2, max_delay_s=1.0, stable_after_s=5.0, quick_exits=10)
BACK_WITHIN_S = 90.0


@dataclass
class Faults:
    """What was done to the stack: SIGKILLs by process, broker pauses and their length, and what the supervisor said."""

    kills: Counter[str] = field(default_factory=Counter)
    pauses: list[float] = field(default_factory=list)
    said: list[str] = field(default_factory=list)


@contextlib.asynccontextmanager
async def supervised(stack: Stack, faults: Faults) -> AsyncIterator[None]:
    """Keep the stack's broker and services running (restarted when they die) while the block runs."""
    watching = asyncio.create_task(stack.supervise(policy=QUICK_RESTARTS, say=faults.said.append))
    try:
        yield
    finally:
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching


async def kill_service(stack: Stack, faults: Faults, service: str) -> None:
    """SIGKILL the service's process; return once its replacement answers /healthz."""
    killed = stack.processes[service].pid
    os.kill(killed, signal.SIGKILL)
    faults.kills[service] += 1
    deadline = asyncio.get_running_loop().time() + BACK_WITHIN_S
    async with httpx.AsyncClient(timeout=2.0) as client:
        while not await _replaced_and_alive(client, stack, service, killed):
            assert asyncio.get_running_loop().time() < deadline, f"{service} not back {BACK_WITHIN_S}s after SIGKILL"
            await asyncio.sleep(0.1)


async def _replaced_and_alive(client: httpx.AsyncClient, stack: Stack, service: str, killed: int) -> bool:
    if stack.processes[service].pid == killed:
        return False
    try:
        return (await client.get(f"{stack.url(service)}/healthz")).status_code == 200
    except httpx.TransportError:
        return False


async def freeze_broker(stack: Stack, faults: Faults, seconds: float) -> None:
    """SIGSTOP the broker for `seconds`, then SIGCONT: it holds its connections and answers nothing meanwhile."""
    assert stack.broker is not None
    stack.broker.pause()
    try:
        await asyncio.sleep(seconds)
    finally:
        stack.broker.resume()
    faults.pauses.append(seconds)


async def kill_broker(stack: Stack, faults: Faults) -> None:
    """SIGKILL the broker (memory storage: all it held is gone); return once the supervisor restarted it."""
    broker = stack.broker
    assert broker is not None
    assert broker.pid is not None
    killed = broker.pid
    os.kill(killed, signal.SIGKILL)
    faults.kills["broker"] += 1
    deadline = asyncio.get_running_loop().time() + BACK_WITHIN_S
    while broker.pid in (killed, None):
        assert asyncio.get_running_loop().time() < deadline, f"the broker not back {BACK_WITHIN_S}s after SIGKILL"
        await asyncio.sleep(0.1)


async def run_schedule(stack: Stack, faults: Faults, *, kills_per_service: int, freeze_s: float, gap_s: float) -> None:
    """kills_per_service rounds of kills: in each, every service is SIGKILLed, gap_s after the one before (each comes
    back by itself meanwhile). The second round runs while the broker is frozen for freeze_s; after the freeze the
    broker is SIGKILLed once, and the remaining rounds follow."""
    for number in range(kills_per_service):
        freezing = asyncio.create_task(freeze_broker(stack, faults, freeze_s)) if number == 1 else None
        await asyncio.gather(*(_kill_later(stack, faults, service, n * gap_s) for n, service in enumerate(SERVICES)))
        if freezing is not None:
            await freezing
            await asyncio.sleep(gap_s)
            await kill_broker(stack, faults)
        await asyncio.sleep(gap_s)


async def _kill_later(stack: Stack, faults: Faults, service: str, delay: float) -> None:
    await asyncio.sleep(delay)
    await kill_service(stack, faults, service)
