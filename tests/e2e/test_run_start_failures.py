"""Each expected failure at the start of `mutualaid run` is one line saying what to do, and exit code 1."""

import fcntl
import socket
import sqlite3
import subprocess
from pathlib import Path

import pytest

from mutualaid.runner import seed_demo_units
from shared.broker import free_port
from tests.support.run_command import ROOT, RunPorts, run_command, run_env


def start(state_dir: Path, ports: RunPorts, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        run_command(state_dir, ports), env=run_env(ports, **env), cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def assert_refused_in_one_line(result: subprocess.CompletedProcess[str], *phrases: str) -> None:
    assert result.returncode == 1, result
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for phrase in phrases:
        assert phrase in lines[0]
    assert "Ctrl-C stops everything" not in result.stdout


def test_a_port_in_use_is_named_with_the_setting_that_moves_it(tmp_path: Path) -> None:
    ports = RunPorts.free()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", ports.services["tasking"]))
        squatter.listen()
        result = start(tmp_path, ports)
    in_use = f"port {ports.services['tasking']} (tasking service) is already in use"
    assert_refused_in_one_line(result, in_use, "TASKING_PORT")


def test_a_broker_port_in_use_points_at_the_broker_port_option(tmp_path: Path) -> None:
    ports = RunPorts.free()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", ports.broker))
        squatter.listen()
        result = start(tmp_path, ports)
    assert_refused_in_one_line(result, f"port {ports.broker} (embedded broker)", "--broker-port")


def test_a_missing_broker_binary_says_how_to_install_it(tmp_path: Path) -> None:
    result = start(tmp_path, RunPorts.free(), MUTUALAID_BROKER_BINARY=str(tmp_path / "no-tansu"))
    assert_refused_in_one_line(result, "the embedded broker is missing", "make install")


def test_a_locked_database_is_named(tmp_path: Path) -> None:
    holder = sqlite3.connect(tmp_path / "tasking.db", isolation_level=None)
    holder.execute("CREATE TABLE held (id INTEGER)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = start(tmp_path, RunPorts.free())
    finally:
        holder.close()
    assert_refused_in_one_line(result, f"{tmp_path / 'tasking.db'} is locked by another process")


def test_a_file_that_is_not_a_database_points_at_reset(tmp_path: Path) -> None:
    (tmp_path / "requests.db").write_bytes(b"not a database at all" * 100)
    result = start(tmp_path, RunPorts.free())
    assert_refused_in_one_line(result, "requests.db is not a usable SQLite database", "--reset")


@pytest.mark.parametrize("extra", [[], ["--reset"]])
def test_a_state_directory_in_use_by_another_run_is_left_alone(tmp_path: Path, extra: list[str]) -> None:
    (tmp_path / "tasking.db").write_bytes(b"")
    with (tmp_path / "run.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        ports = RunPorts.free()
        result = subprocess.run(
            [*run_command(tmp_path, ports), *extra], env=run_env(ports), cwd=ROOT,
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert_refused_in_one_line(result, "another `mutualaid run`", "--state-dir")
    assert (tmp_path / "tasking.db").exists()


async def test_demo_seeding_that_fails_is_a_warning_not_a_crash() -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    line = await seed_demo_units(closed, closed)
    assert line.startswith(f"warning: availability at {closed} did not answer")
    assert line.endswith("the services run on")
