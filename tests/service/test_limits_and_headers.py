"""Limits and headers on every service: bodies bounded, writes rate-limited per principal, security headers on
every answer, CORS closed unless origins are listed, and an unexpected error a problem+json 500."""

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from mutualaid.services import create_app, settings_for
from tests.support.builders import request_body
from tests.support.harness import Harness
from tests.support.steps import INTEGRATION, operator


@contextlib.asynccontextmanager
async def requests_service(urls: dict[str, str], **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The requests service with these settings, answering an error as a server would (not raising it)."""
    app = create_app("requests", settings_for("requests", database_url=urls["requests"], **overrides))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client
    await app.state.runtime.engine.dispose()


def _submission() -> dict[str, str]:
    return operator("west-midlands") | {"Idempotency-Key": str(uuid.uuid4())}


@pytest.mark.parametrize("service", ["requests", "availability", "tasking"])
async def test_every_answer_carries_the_security_headers(system: Harness, service: str) -> None:
    for path in ("/v1/proposals", "/v1/units", "/v1/requests", "/healthz"):
        answer = await system.client(service).get(path, headers=INTEGRATION)
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert "access-control-allow-origin" not in answer.headers


async def test_cors_is_closed_by_default(system: Harness) -> None:
    preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    answer = await system.client("requests").options("/v1/requests", headers=preflight)
    assert "access-control-allow-origin" not in answer.headers


async def test_cors_admits_only_the_listed_origins(urls: dict[str, str]) -> None:
    async with requests_service(urls, cors_allowed_origins="https://console.example") as client:
        asked = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
        admitted = await client.options("/v1/requests", headers={"Origin": "https://console.example"} | asked)
        assert admitted.headers["access-control-allow-origin"] == "https://console.example"
        refused = await client.options("/v1/requests", headers={"Origin": "https://evil.example"} | asked)
        assert "access-control-allow-origin" not in refused.headers


async def test_a_body_over_the_limit_is_refused_with_413(urls: dict[str, str]) -> None:
    async with requests_service(urls, max_body_bytes=2048) as client:
        body = request_body(notes="x" * 3000)
        answer = await client.post("/v1/requests", json=body, headers=_submission())
        assert answer.status_code == 413, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert "2048 bytes" in answer.json()["detail"]
        chunks = [b'{"notes": "', b"x" * 3000, b'"}']  # no Content-Length: counted as it streams

        async def streamed() -> AsyncIterator[bytes]:
            for chunk in chunks:
                yield chunk

        headers = _submission() | {"Content-Type": "application/json"}
        assert (await client.post("/v1/requests", content=streamed(), headers=headers)).status_code == 413


async def test_writes_beyond_the_rate_are_refused_per_principal_with_429(urls: dict[str, str]) -> None:
    async with requests_service(urls, write_rate_limit="3/minute") as client:
        headers = operator("west-midlands")
        answers = [await client.post("/v1/requests", json=request_body(), headers=headers | _key()) for _ in range(4)]
        assert [answer.status_code for answer in answers] == [201, 201, 201, 429]
        assert answers[-1].headers["content-type"] == "application/problem+json"
        assert int(answers[-1].headers["retry-after"]) >= 1
        other = await client.post("/v1/requests", json=request_body(), headers=_submission())
        assert other.status_code == 201  # another principal has its own count
        assert (await client.get("/v1/requests", headers=headers)).status_code == 200  # reads are not counted


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def test_an_unexpected_error_is_a_problem_without_internals(
    urls: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with requests_service(urls) as client:

        async def broken(**_: object) -> None:
            raise RuntimeError("secret internals: password=hunter2")

        monkeypatch.setattr("services.requests.queries.list_requests", broken)
        answer = await client.get("/v1/requests", headers=INTEGRATION)
        assert answer.status_code == 500
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == "internal-error"
        assert "hunter2" not in answer.text
        assert "RuntimeError" not in answer.text


@pytest.mark.parametrize(
    ("service", "path", "allow"),
    [
        ("requests", "/healthz", "GET"),
        ("requests", "/v1/requests", "GET, POST"),  # two routes on one path: Starlette alone names the first's
        ("availability", "/v1/units/u-1", "GET, PUT"),
        ("tasking", "/v1/proposals/p-1/approve", "POST"),
    ],
)
async def test_a_method_a_route_does_not_take_is_405_with_the_methods_it_does(
    system: Harness, service: str, path: str, allow: str
) -> None:
    answer = await system.client(service).request("TRACE", path, headers=INTEGRATION)
    assert answer.status_code == 405
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["allow"] == allow  # RFC 9110: a 405 says what the resource does take
