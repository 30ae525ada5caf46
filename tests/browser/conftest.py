"""Browser tier: the console in headless Chromium (Debian's `chromium` package) driven by Playwright."""

import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from mutualaid.demo import declare_demo_units
from mutualaid.runner import Stack

CHROMIUM = shutil.which("chromium")
if CHROMIUM is None:  # stop, never skip: the browser tests are part of every run
    pytest.exit("the browser tests need Debian's chromium package: apt-get install chromium", returncode=3)


@pytest.fixture
async def console(tmp_path: Path, kafka_servers: str) -> AsyncIterator[Stack]:
    """The three services and the console as real processes, with the demo units declared."""
    stack = Stack(
        workdir=tmp_path,
        kafka_bootstrap_servers=kafka_servers,
        env={"KAFKA_NAMESPACE": f"console{uuid.uuid4().hex[:8]}."},
        console=True,
    )
    await stack.start()
    try:
        await declare_demo_units(stack.url("availability"), tasking_url=stack.url("tasking"))
        yield stack
    finally:
        await stack.stop()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield launched
        finally:
            await launched.close()
