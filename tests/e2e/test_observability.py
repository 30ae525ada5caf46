"""One request, followed across processes: the services' JSON log lines carry its correlation id and trace,
and the spans they export over OTLP form one trace from POST /v1/requests through the requests outbox,
Kafka and tasking's handler to tasking's outbox; on SQLite and on PostgreSQL."""

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mutualaid.runner import Stack
from shared.auth import Role
from tests.support.builders import bearer, request_body
from tests.support.infra import fresh_postgres_database
from tests.support.otlp import CONSUMER, PRODUCER, SERVER, OtlpReceiver, ReceivedSpan
from tests.support.services import eventually

pytestmark = pytest.mark.e2e

OPERATOR = bearer(Role.OPERATOR, force="west-midlands")


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_urls(request: pytest.FixtureRequest) -> AsyncIterator[dict[str, str]]:
    """Nothing for SQLite (the stack's default: a file per service); fresh databases for requests and tasking."""
    if request.param == "sqlite":
        yield {}
        return
    server: str = request.getfixturevalue("postgres_server")
    async with contextlib.AsyncExitStack() as databases:
        yield {s: await databases.enter_async_context(fresh_postgres_database(server)) for s in ("requests", "tasking")}


@pytest.fixture
async def collector() -> AsyncIterator[OtlpReceiver]:
    with OtlpReceiver() as receiver:
        yield receiver


@pytest.fixture
async def stack(
    tmp_path: Path, database_urls: dict[str, str], kafka_servers: str, collector: OtlpReceiver
) -> AsyncIterator[Stack]:
    stack = Stack(
        workdir=tmp_path,
        database_urls=database_urls,
        kafka_bootstrap_servers=kafka_servers,
        env={
            "KAFKA_NAMESPACE": f"observed{uuid.uuid4().hex[:8]}.",
            "MUTUALAID_LOG_FORMAT": "json",
            "MUTUALAID_LOG_LEVEL": "INFO",
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "100",  # milliseconds between exports, not the default 5 s
        },
    )
    await stack.start()
    try:
        yield stack
    finally:
        await stack.stop()


async def test_a_request_is_one_trace_and_one_correlation_id_from_requests_to_tasking(
    stack: Stack, collector: OtlpReceiver, tmp_path: Path
) -> None:
    correlation_id = f"incident-{uuid.uuid4().hex[:12]}"
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.post(
            f"{stack.url('requests')}/v1/requests",
            json=request_body(),
            headers=OPERATOR | {"X-Correlation-ID": correlation_id},
        )
    assert answer.status_code == 201, answer.text
    assert answer.headers["X-Correlation-ID"] == correlation_id

    hops = await eventually(lambda: hops_of_the_submission(collector))
    trace_id = hops["POST"].trace_id
    assert {span.trace_id for span in hops.values()} == {trace_id}
    assert hops["requests send"].parent_id == hops["POST"].span_id
    assert hops["tasking process"].parent_id == hops["requests send"].span_id
    assert hops["tasking send"].parent_id == hops["tasking process"].span_id

    await stack.stop()  # every line written
    requests_lines, tasking_lines = lines(tmp_path / "requests.log"), lines(tmp_path / "tasking.log")
    [accepted] = [line for line in requests_lines if line["message"].startswith("POST /v1/requests 201")]
    [handled] = [line for line in tasking_lines if "request.submitted" in line["message"]]
    assert (accepted["service"], accepted["correlation_id"], accepted["trace_id"]) == (
        "requests",
        correlation_id,
        trace_id,
    )
    assert (handled["service"], handled["correlation_id"], handled["trace_id"]) == (
        "tasking",
        correlation_id,
        trace_id,
    )
    assert handled["span_id"] == hops["tasking process"].span_id


async def hops_of_the_submission(collector: OtlpReceiver) -> dict[str, ReceivedSpan] | None:
    """The spans of the submission's trace, by hop; None until tasking has sent what it caused."""
    spans = collector.received()
    posts = [s for s in spans if (s.service, s.kind, s.name) == ("requests", SERVER, "POST /v1/requests")]
    if not posts:
        return None
    traced = [span for span in spans if span.trace_id == posts[0].trace_id]
    hops = {
        "POST": posts[0],
        "requests send": _one(traced, "requests", PRODUCER, "mutualaid.requests.v1 send"),
        "tasking process": _one(traced, "tasking", CONSUMER, "mutualaid.requests.v1 process"),
        "tasking send": _one(traced, "tasking", PRODUCER, "mutualaid.tasking.v1 send"),
    }
    return None if None in hops.values() else hops  # type: ignore[return-value]


def _one(spans: list[ReceivedSpan], service: str, kind: int, name_ends: str) -> ReceivedSpan | None:
    return next((s for s in spans if (s.service, s.kind) == (service, kind) and s.name.endswith(name_ends)), None)


def lines(log: Path) -> list[dict[str, Any]]:
    """Every line of a service's output, each a JSON object (json.loads fails the test on any other line)."""
    return [json.loads(line) for line in log.read_text().splitlines()]
