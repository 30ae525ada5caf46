"""Make two actors race deterministically: the second one's decision lands between the first one's reads and writes.

A hook on the first actor's engine waits for its first statement of a given kind (say the UPDATE of a
proposal), and just before it runs, runs the second actor to completion in another thread: a second
tasking replica with its own event loop, engine and connections on the same database. That is the
worst moment for the first actor, the one a rule that holds only when people take turns gets wrong.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from mutualaid.services import create_app, settings_for
from services.tasking.deps import TaskingDeps

T = TypeVar("T")


def in_another_replica(database_url: str, act: Callable[[TaskingDeps], Awaitable[T]]) -> T | BaseException:
    """Run act on a tasking replica of its own (own thread, loop and engine); its result, or what it raised."""

    async def run() -> T:
        app = create_app("tasking", settings_for("tasking", database_url=database_url))
        try:
            deps: TaskingDeps = app.state.deps
            return await act(deps)
        finally:
            await app.state.runtime.engine.dispose()

    def in_thread() -> T | BaseException:
        try:
            return asyncio.run(run())
        except Exception as error:
            return error

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(in_thread).result()


WRITES = ("INSERT", "UPDATE", "DELETE")


@contextlib.contextmanager
def before_first_write(engine: AsyncEngine, other: Callable[[], Any]) -> Iterator[list[Any]]:
    """Run other() to completion just before the first INSERT, UPDATE or DELETE is about to run on engine.

    By then the first actor has read what it decides on but holds no write lock (SQLite takes it
    with the first write), so the other actor can commit in between. Yields the list that receives
    other()'s result.
    """
    results: list[Any] = []

    def hook(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        if not results and sql.lstrip().upper().startswith(WRITES):
            results.append(other())

    event.listen(engine.sync_engine, "before_cursor_execute", hook)
    try:
        yield results
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", hook)
