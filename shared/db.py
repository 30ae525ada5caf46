"""Async database helpers for SQLite (aiosqlite) and PostgreSQL (asyncpg)."""

import functools
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from pydantic import TypeAdapter
from sqlalchemy import (
    JSON,
    Column,
    ColumnElement,
    DateTime,
    Enum,
    Integer,
    TypeDecorator,
    event,
    false,
    or_,
    text,
    true,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random

from shared.scopes import ReadScope

# What a transaction meets when a concurrent one got there first: run it again.
CONFLICTS = (IntegrityError, OperationalError, StaleDataError)
# PostgreSQL's deadlock detected and serialization failure: the loser of a race, to be run again.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})


def is_conflict(error: BaseException) -> bool:
    """Whether a transaction failed only because a concurrent one won: a unique key, a version, a lock,
    a deadlock the database broke up."""
    if isinstance(error, CONFLICTS):
        return True
    if isinstance(error, DBAPIError):
        for cause in (error.orig, getattr(error.orig, "__cause__", None)):
            code = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
            if code in RETRYABLE_SQLSTATES:
                return True
    return False


def is_unavailable(error: BaseException) -> bool:
    """Whether the database could not be reached or dropped the connection (refused, reset, closed in the
    middle of a statement, SQLite busy): nothing is wrong with the work, so wait and try it again."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, (OperationalError, ConnectionError, OSError, TimeoutError))


T = TypeVar("T")
R = TypeVar("R")
P = ParamSpec("P")

SessionFactory = async_sessionmaker[AsyncSession]


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone, so store naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class PydanticJSON(TypeDecorator[Any]):
    """A JSON column that reads and writes a typed value (a model, a list or dict of models) through pydantic.

    The value stays typed from HTTP to the database and back: written as JSON (mode="json"), read
    back validated into `shape` (for example `list[Need]`).
    """

    impl = JSON
    cache_ok = True

    def __init__(self, shape: Any) -> None:
        super().__init__()
        self.shape = shape
        self._adapter: TypeAdapter[Any] = TypeAdapter(shape)

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return None if value is None else self._adapter.dump_python(value, mode="json")

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        return None if value is None else self._adapter.validate_python(value)


def empty_list() -> list[Any]:
    """[]: the default factory of a table model's list field.

    Why not `list`: pydantic asks a table model's factories, on every row built, whether they take the
    validated data, by inspect.signature; for a builtin such as `list` or `dict` that parses its text
    signature (about 75 microseconds a field), for a function it reads the code object (about 5).
    """
    return []


def empty_dict() -> dict[Any, Any]:
    """{}: the default factory of a table model's dict field (see empty_list)."""
    return {}


def json_column(shape: Any, *, nullable: bool = False) -> "Column[Any]":
    """A JSON column holding a value of the given type (NOT NULL unless nullable)."""
    return Column(PydanticJSON(shape), nullable=nullable)


def version_column() -> "Column[int]":
    """The optimistic-concurrency version of a row: name it in the model's __mapper_args__ as version_id_col.

    SQLAlchemy then adds `AND version = <the version read>` to every UPDATE of the row and raises
    StaleDataError when another transaction changed it first (retry_on_conflict runs the whole
    decision again on what is there now). Holds alike on SQLite, where FOR UPDATE does nothing, and
    on PostgreSQL.
    """
    return Column("version", Integer, nullable=False, server_default="1")


def enum_column(enum: type[StrEnum], *, index: bool = False, nullable: bool = False) -> "Column[str]":
    """A StrEnum stored as plain text (no database enum type), so new members need no migration."""
    return Column(
        Enum(enum, native_enum=False, length=32, values_callable=lambda members: [m.value for m in members]),
        nullable=nullable,
        index=index,
    )


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str) -> AsyncEngine:
    """An engine tuned for its backend: WAL and a busy timeout on SQLite, a pool on PostgreSQL."""
    if not is_sqlite(url):
        return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": 30})
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


async def ping(engine: AsyncEngine) -> None:
    """Raise when the database does not answer."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def list_matching(
    sessions: SessionFactory, query: SelectOfScalar[T], filters: Sequence[tuple[Any, object | None]]
) -> list[T]:
    """Run a select with an equality condition for each (column, value) filter whose value was given."""
    for column, value in filters:
        if value is not None:
            query = query.where(column == value)
    async with sessions() as session:
        return list((await session.exec(query)).all())


async def advisory_xact_lock(session: AsyncSession, key: int) -> None:
    """Hold a PostgreSQL transaction-level advisory lock until the session's transaction ends.

    Processes that take the same key run one at a time; the lock goes with a commit, a rollback or a
    dropped connection, so a process that dies frees it at once. SQLite has no such lock and one
    process owns the file: there the caller's own asyncio lock is enough, and this does nothing.
    """
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        connection = await session.connection()
        await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def retry_on_conflict(handler: Callable[P, Awaitable[R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """Run a whole transaction again when a concurrent one won a unique key or a lock (a few times)."""

    @functools.wraps(handler)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(is_conflict),
            stop=stop_after_attempt(8),
            wait=wait_random(0, 0.1),
            reraise=True,
        ):
            with attempt:
                return await handler(*args, **kwargs)
        raise AssertionError("unreachable: tenacity reraises")

    return run


def within(scope: ReadScope, *, force: Any, region: Any) -> ColumnElement[bool]:
    """A SQL condition: the row's force or region column is within the read scope (shared.scopes)."""
    if scope.everything:
        return true()
    conditions = [column == value for column, value in ((force, scope.force), (region, scope.region)) if value]
    return or_(*conditions) if conditions else false()
