"""The audit promise, checked after end-to-end flows: re-running each recorded planning run gives the same plans."""

import asyncio
from pathlib import Path

from typer.testing import CliRunner

from mutualaid.cli import app


async def every_plan_replays(tasking_db: Path) -> None:
    cli = ["audit", "replay", "--all", "--database-url", f"sqlite+aiosqlite:///{tasking_db}"]
    result = await asyncio.to_thread(CliRunner().invoke, app, cli)  # the CLI runs its own event loop
    assert result.exit_code == 0, result.output
    assert "every plan reproduced" in result.output
