"""Idempotency-Key on meaning (issue 13): a retry of POST /v1/requests that means the same request replays it,
however its instants, spaces and defaults were written; one that means another request is a 409."""

import asyncio
import uuid
from datetime import timedelta, timezone
from typing import Any

import httpx
import pytest

from tests.support.builders import SOON, request_body
from tests.support.harness import Harness
from tests.support.steps import operator

SUBMITTER = operator("west-midlands")
BODY = request_body(operation="Op Southport", notes="")
IN_BST = SOON.astimezone(timezone(timedelta(hours=1)))  # the same instant, as a British summer clock writes it


def _written_otherwise(**changes: Any) -> dict[str, Any]:
    return BODY | changes


async def first_and_retry(system: Harness, retry: dict[str, Any]) -> tuple[httpx.Response, httpx.Response]:
    """BODY submitted (201), then `retry` with the same Idempotency-Key: both answers."""
    headers = SUBMITTER | {"Idempotency-Key": str(uuid.uuid4())}
    first = await system.client("requests").post("/v1/requests", json=BODY, headers=headers)
    again = await system.client("requests").post("/v1/requests", json=retry, headers=headers)
    assert first.status_code == 201, first.text
    return first, again


@pytest.mark.parametrize(
    "retry",
    [
        pytest.param(_written_otherwise(required_by=IN_BST.isoformat()), id="the same instant at +01:00"),
        pytest.param(
            _written_otherwise(required_by=SOON.isoformat().replace("+00:00", "Z")), id="the same instant with Z"
        ),
        pytest.param(_written_otherwise(operation="  Op Southport "), id="surrounding spaces"),
        pytest.param({k: v for k, v in BODY.items() if k != "notes"}, id="a default left out"),
        pytest.param(
            _written_otherwise(needs=[{"capability": "PSU", "quantity": 2.0, "composition": None}]),
            id="2.0 for 2 and the default composition written",
        ),
        pytest.param(
            _written_otherwise(location=BODY["location"] | {"lat": 52.5090}), id="a number written another way"
        ),
    ],
)
async def test_a_retry_that_means_the_same_request_replays_it(system: Harness, retry: dict[str, Any]) -> None:
    first, again = await first_and_retry(system, retry)
    assert again.status_code == 201, again.text
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize(
    "retry",
    [
        pytest.param(_written_otherwise(required_by=(SOON + timedelta(minutes=1)).isoformat()), id="a minute later"),
        pytest.param(_written_otherwise(operation="Op Southport 2"), id="another operation"),
        pytest.param(_written_otherwise(notes="more"), id="notes added"),
    ],
)
async def test_a_retry_that_means_another_request_is_a_conflict(system: Harness, retry: dict[str, Any]) -> None:
    _, again = await first_and_retry(system, retry)
    assert again.status_code == 409, again.text
    assert again.headers["content-type"] == "application/problem+json"


async def test_two_retries_written_differently_racing_with_one_key_make_one_request(system: Harness) -> None:
    headers = SUBMITTER | {"Idempotency-Key": str(uuid.uuid4())}
    bodies = [BODY, _written_otherwise(required_by=IN_BST.isoformat(), operation=" Op Southport")] * 3
    answers = await asyncio.gather(
        *(system.client("requests").post("/v1/requests", json=body, headers=headers) for body in bodies)
    )
    assert [answer.status_code for answer in answers] == [201] * len(bodies), [answer.text for answer in answers]
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert sorted(answer.headers.get("Idempotent-Replayed", "false") for answer in answers) == ["false"] + ["true"] * (
        len(bodies) - 1
    )
    listed = await system.client("requests").get("/v1/requests", headers=SUBMITTER)
    assert len(listed.json()["items"]) == 1
