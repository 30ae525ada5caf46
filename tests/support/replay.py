"""The audit promises, checked after end-to-end flows: each recorded planning run replays to the same plans,
and `mutualaid reconcile` finds nothing once the events of the flow have settled."""

import asyncio
from pathlib import Path

from typer.testing import CliRunner

from mutualaid.cli import app


async def every_plan_replays(tasking_db: Path) -> None:
    cli = ["audit", "replay", "--all", "--database-url", f"sqlite+aiosqlite:///{tasking_db}"]
    result = await asyncio.to_thread(CliRunner().invoke, app, cli)  # the CLI runs its own event loop
    assert result.exit_code == 0, result.output
    assert "every plan reproduced" in result.output


async def reconciles(workdir: Path, *, timeout: float = 20.0) -> None:
    """`mutualaid reconcile` on the stack's SQLite databases reports nothing, once events in flight have arrived."""
    await databases_reconcile(
        availability=f"sqlite+aiosqlite:///{workdir / 'availability.db'}",
        tasking=f"sqlite+aiosqlite:///{workdir / 'tasking.db'}",
        timeout=timeout,
    )


async def databases_reconcile(*, availability: str, tasking: str, timeout: float = 20.0) -> None:
    """`mutualaid reconcile` on these databases (URLs) reports nothing, once events in flight have arrived."""
    cli = ["reconcile", f"--availability-database-url={availability}", f"--tasking-database-url={tasking}"]
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await asyncio.to_thread(CliRunner().invoke, app, cli)
        if result.exit_code == 0:
            assert "reconciled" in result.output
            return
        assert asyncio.get_running_loop().time() < deadline, result.output
        await asyncio.sleep(0.5)
