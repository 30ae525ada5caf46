"""Latency benchmark: submit requests at a steady rate, time until tasking proposes units; and the bare broker.

    latency.py [--requests 200] [--rate 20]      one run (make bench)
    latency.py --compare 5,50 [--seconds 20]      one fresh stack per rate, side by side, against the target
    latency.py --find-max [--seconds 20]          step the rate until the backlog grows
    latency.py --surge                            45 forces, 2,000 units, updates at 20/s, 200 requests in 5 min

See benchmarks/README.md.
"""

import argparse
import asyncio
import math
import os
import random
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from benchmarks.load import (
    REACHED,
    ProposalWatcher,
    Run,
    auth,
    broker_round_trip,
    confirm,
    line,
    paced,
    percentiles,
    put_units,
    stages,
    submit,
    wait_tasking_has_units,
)
from mutualaid.runner import Stack
from shared.auth import Role
from shared.forces import Force, forces

# idle connections are dropped before uvicorn closes them (after 5 s): a reused closing one fails a POST
LIMITS = httpx.Limits(keepalive_expiry=2.0)
UNLIMITED = {"MUTUALAID_WRITE_RATE_LIMIT": ""}  # the benchmark measures the stack, not the per-caller write limit

REQUESTING_FORCE = "west-midlands"
SURGE_LEFT_OUT = ("police-scotland", "psni", "mod-police")  # 45 forces remain
FIND_MAX_RATES = (10, 20, 30, 40, 50, 60, 80, 100, 130, 160, 200)


def iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def unit_body(force: Force, capability: str, readiness: int) -> dict[str, Any]:
    """A unit at its force's HQ, available from yesterday for 30 days."""
    start = datetime.now(UTC) - timedelta(days=1)
    return {
        "force": force.code, "capability": capability, "readiness_minutes": readiness,
        "base": {"lat": force.hq_lat, "lon": force.hq_lon, "description": force.hq_town[:200]},
        "available_from": start.isoformat(), "available_until": (start + timedelta(days=30)).isoformat(),
    }  # fmt: skip


def psu_bodies(per_force: int) -> dict[str, dict[str, Any]]:
    """PSUs of every force but the requesting one (tasking never proposes a force's own units)."""
    return {
        f"{force.code}-psu-{number}": unit_body(force, "PSU", 30 + 15 * (number % 4))
        for force in forces().values() if force.code != REQUESTING_FORCE
        for number in range(1, per_force + 1)
    }  # fmt: skip


def request_body(number: int) -> dict[str, Any]:
    """A one-PSU P2 request of the West Midlands, two days from now for a day."""
    start = datetime.now(UTC) + timedelta(days=2)
    return {
        "requesting_force": REQUESTING_FORCE, "operation": f"Bench {number}", "priority": "P2",
        "location": {"lat": 52.509, "lon": -1.885, "description": "Villa Park"},
        "required_by": iso(start), "end": iso(start + timedelta(days=1)),
        "needs": [{"capability": "PSU", "quantity": 1}],
    }  # fmt: skip


@asynccontextmanager
async def fresh_stack() -> AsyncIterator[Stack]:
    """The embedded broker and the three services on SQLite in a temporary directory, always stopped after."""
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mutualaid-bench-") as workdir:
        stack = Stack(workdir=Path(workdir), env=UNLIMITED)  # one client writes faster than a caller may
        try:
            await stack.start()
            load = os.getloadavg()[0]
            print(f"stack started in {time.monotonic() - began:.1f}s; load average {load:.1f} on {os.cpu_count()} CPUs")
            yield stack
        finally:
            await stack.stop()


async def declare(stack: Stack, bodies: dict[str, dict[str, Any]]) -> None:
    """Declare the units and wait until tasking's read model holds them all."""
    began = time.monotonic()
    async with httpx.AsyncClient(headers=auth(Role.INTEGRATION), timeout=30) as client:
        await put_units(client, stack.url("availability"), bodies)
        await wait_tasking_has_units(client, stack.url("tasking"), len(bodies))
    print(f"declared {len(bodies)} units; tasking applied them all after {time.monotonic() - began:.1f}s", flush=True)


async def load(stack: Stack, label: str, bodies: list[tuple[str, dict[str, Any]]], rate: float) -> Run:
    """Submit the (operator force, body) requests at `rate`/s after one warm-up; wait for their proposals."""
    assert stack.kafka_bootstrap_servers is not None
    watcher = ProposalWatcher(stack.kafka_bootstrap_servers)
    clients: dict[str, httpx.AsyncClient] = {}
    try:
        await watcher.start()
        for force in {force for force, _ in bodies}:
            operator = auth(Role.OPERATOR, force=force)
            clients[force] = httpx.AsyncClient(
                base_url=stack.url("requests"), headers=operator, timeout=60, limits=LIMITS
            )
        warm_force, warm_body = bodies[0]
        await watcher.wait_for([(await submit(clients[warm_force], {**warm_body, "operation": "warm-up"}))[0]])
        began = time.monotonic()
        submitted = await paced(len(bodies), rate, lambda n: submit(clients[bodies[n][0]], bodies[n][1]))
        took, load = time.monotonic() - began, os.getloadavg()[0]
        print(f"{label}: submitted {len(bodies)} requests in {took:.1f}s; load average {load:.1f}", flush=True)
        ids = [rid for rid, _, _ in submitted]
        await watcher.wait_for(ids, timeout=60 + 2 * len(bodies) / rate)
        details = await confirm(clients[warm_force], ids)
    finally:
        await watcher.stop()
        for client in clients.values():
            await client.aclose()
    sent = {rid: at for rid, at, _ in submitted}
    seen = {rid: watcher.seen[rid] for rid in sent if rid in watcher.seen}
    reached = sum(detail["status"] in REACHED for detail in details.values())
    unfilled = len(watcher.unfilled & set(sent) - set(seen))
    return Run(label, rate, submitted, seen, stages(details, sent, seen), reached, unfilled)


async def one_rate(rate: float, requests: int) -> Run:
    """A fresh stack, enough PSUs, `requests` West Midlands requests at `rate`/s, then the bare broker."""
    async with fresh_stack() as stack:
        await declare(stack, psu_bodies(per_force=math.ceil((requests + 10) / (len(forces()) - 1))))
        bodies = [(REQUESTING_FORCE, request_body(n)) for n in range(requests)]
        run = await load(stack, f"{rate:g} req/s", bodies, rate)
        assert stack.kafka_bootstrap_servers is not None
        run.broker = await broker_round_trip(stack.kafka_bootstrap_servers)
    return run


def side_by_side(runs: list[Run]) -> None:
    """p50 and p99 of every stage of each run in columns, then the bare broker of each run's stack."""
    header = "".join(f"{run.label + ' p50':>16}{'p99':>12}" for run in runs)
    print(f"{'':<32}{header}")
    rows = [("submit->PROPOSED", [run.latencies() for run in runs])]
    rows += [(label, [run.split[label] for run in runs]) for label in runs[0].split]
    rows += [("HTTP POST /v1/requests", [[e for _, _, e in run.submitted] for run in runs])]
    rows += [("bare broker produce->consume", [run.broker[0] for run in runs])]
    rows += [("bare broker produce->ack", [run.broker[1] for run in runs])]
    for label, samples in rows:
        cells = [percentiles(values) for values in samples]
        shown = (f"{c.get('p50', math.nan):13.1f} ms{c.get('p99', math.nan):9.1f} ms" for c in cells)
        print(f"{label:<32}" + "".join(shown))


def verdict(low: Run, high: Run) -> str:
    """The issue's target: p99 at the high rate no more than 1.5 times the p99 at the low rate, plus 50 ms."""
    bound = 1.5 * low.p99() + 0.050
    outcome = "PASS" if high.p99() <= bound else "MISS"
    return (
        f"target p99({high.label}) <= 1.5 x p99({low.label}) + 50 ms = {bound * 1000:.1f} ms: "
        f"p99({high.label}) = {high.p99() * 1000:.1f} ms, {high.p99() / low.p99():.2f}x -> {outcome}"
    )


async def compare(rates: list[float], seconds: float) -> None:
    """One fresh stack per rate, `seconds` of submissions each (at least 100 requests)."""
    runs = []
    for rate in rates:
        runs.append(await one_rate(rate, max(100, round(rate * seconds))))
        runs[-1].print()
    print()
    side_by_side(runs)
    for run in runs:
        print(f"{run.label}: backlog {'GREW' if run.backlog_grew() else 'steady'}")
    print(verdict(min(runs, key=lambda run: run.rate), max(runs, key=lambda run: run.rate)))


async def find_max(seconds: float) -> None:
    """Step through FIND_MAX_RATES, a fresh stack each, until a run's backlog grows; print the highest steady."""
    steady: float | None = None
    for rate in FIND_MAX_RATES:
        run = await one_rate(rate, max(100, round(rate * seconds)))
        grew = run.backlog_grew()
        print(line(f"{rate:g} req/s submit->PROPOSED", run.latencies()), "GREW" if grew else "steady", flush=True)
        if grew:
            break
        steady = rate
    print(f"highest sustained rate without a growing backlog: {steady if steady is not None else 'none'} req/s")


def surge_forces() -> list[Force]:
    return [force for code, force in forces().items() if code not in SURGE_LEFT_OUT]


def surge_units(count: int, rng: random.Random) -> dict[str, dict[str, Any]]:
    """`count` units spread evenly over the 45 forces: 80 % PSU, the rest AFO, DOG and POLSA."""
    pool = surge_forces()
    kinds = ["PSU"] * 8 + ["AFO", "DOG"]
    return {
        f"{pool[n % len(pool)].code}-u{n}": unit_body(pool[n % len(pool)], rng.choice(kinds), rng.choice((15, 30, 60)))
        for n in range(count)
    }


def surge_request(number: int, rng: random.Random) -> tuple[str, dict[str, Any]]:
    """A request of a random force of the 45 at its HQ: 1-4 PSUs (one in four also an AFO), P1, P2 or P3."""
    force = rng.choice(surge_forces())
    priority = rng.choice(("P1", "P2", "P3"))
    start = datetime.now(UTC) + {"P1": timedelta(hours=1), "P2": timedelta(hours=4), "P3": timedelta(days=1)}[priority]
    needs = [{"capability": "PSU", "quantity": rng.randint(1, 4)}]
    if rng.random() < 0.25:
        needs.append({"capability": "AFO", "quantity": 1})
    return force.code, {
        "requesting_force": force.code, "operation": f"Surge {number}", "priority": priority,
        "location": {"lat": force.hq_lat, "lon": force.hq_lon, "description": force.hq_town[:200]},
        "required_by": iso(start), "end": iso(start + timedelta(days=1)), "needs": needs,
    }  # fmt: skip


async def churn(
    stack: Stack, units: dict[str, dict[str, Any]], rate: float, rng: random.Random, failed: list[str]
) -> list[float]:
    """Update random units' readiness at `rate`/s until cancelled; returns each PUT's duration (seconds) and
    notes in `failed` what went wrong with those that failed."""
    durations: list[float] = []
    ids = list(units)
    async with httpx.AsyncClient(headers=auth(Role.INTEGRATION), timeout=60, limits=LIMITS) as client:

        async def update(_: int) -> None:
            unit_id = rng.choice(ids)
            body = {**units[unit_id], "readiness_minutes": rng.choice((15, 30, 45, 60))}
            began = time.monotonic()
            try:
                (await client.put(f"{stack.url('availability')}/v1/units/{unit_id}", json=body)).raise_for_status()
            except httpx.HTTPError as error:
                failed.append(f"{type(error).__name__}: {error}")
                return
            durations.append(time.monotonic() - began)

        try:
            await paced(10**9, rate, update)
        except asyncio.CancelledError:
            return durations
    return durations


async def surge(units: int, requests: int, seconds: float, update_rate: float) -> None:
    """The surge profile: units of 45 forces, availability updates throughout, requests spread over `seconds`."""
    rng = random.Random(11)
    async with fresh_stack() as stack:
        bodies = surge_units(units, rng)
        await declare(stack, bodies)
        failed: list[str] = []
        updates = asyncio.create_task(churn(stack, bodies, update_rate, random.Random(12), failed))
        began = time.monotonic()
        run = await load(stack, "surge", [surge_request(n, rng) for n in range(requests)], requests / seconds)
        updates.cancel()
        durations = await updates
        churned = time.monotonic() - began
        assert stack.kafka_bootstrap_servers is not None
        run.broker = await broker_round_trip(stack.kafka_bootstrap_servers)
    run.print()
    print(line("availability PUT (update)", durations))
    rate = len(durations) / churned
    print(f"availability updates: {len(durations)} in {churned:.0f}s ({rate:.1f}/s), failed {len(failed)}")
    for reason, count in Counter(failed).most_common(3):
        print(f"  {count} failed: {reason}")
    print(f"surge: backlog {'GREW' if run.backlog_grew() else 'steady'}")


def main() -> None:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=None, help="requests to submit (default 200)")
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second (default 20)")
    parser.add_argument("--compare", help="rates to run on fresh stacks and print side by side, e.g. 5,50")
    parser.add_argument("--find-max", action="store_true", help="step the rate until the backlog grows")
    parser.add_argument("--seconds", type=float, default=None, help="submission time per rate (compare, find-max: 20)")
    parser.add_argument("--surge", action="store_true", help="the surge profile (2,000 units, 200 requests, 300 s)")
    parser.add_argument("--units", type=int, default=2000, help="surge: units declared (default 2,000)")
    parser.add_argument("--updates", type=float, default=20.0, help="surge: availability updates per second")
    args = parser.parse_args()
    began = time.monotonic()
    if args.compare:
        asyncio.run(compare([float(rate) for rate in args.compare.split(",")], args.seconds or 20.0))
    elif args.find_max:
        asyncio.run(find_max(args.seconds or 20.0))
    elif args.surge:
        asyncio.run(surge(args.units, args.requests or 200, args.seconds or 300.0, args.updates))
    else:

        async def single() -> None:
            run = await one_rate(args.rate, args.requests or 200)
            run.print()

        asyncio.run(single())
    print(f"total {time.monotonic() - began:.1f}s")


if __name__ == "__main__":
    main()
