"""Runs the whole system as real processes: the embedded broker and the three services.

Used by `mutualaid run` (make run), the end-to-end tests and the benchmark. Children are
asyncio subprocesses in sessions of their own, so a terminal's Ctrl-C reaches only the runner, which
stops the services (SIGTERM, SIGKILL after a grace period) and then the broker; and they die with the
runner if it is killed (shared.processes), so nothing is orphaned.
"""

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from mutualaid.preflight import (
    StartupError,
    check_broker_binary,
    check_databases,
    check_ports_free,
    claim_state_dir,
    load_settings,
    reset_state,
)
from mutualaid.services import CONSOLE, SERVICES, bootstrap
from mutualaid.supervisor import Child, RestartPolicy, keep_running
from services.tasking.audit_archive import ARCHIVE_NAME
from shared.broker import TANSU, EmbeddedBroker, free_port
from shared.processes import die_with_parent


@dataclass
class Stack:
    """The broker and the services, each service with its own SQLite file (or given database URLs)."""

    workdir: Path
    broker_port: int | None = None
    ports: dict[str, int] = field(default_factory=dict)
    database_urls: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    log_to_files: bool = True
    broker_binary: Path = TANSU
    broker: EmbeddedBroker | None = None
    kafka_bootstrap_servers: str | None = None
    processes: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)
    console: bool = False  # also start the web console, once the services are ready
    replicas: dict[str, int] = field(default_factory=dict)  # processes per service started at once (default 1)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def database_url(self, service: str) -> str:
        """The database URL the service's processes are given: its entry in database_urls, else its SQLite file."""
        return self.database_urls.get(service) or f"sqlite+aiosqlite:///{self.workdir / service}.db"

    def replicas_of(self, service: str) -> list[str]:
        """The names of a service's processes started by start(): ["requests", "requests-2", ...]."""
        return [service, *(f"{service}-{n}" for n in range(2, self.replicas.get(service, 1) + 1))]

    async def start(self, *, ready_timeout: float = 60.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.kafka_bootstrap_servers is None:
            self.broker = EmbeddedBroker(self.broker_port, binary=self.broker_binary).start()
            self.kafka_bootstrap_servers = self.broker.bootstrap_servers
        for service in SERVICES:
            self.ports.setdefault(service, free_port())
        try:
            await asyncio.gather(
                *(
                    self.start_service(service, replica=name, ready_timeout=ready_timeout)
                    for service in SERVICES
                    for name in self.replicas_of(service)
                )
            )
            if self.console:
                await self.start_service(CONSOLE, ready_timeout=ready_timeout)
        except BaseException:
            await self.stop()
            raise

    def _service_env(self, service: str, name: str) -> dict[str, str]:
        prefix = service.upper()
        if service == CONSOLE:
            urls = {f"CONSOLE_{s.upper()}_URL": self.url(s) for s in SERVICES}
            return {**os.environ, **urls, "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers or "",
                    "CONSOLE_PORT": str(self.ports[name]), **self.env}  # fmt: skip
        archive = {"TASKING_AUDIT_ARCHIVE": str(self.workdir / ARCHIVE_NAME)} if service == "tasking" else {}
        return {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers or "",
            f"{prefix}_DATABASE_URL": self.database_url(service),
            f"{prefix}_PORT": str(self.ports[name]),
            **archive,  # the audit checkpoints, kept beside the databases and outside them
            **self.env,
        }

    async def start_service(self, service: str, *, replica: str | None = None, ready_timeout: float = 60.0) -> None:
        """Start one service process (a further replica of it under another name) and wait until /readyz is 200."""
        name = replica or service
        self.ports.setdefault(name, free_port())
        output: IO[bytes] | None = None
        if self.log_to_files:
            output = (self.workdir / f"{name}.log").open("ab")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "mutualaid", "serve", service,
            env=self._service_env(service, name), stdout=output, stderr=output,
            start_new_session=True, preexec_fn=die_with_parent,  # stopped by stop(), in order; never orphaned
        )  # fmt: skip
        if output is not None:
            output.close()
        self.processes[name] = process
        await self.wait_ready(name, timeout=ready_timeout)

    async def wait_ready(self, service: str, *, timeout: float = 60.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        async with httpx.AsyncClient(timeout=2.0) as client:
            while True:
                process = self.processes[service]
                if process.returncode is not None:
                    exited = process.returncode
                    raise RuntimeError(f"the {service} service exited with {exited}; see {self._log(service)}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{self.url(service)}/readyz")).status_code == 200:
                        return
                if asyncio.get_running_loop().time() > deadline:
                    log = self._log(service)
                    raise TimeoutError(f"the {service} service was not ready within {timeout}s; see {log}")
                await asyncio.sleep(0.1)

    def _log(self, service: str) -> str:
        return str(self.workdir / f"{service}.log") if self.log_to_files else "its output above"

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

    async def supervise(self, *, policy: RestartPolicy, say: Callable[[str], None]) -> None:
        """Restart the embedded broker (on its port) or a service (with its environment) whenever one exits,
        until cancelled; raises GaveUp for one that keeps exiting at once. Replicas are not supervised."""
        children = [self._broker_child()] if self.broker is not None else []
        children += [self._service_child(name) for name in self.processes if name in (*SERVICES, CONSOLE)]
        watching = [asyncio.create_task(keep_running(child, policy=policy, say=say)) for child in children]
        try:
            done, _ = await asyncio.wait(watching, return_when=asyncio.FIRST_EXCEPTION)
            for watch in done:
                watch.result()  # GaveUp is raised here
        finally:
            for watch in watching:
                watch.cancel()
            await asyncio.gather(*watching, return_exceptions=True)

    def _broker_child(self) -> Child:
        broker = self.broker
        assert broker is not None

        async def wait() -> int:
            return await asyncio.to_thread(broker.wait)  # a thread, not the loop: the broker is a Popen

        async def restart() -> str:
            broker.start()  # its port again: the services reconnect by themselves
            return f"pid {broker.pid}, listening on {broker.bootstrap_servers}"

        return Child(name="embedded broker", wait=wait, restart=restart)

    def _service_child(self, service: str) -> Child:
        async def restart() -> str:
            started = asyncio.get_running_loop().time()
            await self.start_service(service)
            ready_in = asyncio.get_running_loop().time() - started
            return f"pid {self.processes[service].pid}, ready in {ready_in:.1f}s"

        return Child(name=f"{service} service", wait=lambda: self.processes[service].wait(), restart=restart)

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


@dataclass(frozen=True)
class RunOptions:
    """How `mutualaid run` starts: where its state lives, the broker's port and binary, the demo units."""

    state_dir: Path = Path("var")
    broker_port: int = 9092
    broker_binary: Path = TANSU
    reset: bool = False
    demo: bool = True


async def run_forever(options: RunOptions) -> None:
    """Start everything on the state a previous run left, print where it is, and stop it all on Ctrl-C or SIGTERM.

    Raises StartupError (one line: what is wrong, what to do) for the expected start failures: the
    state directory unusable or used by another run, a port out of range, taken twice or in use, the
    broker binary missing or not runnable, a database locked, read-only, foreign or from a newer version.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    state_dir = options.state_dir.resolve()
    lock = claim_state_dir(state_dir)
    try:
        if options.reset:
            removed = reset_state(state_dir, SERVICES)
            print(f"reset: {removed} file(s) of earlier runs deleted from {state_dir}; starting empty", flush=True)
        stack = Stack(
            workdir=state_dir,
            broker_port=options.broker_port,
            broker_binary=options.broker_binary,
            ports=service_ports(),
            log_to_files=False,
            console=True,
            env=terminal_logging(),
        )
        check_databases({state_dir / f"{service}.db": bootstrap(service).MIGRATIONS for service in SERVICES})
        check_broker_binary(options.broker_binary)
        check_ports_free(
            {"embedded broker": (options.broker_port, "--broker-port")}
            | {f"{name} service": (port, f"{name.upper()}_PORT") for name, port in stack.ports.items()}
        )
        await _serve_until_stopped(stack, stop, demo=options.demo)
    finally:
        lock.close()


def terminal_logging() -> dict[str, str]:
    """The services log into this terminal: readable lines, warnings and errors only, unless the environment
    sets MUTUALAID_LOG_FORMAT or MUTUALAID_LOG_LEVEL (`MUTUALAID_LOG_LEVEL=INFO` shows every request and event)."""
    return {
        "MUTUALAID_LOG_FORMAT": os.environ.get("MUTUALAID_LOG_FORMAT", "text"),
        "MUTUALAID_LOG_LEVEL": os.environ.get("MUTUALAID_LOG_LEVEL", "WARNING"),
    }


def service_ports() -> dict[str, int]:
    """Each service's HTTP port from its settings (REQUESTS_PORT, AVAILABILITY_PORT, TASKING_PORT, CONSOLE_PORT).

    Raises StartupError naming the environment variable when a service's settings do not validate."""
    return {service: load_settings(bootstrap(service).Settings).port for service in (*SERVICES, CONSOLE)}


async def _serve_until_stopped(stack: Stack, stop: asyncio.Event, *, demo: bool) -> None:
    """Start and seed, unless asked to stop first; then serve until asked to stop; always stop in order."""
    print(f"state         {stack.workdir}   (kept between runs; `mutualaid run --reset` starts empty)", flush=True)
    print(f"starting the embedded broker on 127.0.0.1:{stack.broker_port} and the services...", flush=True)
    try:
        if not await _unless_stopped(_start(stack, demo=demo), stop):
            print("stopped before everything was ready", flush=True)
            return
        print(f"console       {stack.url(CONSOLE)}   (sign in as any role: development sign-in)")
        print(f"broker        {stack.kafka_bootstrap_servers}")
        for service in SERVICES:
            print(f"{service:<13} {stack.url(service)}   (docs: {stack.url(service)}/docs)")
        print("Ctrl-C stops everything.", flush=True)
        await _unless_stopped(stack.supervise(policy=RestartPolicy(), say=_say), stop)
    finally:
        print("stopping...", flush=True)
        await stack.stop()


def _say(line: str) -> None:
    print(line, flush=True)


async def _start(stack: Stack, *, demo: bool) -> None:
    try:
        await stack.start()
    except (RuntimeError, TimeoutError) as error:
        raise StartupError(f"could not start: {error}") from None
    if demo:
        print(await seed_demo_units(stack.url("availability"), stack.url("tasking")), flush=True)


async def _unless_stopped(work: Coroutine[Any, Any, None], stop: asyncio.Event) -> bool:
    """Run work to its end and return True, or cancel it and return False as soon as stop is set."""
    working = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait({working, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if working.done():
        working.result()  # a start failure is raised here
        return True
    working.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await working
    return False


async def seed_demo_units(availability_url: str, tasking_url: str) -> str:
    """Declare the demo units an earlier run did not; returns the line to print. A failure is a warning, not a crash."""
    from mutualaid.demo import DemoSeedingFailed, declare_demo_units

    try:
        seeding = await declare_demo_units(availability_url, tasking_url=tasking_url)
    except DemoSeedingFailed as error:
        return f"warning: {error}; the services run on"
    return (
        f"demo units in the West Midlands region: {seeding.declared} declared, "
        f"{seeding.already_there} already there (left as they are)"
    )
