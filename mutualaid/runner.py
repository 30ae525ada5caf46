"""Runs the whole system as real processes: the embedded broker and the three services.

Used by `mutualaid run` (make run), the end-to-end tests and the benchmark. Children are
asyncio subprocesses; stop() terminates them (SIGKILL after a grace period), so nothing is orphaned.
"""

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from mutualaid.services import SERVICES
from shared.broker import EmbeddedBroker, free_port

DEFAULT_PORTS = {"requests": 8001, "availability": 8002, "tasking": 8003}


@dataclass
class Stack:
    """The broker and the services, each service with its own SQLite file (or given database URLs)."""

    workdir: Path
    broker_port: int | None = None
    ports: dict[str, int] = field(default_factory=dict)
    database_urls: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    log_to_files: bool = True
    broker: EmbeddedBroker | None = None
    kafka_bootstrap_servers: str | None = None
    processes: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    async def start(self, *, ready_timeout: float = 60.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.kafka_bootstrap_servers is None:
            self.broker = EmbeddedBroker(self.broker_port).start()
            self.kafka_bootstrap_servers = self.broker.bootstrap_servers
        for service in SERVICES:
            self.ports.setdefault(service, free_port())
        try:
            await asyncio.gather(*(self.start_service(s, ready_timeout=ready_timeout) for s in SERVICES))
        except BaseException:
            await self.stop()
            raise

    def _service_env(self, service: str) -> dict[str, str]:
        prefix = service.upper()
        database_url = self.database_urls.get(service) or f"sqlite+aiosqlite:///{self.workdir / service}.db"
        return {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers or "",
            f"{prefix}_DATABASE_URL": database_url,
            f"{prefix}_PORT": str(self.ports[service]),
            **self.env,
        }

    async def start_service(self, service: str, *, ready_timeout: float = 60.0) -> None:
        """Start one service process and wait until its /readyz answers 200."""
        output: IO[bytes] | None = None
        if self.log_to_files:
            output = (self.workdir / f"{service}.log").open("ab")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "mutualaid", "serve", service,
            env=self._service_env(service), stdout=output, stderr=output,
        )  # fmt: skip
        if output is not None:
            output.close()
        self.processes[service] = process
        await self.wait_ready(service, timeout=ready_timeout)

    async def wait_ready(self, service: str, *, timeout: float = 60.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        async with httpx.AsyncClient(timeout=2.0) as client:
            while True:
                process = self.processes[service]
                if process.returncode is not None:
                    raise RuntimeError(f"{service} exited with {process.returncode}; see {self.workdir}/{service}.log")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{self.url(service)}/readyz")).status_code == 200:
                        return
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError(f"{service} was not ready within {timeout}s; see {self.workdir}/{service}.log")
                await asyncio.sleep(0.1)

    async def kill_service(self, service: str) -> None:
        """SIGKILL a service: no clean shutdown, as in a crash."""
        process = self.processes.pop(service)
        process.kill()
        await process.wait()

    async def stop_service(self, service: str, *, grace: float = 10.0) -> None:
        process = self.processes.pop(service, None)
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), grace)
        except TimeoutError:
            process.kill()
            await process.wait()

    async def stop(self) -> None:
        await asyncio.gather(*(self.stop_service(service) for service in list(self.processes)))
        if self.broker is not None:
            self.broker.stop()
            self.broker = None


@contextlib.asynccontextmanager
async def running_stack(workdir: Path, **options: object) -> AsyncIterator[Stack]:
    stack = Stack(workdir=workdir, **options)  # type: ignore[arg-type]
    await stack.start()
    try:
        yield stack
    finally:
        await stack.stop()


async def run_forever(*, broker_port: int, demo: bool, workdir: Path = Path("var")) -> None:
    """Start everything, print where it is, and stop it all on Ctrl-C or SIGTERM."""
    from mutualaid.demo import declare_demo_units

    stack = Stack(workdir=workdir.resolve(), broker_port=broker_port, ports=dict(DEFAULT_PORTS), log_to_files=False)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(f"starting the embedded broker on 127.0.0.1:{broker_port} and the services...", flush=True)
    await stack.start()
    try:
        if demo:
            count = await declare_demo_units(stack.url("availability"), tasking_url=stack.url("tasking"))
            print(f"declared {count} demo units in the West Midlands region", flush=True)
        print(f"broker        {stack.kafka_bootstrap_servers}")
        for service in SERVICES:
            print(f"{service:<13} {stack.url(service)}   (docs: {stack.url(service)}/docs)")
        print("Ctrl-C stops everything.", flush=True)
        await stop.wait()
    finally:
        print("stopping...", flush=True)
        await stack.stop()
