"""The service-layer tier: the three services on real databases (SQLite and PostgreSQL), events delivered by hand."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.harness import Harness, database_urls, harness


@pytest.fixture(params=["sqlite", "postgresql"])
async def urls(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    server = request.getfixturevalue("postgres_server") if request.param == "postgresql" else None
    async with database_urls(request.param, tmp_path, server) as urls:
        yield urls


@pytest.fixture
async def system(urls: dict[str, str]) -> AsyncIterator[Harness]:
    async with harness(urls) as system:
        yield system
