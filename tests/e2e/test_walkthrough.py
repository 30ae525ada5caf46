"""End to end: the three services as real processes, driven over HTTP as the README walkthrough does."""

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mutualaid.demo import declare_demo_units
from mutualaid.runner import Stack
from shared.auth import Role
from tests.support.builders import bearer, request_body
from tests.support.replay import every_plan_replays, reconciles
from tests.support.services import eventually

pytestmark = pytest.mark.e2e

OPERATOR = bearer(Role.OPERATOR, force="west-midlands")
COORDINATOR = bearer(Role.COORDINATOR, region="West Midlands")


@pytest.fixture
async def stack(tmp_path: Path, kafka_servers: str) -> AsyncIterator[Stack]:
    stack = Stack(
        workdir=tmp_path,
        kafka_bootstrap_servers=kafka_servers,
        env={"KAFKA_NAMESPACE": f"e2e{uuid.uuid4().hex[:8]}."},
    )
    await stack.start()
    try:
        yield stack
    finally:
        await stack.stop()


async def get_json(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> Any:
    response = await client.get(url, headers=headers)
    response.raise_for_status()
    return response.json()


async def request_status(client: httpx.AsyncClient, stack: Stack, request_id: str) -> str:
    detail = await get_json(client, f"{stack.url('requests')}/v1/requests/{request_id}", OPERATOR)
    return str(detail["status"])


async def test_a_request_is_proposed_approved_and_mobilised(stack: Stack) -> None:
    await declare_demo_units(stack.url("availability"), tasking_url=stack.url("tasking"))
    async with httpx.AsyncClient(timeout=10) as client:
        submitted = await client.post(f"{stack.url('requests')}/v1/requests", json=request_body(), headers=OPERATOR)
        assert submitted.status_code == 201
        request_id = submitted.json()["id"]

        async def proposal() -> Any:
            url = f"{stack.url('tasking')}/v1/proposals?request_id={request_id}"
            items = (await get_json(client, url, COORDINATOR))["items"]
            return items[0] if items else None

        proposed = await eventually(proposal)
        assert len(proposed["allocations"]) == 2
        assert {a["force"] for a in proposed["allocations"]} <= {"staffordshire", "warwickshire", "west-mercia"}
        await eventually(lambda: _is(client, stack, request_id, "PROPOSED"))

        approve = f"{stack.url('tasking')}/v1/proposals/{proposed['id']}/approve"
        approved = await client.post(approve, json={"reason": "Derby day"}, headers=COORDINATOR)
        assert approved.status_code == 200

        await eventually(lambda: _is(client, stack, request_id, "MOBILISED"))
        detail = await get_json(client, f"{stack.url('requests')}/v1/requests/{request_id}", OPERATOR)
        assert [entry["status"] for entry in detail["timeline"]] == [
            "SUBMITTED",
            "MATCHING",
            "PROPOSED",
            "APPROVED",
            "MOBILISED",
        ]
        for allocation in proposed["allocations"]:
            unit = await get_json(client, f"{stack.url('availability')}/v1/units/{allocation['unit_id']}", OPERATOR)
            assert (unit["status"], unit["committed_to"]) == ("COMMITTED", request_id)
    await every_plan_replays(stack.workdir / "tasking.db")
    await reconciles(stack.workdir)


async def _is(client: httpx.AsyncClient, stack: Stack, request_id: str, status: str) -> bool:
    return await request_status(client, stack, request_id) == status


async def test_a_request_accepted_just_before_a_crash_is_still_proposed(tmp_path: Path) -> None:
    """SIGKILL the requests service right after it accepted a request whose event it could not yet publish."""
    own_broker = "KAFKA_BOOTSTRAP_SERVERS" not in os.environ
    stack = Stack(
        workdir=tmp_path,
        kafka_bootstrap_servers=None if own_broker else os.environ["KAFKA_BOOTSTRAP_SERVERS"],
        env={"KAFKA_NAMESPACE": f"crash{uuid.uuid4().hex[:8]}."},
    )
    await stack.start()
    try:
        await declare_demo_units(stack.url("availability"), tasking_url=stack.url("tasking"))
        async with httpx.AsyncClient(timeout=10) as client:
            if stack.broker is not None:
                stack.broker.pause()  # the outbox relay cannot publish: the event exists only in the outbox
            try:
                submitted = await client.post(
                    f"{stack.url('requests')}/v1/requests", json=request_body(), headers=OPERATOR
                )
                assert submitted.status_code == 201
                await stack.kill_service("requests")
            finally:
                if stack.broker is not None:
                    stack.broker.resume()
            await stack.start_service("requests")
            request_id = submitted.json()["id"]
            await eventually(lambda: _is(client, stack, request_id, "PROPOSED"), timeout=60)
    finally:
        await stack.stop()
