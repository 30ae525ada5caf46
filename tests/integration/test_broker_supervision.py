"""mutualaid run's supervision of the embedded broker when the broker cannot come back."""

import os
import signal
from pathlib import Path

import pytest

from mutualaid.runner import Stack
from mutualaid.supervisor import GaveUp, RestartPolicy, keep_running
from shared.broker import EmbeddedBroker


async def test_a_broker_that_cannot_come_back_is_given_up_on_in_words(tmp_path: Path) -> None:
    broker = EmbeddedBroker().start()
    failing = tmp_path / "tansu"
    failing.write_text("#!/bin/sh\nexit 3\n")
    failing.chmod(0o755)
    broker.binary = failing  # as a port taken meanwhile or a broken install would: each restart exits at once
    stack = Stack(workdir=tmp_path, broker=broker)
    said: list[str] = []
    assert broker.pid is not None
    os.kill(broker.pid, signal.SIGKILL)
    policy = RestartPolicy(first_delay_s=0.01, max_delay_s=0.01, quick_exits=3)
    try:
        with pytest.raises(GaveUp, match="exited with code 3 3 times in a row"):
            await keep_running(stack._broker_child(), policy=policy, say=said.append)
    finally:
        broker.stop()
    assert said[0] == "the embedded broker was killed by SIGKILL; restarting it in 0.0s"
    assert said[1] == f"the embedded broker did not come back: the embedded broker {failing} exited at once with code 3"
