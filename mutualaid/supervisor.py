"""Keeps the children of `mutualaid run` running: a broker or service that exits is started again, with backoff."""

import asyncio
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RestartPolicy:
    """Restart delays double from first_delay_s up to max_delay_s and start again from first_delay_s after a
    run of stable_after_s; quick_exits exits in a row, each sooner than that after its start, mean giving up."""

    first_delay_s: float = 0.5
    max_delay_s: float = 8.0
    stable_after_s: float = 30.0
    quick_exits: int = 5


class GaveUp(Exception):
    """A child kept exiting soon after every start; the message is one line for the operator."""


@dataclass(frozen=True)
class Child:
    """A process to keep running: wait returns its exit code once it exits; restart starts it again
    and returns a few words on how it came back (its pid, how long it took to be ready)."""

    name: str
    wait: Callable[[], Awaitable[int]]
    restart: Callable[[], Awaitable[str]]


async def keep_running(child: Child, *, policy: RestartPolicy, say: Callable[[str], None]) -> None:
    """Restart the child each time it exits, until cancelled; raise GaveUp when it keeps exiting at once."""
    clock = asyncio.get_running_loop().time
    delay, quick = policy.first_delay_s, 0
    while True:
        started = clock()
        exit_code = await child.wait()
        ran_for = clock() - started
        if ran_for >= policy.stable_after_s:
            delay, quick = policy.first_delay_s, 0
        quick += 1
        if quick >= policy.quick_exits:
            raise GaveUp(
                f"the {child.name} {exited(exit_code)} {quick} times in a row, each within "
                f"{policy.stable_after_s:.0f}s of starting: not restarting it again (see its output above)"
            )
        say(f"the {child.name} {exited(exit_code)}; restarting it in {delay:.1f}s")
        await asyncio.sleep(delay)
        delay = min(delay * 2, policy.max_delay_s)
        try:
            say(f"the {child.name} restarted ({await child.restart()})")
        except (RuntimeError, TimeoutError, OSError) as error:  # it exited again or is not ready: the loop decides
            say(f"the {child.name} did not come back: {error}")


def exited(exit_code: int) -> str:
    """How a process ended, in words: 'was killed by SIGKILL', 'exited with code 1'."""
    if exit_code < 0:
        return f"was killed by {signal.Signals(-exit_code).name}"
    return f"exited with code {exit_code}"
