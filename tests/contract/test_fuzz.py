"""Schemathesis against each service's checked-in OpenAPI document, on SQLite and on PostgreSQL.

Every operation gets schema-valid and schema-violating requests (a fixed seed: the same cases every run) from a
caller it lets in (an integration; a national coordinator for a coordinator's decision), over real HTTP to the
services' real routes and databases (the service harness behind uvicorn; no broker: events stay in the outbox).
Every check is on: no server error, a documented status code, content type and headers, an answer matching its
schema, valid data accepted and invalid data refused.
"""

import asyncio
import contextlib
import socket
import threading
from collections.abc import Coroutine, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import uvicorn
from schemathesis import GenerationMode
from schemathesis.schemas import BaseSchema

from mutualaid.contracts import CONTRACTS_DIR
from shared.auth import Role
from shared.vocabulary import LATEST
from tests.support.builders import bearer
from tests.support.harness import database_urls, harness

EXAMPLES_PER_OPERATION = 12  # x2 modes x ~25 operations: a few hundred cases a service on each database
INTEGRATION = bearer(Role.INTEGRATION)  # may write everywhere but a coordinator's decisions
NATIONAL = bearer(Role.NATIONAL_COORDINATOR)
COORDINATORS_DECISIONS = ("/approve", "/reject", "/replan")


def _schema(service: str) -> BaseSchema:
    # the /v1 API; /readyz answers 503 here by design (no broker: tests/e2e/test_readiness.py covers it)
    schema = schemathesis.openapi.from_path(CONTRACTS_DIR / "openapi" / f"{service}.json").include(path_regex="^/v1/")
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=EXAMPLES_PER_OPERATION,
        deterministic=True,
    )
    # Valid input may still meet the resource's state: 412 (If-None-Match: * on a unit declared already, a stale
    # If-Match) is such an answer, as the default's 409 is.
    # and an If-Match that names no version cannot hold either: 412 refuses it, as 422 refuses a bad body.
    for check in (schema.config.checks.positive_data_acceptance, schema.config.checks.negative_data_rejection):
        check.expected_statuses = [*check.expected_statuses, "412"]
    return schema


class Served:
    """The three services (the service harness: real routes on migrated databases of one kind) served by uvicorn
    on loopback ports, on an event loop of their own in a thread, so a synchronous client can call them."""

    def __init__(self, kind: str, tmp_path: Path, postgres_server: str | None) -> None:
        self._kind, self._tmp_path, self._postgres_server = kind, tmp_path, postgres_server
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"served-{kind}", daemon=True)
        self._exit = contextlib.AsyncExitStack()
        self.urls: dict[str, str] = {}

    def __enter__(self) -> "Served":
        self._thread.start()
        try:
            self._run(self._start())
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self._run(self._exit.aclose())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def _run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=120)

    async def _start(self) -> None:
        urls = await self._exit.enter_async_context(database_urls(self._kind, self._tmp_path, self._postgres_server))
        system = await self._exit.enter_async_context(harness(urls))
        for service, node in system.nodes.items():
            listener = socket.create_server(("127.0.0.1", 0))
            server = uvicorn.Server(uvicorn.Config(node.app, lifespan="off", log_level="warning"))
            serving = asyncio.create_task(server.serve(sockets=[listener]))
            self._exit.push_async_callback(self._stop, server, serving)
            while not server.started:
                if serving.done():
                    serving.result()  # raises why it did not start
                await asyncio.sleep(0.01)
            self.urls[service] = f"http://127.0.0.1:{listener.getsockname()[1]}"

    @staticmethod
    async def _stop(server: uvicorn.Server, serving: asyncio.Task[None]) -> None:
        server.should_exit = True
        await serving


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    postgres_server = request.getfixturevalue("postgres_server") if request.param == "postgresql" else None
    with Served(request.param, tmp_path_factory.mktemp(request.param), postgres_server) as served:
        yield served


def caller(case: schemathesis.Case[Any]) -> dict[str, str]:
    """Someone the operation lets in, so that its input is judged (a refused role is answered before its body)."""
    return NATIONAL if case.path.endswith(COORDINATORS_DECISIONS) else INTEGRATION


def meeting_the_rules_across_fields(case: schemathesis.Case[Any]) -> None:
    """A schema-valid body that breaks a rule between its fields, which no JSON Schema states, is made to keep
    it, so that "valid input is accepted" checks the rest: a request is required from tomorrow to 730 days ahead
    and ends after that, and names each capability once; a unit gives either windows or available_from and
    available_until, each ending after it starts; a capacity period's `until` is not before its `from`.
    Schema-violating cases are left as they are."""
    if case.meta is None or case.meta.generation.mode is not GenerationMode.POSITIVE:
        return
    query: dict[str, Any] | None = case.query
    if isinstance(query, dict) and isinstance(query.get("from"), str) and isinstance(query.get("until"), str):
        query["from"], query["until"] = sorted((query["from"], query["until"]), key=_instant)
    if not isinstance(case.body, dict):
        return
    body: dict[str, Any] = case.body
    if isinstance(body.get("required_by"), str) and isinstance(body.get("end"), str):
        now = datetime.now(UTC)
        start = min(max(_instant(body["required_by"]), now + timedelta(days=1)), now + timedelta(days=700))
        body["required_by"], body["end"] = start.isoformat(), (start + timedelta(hours=8)).isoformat()
    if isinstance(body.get("needs"), list):
        body["needs"] = list({need["capability"]: need for need in body["needs"]}.values())
    if "capability" in body and "base" in body:  # a unit's declaration
        if body.get("windows"):
            body["available_from"] = body["available_until"] = None
        elif not (body.get("available_from") and body.get("available_until")):
            body["windows"] = None
            body["available_from"] = body.get("available_from") or "2030-01-01T00:00:00Z"
            body["available_until"] = body.get("available_until") or "2030-01-02T00:00:00Z"
    _ends_after_start(body, "available_from", "available_until")
    for window in body.get("windows") or []:
        _ends_after_start(window, "start", "end")


def _ends_after_start(period: dict[str, Any], start: str, end: str) -> None:
    if isinstance(period.get(start), str) and isinstance(period.get(end), str):
        begins = min(_instant(period[start]), LATEST - timedelta(days=2))
        ends = max(_instant(period[end]), begins + timedelta(days=1))
        period[start], period[end] = begins.isoformat(), ends.isoformat()


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


requests_api = _schema("requests")
availability_api = _schema("availability")
tasking_api = _schema("tasking")


@requests_api.parametrize()
def test_requests_service_keeps_its_contract(case: schemathesis.Case[Any], served: Served) -> None:
    meeting_the_rules_across_fields(case)
    case.call_and_validate(base_url=served.urls["requests"], headers=caller(case))


@availability_api.parametrize()
def test_availability_service_keeps_its_contract(case: schemathesis.Case[Any], served: Served) -> None:
    meeting_the_rules_across_fields(case)
    case.call_and_validate(base_url=served.urls["availability"], headers=caller(case))


@tasking_api.parametrize()
def test_tasking_service_keeps_its_contract(case: schemathesis.Case[Any], served: Served) -> None:
    meeting_the_rules_across_fields(case)
    case.call_and_validate(base_url=served.urls["tasking"], headers=caller(case))
