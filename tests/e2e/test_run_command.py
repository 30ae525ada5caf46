"""`mutualaid run` as a newcomer meets it: the README walkthrough, Ctrl-C, and a second start on the same state."""

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.auth import Role
from tests.support.builders import bearer
from tests.support.run_command import RunPorts, mutualaid_run, run_walkthrough, stop

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

    async with mutualaid_run(tmp_path, ports) as second:
        assert "15 already there" in "".join(second.output)
        second_request = await walkthrough_mobilises_a_request(ports)
        assert second_request != first_request
        assert (await request_of(ports, first_request))["status"] == "MOBILISED"
        assert await stop(second) == 0
    assert "Traceback" not in "".join(second.output)


async def test_reset_starts_from_empty_state(tmp_path: Path) -> None:
    ports = RunPorts.free()
    async with mutualaid_run(tmp_path, ports) as first:
        await walkthrough_mobilises_a_request(ports)
        await stop(first)
    async with mutualaid_run(tmp_path, ports, "--reset") as fresh:
        assert "15 declared, 0 already there" in "".join(fresh.output)
        async with httpx.AsyncClient(timeout=10) as client:
            requests = (await client.get(f"{ports.url('requests')}/v1/requests", headers=AUDITOR)).json()
            committed = await client.get(f"{ports.url('availability')}/v1/units?status=COMMITTED", headers=AUDITOR)
        assert requests["items"] == []
        assert committed.json()["items"] == []
