"""Replicas benchmark: throughput of the requests and availability services with one replica, then two.

Run with `.venv/bin/python benchmarks/replicas.py [--seconds 10] [--concurrency 32]`; see benchmarks/README.md.
Needs a PostgreSQL server on which it may create and drop databases (`--postgres`, default the local one).
"""

import argparse
import asyncio
import contextlib
import itertools
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func
from sqlmodel import col, select

from benchmarks.latency import request_body
from benchmarks.load import auth
from mutualaid.runner import Stack
from mutualaid.services import SERVICES
from services.requests.bootstrap import MIGRATIONS as REQUESTS_MIGRATIONS
from shared import db, migrations
from shared.auth import Role
from shared.cloudevents import new_event
from shared.events import TASKING_TOPIC, MatchingStarted
from shared.forces import forces
from shared.kafka import OutboxRelay, ensure_topics
from shared.messaging import OutboxMessage, UnitOfWork
from shared.settings import CommonSettings
from tests.support.builders import unit_body
from tests.support.infra import LOCAL_POSTGRES, fresh_postgres_database
from tests.support.services import eventually

TICKS = os.sysconf("SC_CLK_TCK")
DRAINED = 10_000  # outbox rows for the relay drain
DONORS = itertools.cycle(sorted(code for code in forces() if code != "west-midlands"))
Call = Callable[[httpx.AsyncClient, str], Awaitable[httpx.Response]]


@dataclass
class Load:
    """What one measured phase did: latencies in seconds, errors, wall time and CPU seconds by process group."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)


async def submit(client: httpx.AsyncClient, url: str) -> httpx.Response:
    """POST one new request (West Midlands, one PSU), with an Idempotency-Key of its own."""
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    return await client.post(f"{url}/v1/requests", json=request_body(0), headers=headers)


async def declare(client: httpx.AsyncClient, url: str) -> httpx.Response:
    """PUT one new unit (a PSU of a force taken in turn)."""
    force = next(DONORS)
    body = unit_body(force=force, base={"lat": forces()[force].hq_lat, "lon": forces()[force].hq_lon})
    return await client.put(f"{url}/v1/units/{force}-bench-{uuid.uuid4().hex[:12]}", json=body)


CALLS: dict[str, tuple[Call, Role]] = {"requests": (submit, Role.OPERATOR), "availability": (declare, Role.INTEGRATION)}


def cpu_seconds(pids: dict[str, list[int]]) -> dict[str, dict[int, float]]:
    """CPU seconds (user + system) used so far by each process of each named group, and by the whole machine
    (as pid 0 of group "machine"). A process gone is left out."""
    used = {name: {pid: cpu for pid in group if (cpu := _process_cpu(pid)) is not None} for name, group in pids.items()}
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    used["machine"] = {0: (sum(fields) - fields[3] - fields[4]) / TICKS}  # all but idle and iowait
    return used


def used_between(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
    """CPU seconds each group used between two readings, counting the processes alive at both."""
    return {
        name: sum(after[name][pid] - cpu for pid, cpu in group.items() if pid in after[name])
        for name, group in before.items()
    }


def _process_cpu(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS


def postgres_pids() -> list[int]:
    """Every PostgreSQL process on the machine (backends included): their CPU is the database's."""
    found = []
    for entry in os.listdir("/proc"):
        with contextlib.suppress(FileNotFoundError, PermissionError, NotADirectoryError):
            if entry.isdigit() and Path(f"/proc/{entry}/comm").read_text().strip() in ("postgres", "postmaster"):
                found.append(int(entry))
    return found


async def saturate(stack: Stack, service: str, replicas: list[str], *, seconds: float, concurrency: int) -> Load:
    """Keep `concurrency` calls in flight, worker i on replica i mod n, for the time given; returns what it did."""
    call, role = CALLS[service]
    load = Load()
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(headers=auth(role, force="west-midlands"), timeout=30, limits=limits) as client:
        deadline = time.monotonic() + 2
        await asyncio.gather(*(_worker(client, call, stack.url(replicas[i % len(replicas)]), deadline, Load())
                               for i in range(concurrency)))  # fmt: skip  # warm-up, not counted
        pids = {  # after the warm-up: the database connections the load needs are open
            "service": [stack.processes[name].pid for name in replicas],
            "postgres": postgres_pids(),
            "broker": [stack.broker.pid] if stack.broker and stack.broker.pid else [],
            "bench": [os.getpid()],
        }
        before, began = cpu_seconds(pids), time.monotonic()
        deadline = began + seconds
        await asyncio.gather(
            *(_worker(client, call, stack.url(replicas[i % len(replicas)]), deadline, load) for i in range(concurrency))
        )
        load.seconds = time.monotonic() - began
        after = cpu_seconds(pids)
    load.cpu = used_between(before, after)
    return load


async def _worker(client: httpx.AsyncClient, call: Call, url: str, deadline: float, load: Load) -> None:
    while time.monotonic() < deadline:
        sent = time.perf_counter()
        response = await call(client, url)
        if response.status_code in (200, 201):
            load.latencies.append(time.perf_counter() - sent)
        else:
            load.errors += 1


def report(label: str, replicas: int, load: Load) -> str:
    """One line: throughput, latency percentiles, errors, CPU per call by process group (ms) and how busy the
    machine was (% of one core; `others`: processes outside this benchmark)."""
    ms = sorted(value * 1000 for value in load.latencies)
    q = statistics.quantiles(ms, n=100, method="inclusive")
    ours = {name: used for name, used in load.cpu.items() if name != "machine"}
    per_call = "  ".join(f"{name} {1000 * used / max(len(ms), 1):4.1f}" for name, used in ours.items())
    others = load.cpu["machine"] - sum(ours.values())
    return (
        f"{label:<20} {replicas} replica{'s' if replicas > 1 else ' '}  {len(ms) / load.seconds:6.1f}/s  "
        f"p50 {q[49]:5.1f} ms  p90 {q[89]:5.1f} ms  p99 {q[98]:6.1f} ms  errors {load.errors}  "
        f"CPU ms per call: {per_call}  machine busy {100 * load.cpu['machine'] / load.seconds:3.0f}% "
        f"(others {100 * others / load.seconds:3.0f}%)"
    )


LABELS = {"requests": "POST /v1/requests", "availability": "PUT /v1/units/{id}"}


async def bench(stack: Stack, *, services: list[str], seconds: float, concurrency: int, with_tasking: bool) -> None:
    """Each service at one replica, then two (load spread), then one again (to show any drift); prints a line each."""
    if not with_tasking:
        await stack.stop_service("tasking")
    for service in services:
        one, two = [service], [service, f"{service}-2"]
        print(report(LABELS[service], 1, await saturate(stack, service, one, seconds=seconds, concurrency=concurrency)))
        await stack.start_service(service, replica=two[1])
        print(report(LABELS[service], 2, await saturate(stack, service, two, seconds=seconds, concurrency=concurrency)))
        await stack.stop_service(two[1])
        print(report(LABELS[service], 1, await saturate(stack, service, one, seconds=seconds, concurrency=concurrency)))


async def relay_drain(server: str, bootstrap: str, *, rows: int, relays: int) -> float:
    """Seconds `relays` outbox relays of one service (taking turns, OutboxRelay.claim) take to send `rows`
    events written before they start, on a new PostgreSQL database."""
    settings = CommonSettings(kafka_bootstrap_servers=bootstrap, kafka_namespace=f"drain{uuid.uuid4().hex[:6]}.")
    await ensure_topics(settings, [TASKING_TOPIC])
    async with fresh_postgres_database(server) as url:
        await migrations.upgrade(script_location=REQUESTS_MIGRATIONS, database_url=url)
        engine = db.create_engine(url)
        sessions = db.session_factory(engine)
        try:
            async with UnitOfWork(sessions) as work:
                for number in range(rows):
                    data = MatchingStarted(request_id=f"drain-{number % 500}")
                    work.publish(new_event(data, source="/bench"), data)
                await work.commit()
            senders = [OutboxRelay(service="bench", sessions=sessions, settings=settings) for _ in range(relays)]
            began = time.monotonic()
            running = [asyncio.create_task(relay.run()) for relay in senders]
            await eventually(lambda: _all_sent(sessions), timeout=300, interval=0.05)
            took = time.monotonic() - began
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            for relay in senders:
                await relay.stop()
            return took
        finally:
            await engine.dispose()


async def _all_sent(sessions: db.SessionFactory) -> bool:
    async with sessions() as session:
        query = select(func.count()).select_from(OutboxMessage).where(col(OutboxMessage.sent_at).is_(None))
        return (await session.exec(query)).one() == 0


@contextlib.asynccontextmanager
async def stack_on_postgres(workdir: Path, server: str) -> AsyncIterator[Stack]:
    """The broker and one replica of each service, each service on a new PostgreSQL database (dropped after)."""
    async with contextlib.AsyncExitStack() as databases:
        urls = {s: await databases.enter_async_context(fresh_postgres_database(server)) for s in SERVICES}
        stack = Stack(workdir=workdir, database_urls=urls, env={"MUTUALAID_WRITE_RATE_LIMIT": ""})  # one caller, 150/s
        try:
            await stack.start()
            yield stack
        finally:
            await stack.stop()


async def run(*, postgres: str, **options: Any) -> None:
    """Start the stack in a temporary directory, run the benchmark and the relay drain, always stop the stack."""
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mutualaid-bench-") as workdir:
        async with stack_on_postgres(Path(workdir), postgres) as stack:
            print(f"stack on PostgreSQL started in {time.monotonic() - began:.1f}s; {os.cpu_count()} CPUs", flush=True)
            await bench(stack, **options)
            assert stack.kafka_bootstrap_servers is not None
            for relays in (1, 2):
                took = await relay_drain(postgres, stack.kafka_bootstrap_servers, rows=DRAINED, relays=relays)
                print(f"outbox relay drain   {relays} relay{'s' if relays > 1 else ' '}   {DRAINED / took:6.0f}/s  "
                      f"({DRAINED} events written before the relays start, sent in {took:.2f}s)")  # fmt: skip
    print(f"total {time.monotonic() - began:.1f}s")


def main() -> None:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--services", nargs="+", choices=list(CALLS), default=list(CALLS), help="services to load")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per phase (default 10)")
    parser.add_argument("--concurrency", type=int, default=32, help="calls kept in flight (default 32)")
    parser.add_argument("--with-tasking", action="store_true", help="keep tasking running (it plans each request)")
    parser.add_argument("--postgres", default=LOCAL_POSTGRES, help="a server where databases may be created")
    args = parser.parse_args()
    asyncio.run(run(**vars(args)))


if __name__ == "__main__":
    main()
