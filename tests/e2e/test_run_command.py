"""`mutualaid run` as a newcomer meets it: the README walkthrough, Ctrl-C, and a second start on the same state."""

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.auth import Role
from tests.support.builders import bearer, request_body
from tests.support.run_command import (
    ROOT,
    RunPorts,
    ctrl_c,
    mutualaid_run,
    ports_free,
    run_command,
    run_env,
    run_walkthrough,
    stop,
)
from tests.support.services import eventually

pytestmark = pytest.mark.e2e

AUDITOR = bearer(Role.AUDITOR)


async def request_of(ports: RunPorts, request_id: str) -> Any:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(f"{ports.url('requests')}/v1/requests/{request_id}", headers=AUDITOR)
        response.raise_for_status()
        return response.json()


async def walkthrough_mobilises_a_request(ports: RunPorts) -> str:
    output = await run_walkthrough(ports)
    found = re.search(r"^request ([0-9a-f-]{36})$", output, re.MULTILINE)
    assert found, output
    request = await request_of(ports, found.group(1))
    assert request["status"] == "MOBILISED", output
    return found.group(1)


async def test_the_walkthrough_runs_again_after_ctrl_c_and_a_second_start_on_the_same_state(tmp_path: Path) -> None:
    ports = RunPorts.free()
    async with mutualaid_run(tmp_path, ports) as first:
        assert f"state         {tmp_path}" in "".join(first.output)
        first_request = await walkthrough_mobilises_a_request(ports)
        assert await stop(first) == 0
    assert "Traceback" not in "".join(first.output)
    assert "ERROR" not in "".join(first.output)
    assert ports_free(ports)

    async with mutualaid_run(tmp_path, ports) as second:
        assert "15 already there" in "".join(second.output)
        second_request = await walkthrough_mobilises_a_request(ports)
        assert second_request != first_request
        assert (await request_of(ports, first_request))["status"] == "MOBILISED"
        assert await stop(second) == 0
    assert "Traceback" not in "".join(second.output)


async def test_a_tasking_database_lost_between_runs_learns_every_unit_again_and_reset_empties_everything(
    tmp_path: Path,
) -> None:
    """The embedded broker keeps nothing between runs: the services send again what it no longer holds.

    One sequence of starts, so as to spend one stack start less: a request is raised, tasking's database
    is lost between runs, then `--reset` starts from empty state.
    """
    ports = RunPorts.free()
    async with mutualaid_run(tmp_path, ports) as first:
        async with httpx.AsyncClient(timeout=10) as client:
            operator = bearer(Role.OPERATOR, force="west-midlands")
            raised = await client.post(f"{ports.url('requests')}/v1/requests", json=request_body(), headers=operator)
            assert raised.status_code == 201, raised.text
        await stop(first)
    for leftover in tmp_path.glob("tasking.db*"):
        leftover.unlink()
    async with mutualaid_run(tmp_path, ports, timeout=60) as second:
        assert "0 declared, 15 already there" in "".join(second.output)
        async with httpx.AsyncClient(timeout=10) as client:
            units = (await client.get(f"{ports.url('tasking')}/v1/units", headers=AUDITOR)).json()["items"]
            kept = (await client.get(f"{ports.url('requests')}/v1/requests", headers=AUDITOR)).json()["items"]
        assert len(units) == 15
        assert [r["id"] for r in kept] == [raised.json()["id"]]
        await stop(second)
    async with mutualaid_run(tmp_path, ports, "--reset") as fresh:
        assert "15 declared, 0 already there" in "".join(fresh.output)
        async with httpx.AsyncClient(timeout=10) as client:
            requests = (await client.get(f"{ports.url('requests')}/v1/requests", headers=AUDITOR)).json()
            committed = await client.get(f"{ports.url('availability')}/v1/units?status=COMMITTED", headers=AUDITOR)
        assert requests["items"] == []
        assert committed.json()["items"] == []


async def test_ctrl_c_while_starting_stops_everything_quietly(tmp_path: Path) -> None:
    ports = RunPorts.free()
    process = await asyncio.create_subprocess_exec(
        *run_command(tmp_path, ports), env=run_env(ports), cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    assert process.stdout is not None
    try:
        started = await process.stdout.readline()  # the state line: past the checks, starting
        assert started.startswith(b"state"), started
        await asyncio.sleep(1.5)
        ctrl_c(process)
        async with asyncio.timeout(30):
            output = (await process.stdout.read()).decode()
            assert await process.wait() == 0, output
    finally:
        if process.returncode is None:  # a failed check leaves no process (or its pipes) behind for later tests
            process.kill()
            await process.wait()
    assert "stopped before everything was ready" in output
    assert "Traceback" not in output
    assert ports_free(ports)


async def test_a_runner_killed_with_sigkill_leaves_nothing_running(tmp_path: Path) -> None:
    ports = RunPorts.free()
    async with mutualaid_run(tmp_path, ports) as running:
        running.process.kill()
        await running.process.wait()
        await eventually(lambda: _free(ports), timeout=10)


async def _free(ports: RunPorts) -> bool:
    return ports_free(ports)
