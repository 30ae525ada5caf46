"""`mutualaid run` keeps its broker and services running: one that dies is restarted, said in words, with backoff."""

import asyncio
import os
import signal
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from mutualaid.cli import app
from services.tasking.audit_archive import ARCHIVE_NAME, read_checkpoints
from shared.auth import Role
from tests.support.builders import bearer, request_body
from tests.support.run_command import RunPorts, children_of, draining, mutualaid_run, read_until_match, stop
from tests.support.services import eventually

pytestmark = pytest.mark.e2e

OPERATOR = bearer(Role.OPERATOR, force="west-midlands")


async def status_of(ports: RunPorts, request_id: str) -> str:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(f"{ports.url('requests')}/v1/requests/{request_id}", headers=OPERATOR)
        return str(response.json()["status"])


async def test_a_killed_service_and_a_killed_broker_are_restarted_and_nothing_is_lost(
    tmp_path: Path,
) -> None:
    ports = RunPorts.free()
    async with mutualaid_run(tmp_path, ports) as running:
        before = children_of(running)
        assert set(before) == {"broker", "requests", "availability", "tasking", "console"}

        os.kill(before["requests"], signal.SIGKILL)
        said = await read_until_match(running, r"the requests service was killed by SIGKILL; restarting it in (\S+)s")
        assert float(said.group(1)) > 0
        came_back = await read_until_match(running, r"the requests service restarted \(pid (\d+), ready in (\S+)s\)")
        print(f"\nrequests service ready again {came_back.group(2)}s after its restart")
        assert int(came_back.group(1)) == children_of(running)["requests"] != before["requests"]

        tasking = children_of(running)["tasking"]
        async with httpx.AsyncClient(timeout=10) as client:
            os.kill(tasking, signal.SIGSTOP)  # the request's event reaches the broker, and nobody reads it
            try:
                sent = await _published(client, ports)
                body = request_body()
                unread = await client.post(f"{ports.url('requests')}/v1/requests", json=body, headers=OPERATOR)
                assert unread.status_code == 201
                await eventually(lambda: _published_more(client, ports, sent), timeout=30, interval=0.2)
                os.kill(before["broker"], signal.SIGKILL)  # a memory broker: the unread event is gone from it
                await read_until_match(running, r"the embedded broker was killed by SIGKILL; restarting it in \S+s")
                await read_until_match(
                    running, rf"the embedded broker restarted \(pid \d+, listening on 127.0.0.1:{ports.broker}\)"
                )
            finally:
                os.kill(tasking, signal.SIGCONT)
            async with draining(running):
                await eventually(lambda: _is_proposed(ports, unread.json()["id"]), timeout=90, interval=0.5)
                after = await client.post(f"{ports.url('requests')}/v1/requests", json=request_body(), headers=OPERATOR)
                assert after.status_code == 201
                await eventually(lambda: _is_proposed(ports, after.json()["id"]), timeout=60, interval=0.5)
        assert await stop(running) == 0
    assert "Traceback" not in "".join(running.output)
    # the audit checkpoints the broker carried, before and after it came back empty, are kept beside the databases
    verified = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        ["audit", "verify", "--no-broker", "--database-url", f"sqlite+aiosqlite:///{tmp_path / 'tasking.db'}"],
        env={"MUTUALAID_STATE_DIR": str(tmp_path)},
    )
    archived = read_checkpoints(tmp_path / ARCHIVE_NAME)
    assert verified.exit_code == 0, verified.output
    assert f"{len(archived)} checkpoints hold (from {tmp_path / ARCHIVE_NAME})" in verified.output
    assert max(mark.seq for mark in archived) == int(verified.output.split("intact: ")[1].split()[0])


async def _is_proposed(ports: RunPorts, request_id: str) -> bool:
    return await status_of(ports, request_id) == "PROPOSED"


async def _published(client: httpx.AsyncClient, ports: RunPorts) -> float:
    """How many events the requests service's relay has had acknowledged (its Prometheus counter)."""
    metrics = (await client.get(f"{ports.url('requests')}/metrics")).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("mutualaid_events_published_total{")
    )


async def _published_more(client: httpx.AsyncClient, ports: RunPorts, than: float) -> bool:
    return await _published(client, ports) > than
