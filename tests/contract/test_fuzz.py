"""Schemathesis against each service's checked-in OpenAPI document, on SQLite and on PostgreSQL.

Every operation gets schema-valid and schema-violating requests (a fixed seed: the same cases every run) as a
national coordinator, over real HTTP to the services' real routes and databases (the service harness behind
uvicorn; no broker: events stay in the outbox). Every check is on: no server error, a documented status code,
content type and headers, an answer matching its schema, valid data accepted and invalid data refused.
"""

import asyncio
import contextlib
import socket
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import uvicorn
from schemathesis import GenerationMode
from schemathesis.schemas import BaseSchema

from mutualaid.contracts import CONTRACTS_DIR
from shared.auth import Role
from tests.support.builders import bearer
from tests.support.harness import database_urls, harness

EXAMPLES_PER_OPERATION = 12  # x2 modes x ~25 operations: a few hundred cases a service on each database
NATIONAL = bearer(Role.NATIONAL_COORDINATOR)


def _schema(service: str) -> BaseSchema:
    # the /v1 API; /readyz answers 503 here by design (no broker: tests/e2e/test_readiness.py covers it)
    schema = schemathesis.openapi.from_path(CONTRACTS_DIR / "openapi" / f"{service}.json").include(path_regex="^/v1/")
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=EXAMPLES_PER_OPERATION,
        deterministic=True,
    )
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


requests_api = _schema("requests")
availability_api = _schema("availability")
tasking_api = _schema("tasking")


@requests_api.parametrize()
def test_requests_service_keeps_its_contract(case: schemathesis.Case[Any], served: Served) -> None:
    case.call_and_validate(base_url=served.urls["requests"], headers=NATIONAL)


@availability_api.parametrize()
def test_availability_service_keeps_its_contract(case: schemathesis.Case[Any], served: Served) -> None:
    case.call_and_validate(base_url=served.urls["availability"], headers=NATIONAL)


@tasking_api.parametrize()
def test_tasking_service_keeps_its_contract(case: schemathesis.Case[Any], served: Served) -> None:
    case.call_and_validate(base_url=served.urls["tasking"], headers=NATIONAL)
