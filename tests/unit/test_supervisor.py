"""The restart policy of `mutualaid run`: doubling delays to a cap, and one clear line when a child keeps dying."""

import asyncio
import itertools
import signal
from collections.abc import Iterator

import pytest

from mutualaid.supervisor import Child, GaveUp, RestartPolicy, exited, keep_running

QUICK = RestartPolicy(first_delay_s=0.001, max_delay_s=0.004, stable_after_s=60, quick_exits=5)


def dying_child(exit_codes: Iterator[int], restarts: list[str]) -> Child:
    """A child that exits at once with each code in turn, recording every restart."""

    async def wait() -> int:
        await asyncio.sleep(0)
        return next(exit_codes)

    async def restart() -> str:
        restarts.append("restarted")
        return "pid 1"

    return Child(name="requests service", wait=wait, restart=restart)


async def test_a_child_that_keeps_exiting_at_once_is_given_up_with_one_line() -> None:
    said: list[str] = []
    restarts: list[str] = []
    with pytest.raises(GaveUp) as gave_up:
        await keep_running(dying_child(iter([1] * 10), restarts), policy=QUICK, say=said.append)
    assert len(restarts) == QUICK.quick_exits - 1
    assert str(gave_up.value) == (
        "the requests service exited with code 1 5 times in a row, each within 60s of starting: "
        "not restarting it again (see its output above)"
    )


async def test_restart_delays_double_up_to_the_cap() -> None:
    policy = RestartPolicy(first_delay_s=0.1, max_delay_s=0.4, stable_after_s=60, quick_exits=5)
    said: list[str] = []
    with pytest.raises(GaveUp):
        await keep_running(dying_child(iter([-9] * 10), []), policy=policy, say=said.append)
    delays = [line.rsplit(" in ", 1)[1] for line in said if "restarting it in" in line]
    assert delays == ["0.1s", "0.2s", "0.4s", "0.4s"]
    assert said[0] == "the requests service was killed by SIGKILL; restarting it in 0.1s"
    assert said[1] == "the requests service restarted (pid 1)"


async def test_a_child_that_ran_long_enough_starts_a_fresh_count() -> None:
    stable = RestartPolicy(first_delay_s=0.001, max_delay_s=0.004, stable_after_s=0, quick_exits=2)
    restarts: list[str] = []
    child = dying_child(itertools.repeat(1), restarts)
    task = asyncio.create_task(keep_running(child, policy=stable, say=lambda _: None))
    await asyncio.sleep(0.2)
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(restarts) > stable.quick_exits


def test_an_exit_is_said_in_words() -> None:
    assert exited(-signal.SIGTERM) == "was killed by SIGTERM"
    assert exited(3) == "exited with code 3"
