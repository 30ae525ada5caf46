"""Latency benchmark: submit a request, time until tasking proposes units; and the bare broker round trip.

Run with `.venv/bin/python benchmarks/latency.py [--requests 200] [--rate 20]`; see benchmarks/README.md.
"""

import argparse
import asyncio
import contextlib
import json
import math
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from mutualaid.runner import Stack
from shared.auth import Role, issue_token
from shared.events import TASKING_TOPIC
from shared.forces import forces
from shared.settings import CommonSettings

REQUESTING_FORCE = "west-midlands"
PROPOSAL_CREATED = "uk.police.mutualaid.proposal.created.v1"
REACHED = {"PROPOSED", "APPROVED", "MOBILISED"}
Submitted = tuple[str, float, float]  # request id, wall-clock time just before the POST, POST duration


def auth(role: Role, force: str | None = None) -> dict[str, str]:
    """An Authorization header for a bench principal."""
    secret = CommonSettings().jwt_secret.get_secret_value()
    return {"Authorization": f"Bearer {issue_token(secret, sub=f'bench-{role.value}', role=role, force=force)}"}


def epoch(value: str) -> float:
    """An RFC 3339 timestamp as epoch seconds (comparable with time.time() on this machine)."""
    return datetime.fromisoformat(value).timestamp()


def line(label: str, seconds: list[float]) -> str:
    """One labelled line of percentiles in milliseconds."""
    ms = sorted(value * 1000 for value in seconds)
    if len(ms) < 2:
        return f"{label:<30} n={len(ms)}  (too few samples)"
    q = statistics.quantiles(ms, n=100, method="inclusive")
    figures = "  ".join(f"{name}={value:6.1f} ms" for name, value in (("p50", q[49]), ("p90", q[89]), ("p99", q[98])))
    return f"{label:<30} n={len(ms):<4} {figures}  max={ms[-1]:6.1f} ms"


def unit_bodies(per_force: int) -> dict[str, dict[str, Any]]:
    """PSUs of every force but the requesting one, at their HQs, available from yesterday for 30 days."""
    start = datetime.now(UTC) - timedelta(days=1)
    window = {"available_from": start.isoformat(), "available_until": (start + timedelta(days=30)).isoformat()}
    return {
        f"{force.code}-psu-{number}": {
            "force": force.code, "capability": "PSU", "readiness_minutes": 30 + 15 * (number % 4),
            "base": {"lat": force.hq_lat, "lon": force.hq_lon, "description": force.hq_town[:200]}, **window,
        }
        for force in forces().values() if force.code != REQUESTING_FORCE
        for number in range(1, per_force + 1)
    }  # fmt: skip


def request_body(number: int) -> dict[str, Any]:
    """A one-PSU request of the West Midlands, two days from now for a day."""
    start = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    return {
        "requesting_force": REQUESTING_FORCE, "operation": f"Bench {number}", "priority": "P2",
        "location": {"lat": 52.509, "lon": -1.885, "description": "Villa Park"},
        "required_by": start.isoformat().replace("+00:00", "Z"),
        "end": (start + timedelta(days=1)).isoformat().replace("+00:00", "Z"),
        "needs": [{"capability": "PSU", "quantity": 1}],
    }  # fmt: skip


async def wait_tasking_has_units(client: httpx.AsyncClient, tasking: str, count: int, timeout: float = 60.0) -> None:
    """Poll tasking's read model (its GET /v1/units) until the planner sees every declared PSU."""
    async with asyncio.timeout(timeout):
        while True:
            units = (await client.get(f"{tasking}/v1/units", params={"capability": "PSU"})).raise_for_status().json()
            if len(units["items"]) >= count:
                return
            await asyncio.sleep(0.2)


class ProposalWatcher(ConsumerRebalanceListener):  # type: ignore[misc]
    """Consumes the tasking topic in a fresh group and notes when each request's proposal.created arrives."""

    def __init__(self, bootstrap: str) -> None:
        self.seen: dict[str, tuple[float, float]] = {}  # request id -> (consumed at, event time), epoch seconds
        self._assigned, self._arrived = asyncio.Event(), asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=f"bench-{uuid.uuid4()}", auto_offset_reset="latest",
            enable_auto_commit=False, session_timeout_ms=6000, heartbeat_interval_ms=500, fetch_max_wait_ms=10,
        )  # fmt: skip

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Nothing to do: the watcher commits no offsets."""

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        """Let start() go on."""
        self._assigned.set()

    async def start(self) -> None:
        """Join the group and resolve every position, so that nothing published afterwards is missed."""
        self._consumer.subscribe([TASKING_TOPIC], listener=self)
        await self._consumer.start()
        await asyncio.wait_for(self._assigned.wait(), 30)
        for partition in self._consumer.assignment():
            await self._consumer.position(partition)
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        """Note the wall-clock time at which each proposal.created is consumed."""
        while True:
            batches = await self._consumer.getmany(timeout_ms=1000)
            now = time.time()
            for event in (json.loads(record.value) for records in batches.values() for record in records):
                if event.get("type") == PROPOSAL_CREATED:
                    self.seen.setdefault(event["data"]["request_id"], (now, epoch(event["time"])))
                    self._arrived.set()

    async def wait_for(self, ids: list[str], timeout: float = 60.0) -> None:
        """Wait until every id was proposed, or the timeout passes (the missing show in the counts)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while any(rid not in self.seen for rid in ids):
                    self._arrived.clear()
                    await self._arrived.wait()

    async def stop(self) -> None:
        """Stop consuming and leave the group."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()


async def submit(client: httpx.AsyncClient, number: int) -> Submitted:
    """POST one request; returns its id, the time just before sending and the POST's duration."""
    body = request_body(number)
    sent = time.time()
    response = (await client.post("/v1/requests", json=body)).raise_for_status()
    return str(response.json()["id"]), sent, time.time() - sent


async def submit_at_rate(client: httpx.AsyncClient, count: int, rate: float) -> list[Submitted]:
    """Start one POST every 1/rate seconds against the loop clock, never waiting for earlier answers."""
    loop = asyncio.get_running_loop()
    begin, tasks = loop.time(), []
    for number in range(count):
        await asyncio.sleep(max(0.0, begin + number / rate - loop.time()))
        tasks.append(asyncio.create_task(submit(client, number)))
    return list(await asyncio.gather(*tasks))


async def confirm(client: httpx.AsyncClient, ids: list[str], timeout: float = 30.0) -> dict[str, dict[str, Any]]:
    """GET every request until all reached PROPOSED or beyond, or the timeout passes; returns the details."""
    details: dict[str, dict[str, Any]] = {}
    pending, deadline = list(ids), time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for rid in pending:
            details[rid] = (await client.get(f"/v1/requests/{rid}")).raise_for_status().json()
        pending = [rid for rid in pending if details[rid]["status"] not in REACHED]
        await asyncio.sleep(0.2 if pending else 0)
    return details


def stages(details: dict[str, dict[str, Any]], sent: dict[str, float], seen: dict[str, Any]) -> dict[str, list[float]]:
    """Split each submit->PROPOSED latency at the event times on the request's timeline."""
    split: dict[str, list[float]] = {}
    for rid, detail in details.items():
        at = {item["event_type"]: epoch(item["at"]) for item in detail["timeline"]}
        if rid not in seen or not {"request.submitted", "matching.started", "proposal.created"} <= at.keys():
            continue
        for label, value in (
            ("  POST -> request.submitted", at["request.submitted"] - sent[rid]),
            ("  submitted -> tasking handler", at["matching.started"] - at["request.submitted"]),
            ("  tasking planning", at["proposal.created"] - at["matching.started"]),
            ("  proposal -> bench consumer", seen[rid][0] - seen[rid][1]),
        ):
            split.setdefault(label, []).append(value)
    return split


async def broker_round_trip(bootstrap: str, count: int = 200) -> tuple[list[float], list[float]]:
    """Send small messages one at a time to a fresh 1-partition topic; returns send->consume and send->ack times."""
    topic = f"bench.rtt.{uuid.uuid4().hex[:8]}"
    partition = TopicPartition(topic, 0)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False, linger_ms=0)
    round_trips, acks = [], []

    async def received() -> float:
        await consumer.getone()
        return time.perf_counter()

    try:
        await consumer.start()
        await producer.start()
        consumer.assign([partition])
        await consumer.seek_to_end(partition)
        await consumer.position(partition)
        for number in range(count):
            arrival = asyncio.create_task(received())
            sent = time.perf_counter()
            await producer.send_and_wait(topic, str(number).encode())
            acks.append(time.perf_counter() - sent)
            round_trips.append(await arrival - sent)
    finally:
        await producer.stop()
        await consumer.stop()
    return round_trips, acks


async def bench(stack: Stack, requests: int, rate: float) -> None:
    """Declare units, submit requests at a steady rate, confirm them, time the bare broker, print the figures."""
    assert stack.kafka_bootstrap_servers is not None
    bootstrap, began = stack.kafka_bootstrap_servers, time.monotonic()
    bodies = unit_bodies(per_force=math.ceil((requests + 10) / (len(forces()) - 1)))
    async with httpx.AsyncClient(headers=auth(Role.INTEGRATION), timeout=30) as client:
        for unit_id, body in bodies.items():
            (await client.put(f"{stack.url('availability')}/v1/units/{unit_id}", json=body)).raise_for_status()
        await wait_tasking_has_units(client, stack.url("tasking"), len(bodies))
    print(f"declared {len(bodies)} PSUs; tasking applied them all after {time.monotonic() - began:.1f}s", flush=True)
    watcher = ProposalWatcher(bootstrap)
    operator = auth(Role.OPERATOR, force=REQUESTING_FORCE)
    try:
        await watcher.start()
        async with httpx.AsyncClient(base_url=stack.url("requests"), headers=operator, timeout=30) as client:
            await watcher.wait_for([(await submit(client, 0))[0]])  # warm-up, not counted
            began = time.monotonic()
            submitted = await submit_at_rate(client, requests, rate)
            print(f"submitted {requests} requests in {time.monotonic() - began:.1f}s", flush=True)
            await watcher.wait_for([rid for rid, _, _ in submitted])
            details = await confirm(client, [rid for rid, _, _ in submitted])
    finally:
        await watcher.stop()
    round_trips, acks = await broker_round_trip(bootstrap)
    sent = {rid: at for rid, at, _ in submitted}
    seen = {rid: watcher.seen[rid] for rid in sent if rid in watcher.seen}
    print(line("submit->PROPOSED", [seen[rid][0] - sent[rid] for rid in seen]))
    for label, values in stages(details, sent, seen).items():
        print(line(label, values))
    print(line("HTTP POST /v1/requests", [elapsed for _, _, elapsed in submitted]))
    print(line("broker produce->consume", round_trips))
    print(line("broker produce->ack", acks))
    reached = sum(detail["status"] in REACHED for detail in details.values())
    print(f"reached PROPOSED or beyond (GET): {reached}/{requests}; proposal events consumed: {len(seen)}/{requests}")


async def run(requests: int, rate: float) -> None:
    """Start the stack in a temporary directory, run the benchmark and always stop the stack."""
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mutualaid-bench-") as workdir:
        stack = Stack(workdir=Path(workdir))
        try:
            await stack.start()
            print(f"stack started in {time.monotonic() - began:.1f}s", flush=True)
            await bench(stack, requests, rate)
        finally:
            await stack.stop()
    print(f"total {time.monotonic() - began:.1f}s")


def main() -> None:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200, help="requests to submit (default 200)")
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second (default 20)")
    args = parser.parse_args()
    asyncio.run(run(args.requests, args.rate))


if __name__ == "__main__":
    main()
