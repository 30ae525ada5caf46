"""Fixtures shared by every test: a real broker, real databases, and services running in-process."""

import asyncio
import traceback
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from shared.settings import CommonSettings
from tests.support.infra import fresh_postgres_database, kafka_bootstrap_servers, postgres_server_url


@pytest.fixture(scope="session")
def kafka_servers() -> Iterator[str]:
    """One Kafka-protocol broker for the session; tests keep apart through their own namespace."""
    with kafka_bootstrap_servers() as servers:
        yield servers


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    with postgres_server_url() as url:
        yield url


@pytest.fixture
def kafka(kafka_servers: str) -> CommonSettings:
    """Kafka settings with a namespace of this test's own: its topics and groups are fresh."""
    return CommonSettings(kafka_bootstrap_servers=kafka_servers, kafka_namespace=f"t{uuid.uuid4().hex[:10]}.")


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A new, empty database of each kind: the integration tests run on both."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'service.db'}"
        return
    server: str = request.getfixturevalue("postgres_server")
    async with fresh_postgres_database(server) as url:
        yield url


@pytest.fixture(autouse=True)
async def no_task_outlives_its_test() -> AsyncIterator[None]:
    """Every background task a test started (relays, consumers, clients) must be gone when it ends."""
    before = asyncio.all_tasks()
    yield
    current = asyncio.current_task()
    left = [
        task
        for task in asyncio.all_tasks() - before
        if task is not current and not task.done() and not _aiokafka_reader(task)
    ]
    if left:
        _, pending = await asyncio.wait(left, timeout=5)
        stacks = [
            "".join(traceback.format_stack(task.get_stack()[-1])) if task.get_stack() else repr(task)
            for task in pending
        ]
        assert not pending, "tasks outlived the test:\n" + "\n".join(stacks)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print what each fault run did and found (its test records it; it reaches here from xdist workers too)."""
    reports = [r for outcome in ("passed", "failed") for r in terminalreporter.stats.get(outcome, [])]
    for report in reports:
        for name, summary in getattr(report, "user_properties", ()):
            if name == "fault run" and report.when == "call":
                terminalreporter.write_sep("-", f"fault run: {report.nodeid}")
                terminalreporter.write_line(str(summary))


def _aiokafka_reader(task: asyncio.Task[object]) -> bool:
    """aiokafka can leave a connection's reader behind when a client stops mid-reconnect; it is
    cancelled with the event loop and holds nothing of ours, so it is not counted as a leak."""
    return getattr(task.get_coro(), "__qualname__", "") == "AIOKafkaConnection._read"
