"""Drive `mutualaid run` as a user does: a real process on its own ports and state directory."""

import asyncio
import contextlib
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from shared.broker import free_port

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PORTS = {"requests": 8001, "availability": 8002, "tasking": 8003, "console": 8000}
READY_LINE = "Ctrl-C stops everything."


@dataclass(frozen=True)
class RunPorts:
    broker: int
    services: dict[str, int]

    @classmethod
    def free(cls) -> "RunPorts":
        """Ports free now, all different: a port just probed and released may be handed out again at once."""
        ports: list[int] = []
        while len(ports) < 1 + len(DEFAULT_PORTS):
            if (port := free_port()) not in ports:
                ports.append(port)
        return cls(broker=ports[0], services=dict(zip(DEFAULT_PORTS, ports[1:], strict=True)))

    def env(self) -> dict[str, str]:
        return {f"{service.upper()}_PORT": str(port) for service, port in self.services.items()}

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.services[service]}"


def run_command(state_dir: Path, ports: RunPorts, *extra: str) -> list[str]:
    return [sys.executable, "-m", "mutualaid", "run", "--state-dir", str(state_dir),
            "--broker-port", str(ports.broker), *extra]  # fmt: skip


def run_env(ports: RunPorts, **extra: str) -> dict[str, str]:
    env = {**os.environ, **ports.env(), **extra}
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)  # `mutualaid run` starts its own embedded broker
    return env


@dataclass
class RunningSystem:
    process: asyncio.subprocess.Process
    output: list[str]


@contextlib.asynccontextmanager
async def mutualaid_run(
    state_dir: Path, ports: RunPorts, *extra: str, timeout: float = 120
) -> AsyncIterator[RunningSystem]:
    """Start `mutualaid run` as a terminal's foreground job and wait for its ready line; on exit stop it with
    SIGINT to its whole process group, as Ctrl-C in a terminal does."""
    process = await asyncio.create_subprocess_exec(
        *run_command(state_dir, ports, *extra), env=run_env(ports), cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    system = RunningSystem(process=process, output=[])
    try:
        async with asyncio.timeout(timeout):
            await _read_until(system, READY_LINE)
        yield system
    finally:
        if process.returncode is None:
            ctrl_c(process)
            try:
                async with asyncio.timeout(30):
                    await _read_until(system, None)
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()


def ctrl_c(process: asyncio.subprocess.Process) -> None:
    """What Ctrl-C in a terminal does: SIGINT to every process of the foreground job's group."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)


async def stop(system: RunningSystem) -> int:
    """Ctrl-C, then the exit code once everything stopped."""
    ctrl_c(system.process)
    async with asyncio.timeout(30):
        await _read_until(system, None)
        return await system.process.wait()


async def _read_until(system: RunningSystem, line: str | None) -> None:
    assert system.process.stdout is not None
    while True:
        raw = await system.process.stdout.readline()
        if not raw:
            if line is None:
                return
            raise AssertionError("mutualaid run ended before it was ready:\n" + "".join(system.output))
        system.output.append(raw.decode())
        if line is not None and raw.decode().strip() == line:
            return


async def read_until_match(system: RunningSystem, pattern: str, *, timeout: float = 60) -> re.Match[str]:
    """Read the run's output until a line matches pattern (a regular expression); the match."""
    assert system.process.stdout is not None
    async with asyncio.timeout(timeout):
        while raw := await system.process.stdout.readline():
            system.output.append(raw.decode())
            if found := re.search(pattern, raw.decode()):
                return found
    raise AssertionError(f"mutualaid run ended before printing {pattern!r}:\n" + "".join(system.output))


@contextlib.asynccontextmanager
async def draining(system: RunningSystem) -> AsyncIterator[None]:
    """Keep reading the run's output into system.output while the block runs: the services write to the same
    pipe, and a full pipe would block them."""
    reading = asyncio.create_task(_read_until(system, None))
    try:
        yield
    finally:
        reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reading


def children_of(system: RunningSystem) -> dict[str, int]:
    """The run's child processes by what they are ('broker', 'requests', ...) -> pid."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError):  # it ended while being read
            continue
        if parent == system.process.pid:
            name = command[command.index(b"serve") + 1].decode() if b"serve" in command else "broker"
            found[name] = int(entry.name)
    return found


def ports_free(ports: RunPorts) -> bool:
    """Nothing listens on any of the run's ports any more."""
    for port in [ports.broker, *ports.services.values()]:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return False
    return True


def readme_walkthrough(ports: RunPorts) -> str:
    """The README's walkthrough script, pointed at the given service ports instead of the defaults."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Walkthrough") :]
    script = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert script is not None, "the README has no walkthrough script"
    text = script.group(1)
    for service, port in DEFAULT_PORTS.items():
        text = text.replace(f"127.0.0.1:{port}", f"127.0.0.1:{ports.services[service]}")
    return text


async def run_walkthrough(ports: RunPorts) -> str:
    """Run the README walkthrough with bash in the repository; returns what it printed."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    process = await asyncio.create_subprocess_exec(
        "bash", "-euo", "pipefail", "-c", readme_walkthrough(ports), cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    async with asyncio.timeout(120):
        output, _ = await process.communicate()
    text = output.decode()
    assert process.returncode == 0, f"the walkthrough failed ({process.returncode}):\n{text}"
    return text
