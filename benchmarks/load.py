"""What latency.py drives the stack with: unit declarations, paced submissions, the proposal watcher, the bare broker.

Times are wall-clock seconds (time.time()) so that they compare with the events' `time` fields.
"""

import asyncio
import contextlib
import json
import statistics
import time
import uuid
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.auth import Role, development_token
from shared.events import TASKING_TOPIC
from shared.settings import CommonSettings

PROPOSAL_CREATED = "uk.police.mutualaid.proposal.created.v1"
REQUEST_UNFILLED = "uk.police.mutualaid.request.unfilled.v1"
REACHED = {"PROPOSED", "APPROVED", "MOBILISED"}
T = TypeVar("T")
Submitted = tuple[str, float, float]  # request id, wall-clock time just before the POST, POST duration


def auth(role: Role, force: str | None = None) -> dict[str, str]:
    """An Authorization header for a bench principal."""
    token = development_token(CommonSettings(), sub=f"bench-{role.value}", role=role, force=force)
    return {"Authorization": f"Bearer {token}"}


def epoch(value: str) -> float:
    """An RFC 3339 timestamp as epoch seconds (comparable with time.time() on this machine)."""
    return datetime.fromisoformat(value).timestamp()


def percentiles(seconds: Iterable[float]) -> dict[str, float]:
    """p50, p90, p99 and max of durations in seconds, in milliseconds; empty for fewer than 2 samples."""
    ms = sorted(value * 1000 for value in seconds)
    if len(ms) < 2:
        return {}
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return {"p50": q[49], "p90": q[89], "p99": q[98], "max": ms[-1]}


def line(label: str, seconds: list[float]) -> str:
    """One labelled line of percentiles in milliseconds."""
    figures = percentiles(seconds)
    if not figures:
        return f"{label:<30} n={len(seconds)}  (too few samples)"
    shown = "  ".join(f"{name}={value:6.1f} ms" for name, value in figures.items() if name != "max")
    return f"{label:<30} n={len(seconds):<4} {shown}  max={figures['max']:6.1f} ms"


async def put_units(client: httpx.AsyncClient, availability: str, bodies: dict[str, dict[str, Any]]) -> None:
    """Declare (or update) units through the availability API, 8 calls in flight."""
    gate = asyncio.Semaphore(8)

    async def put(unit_id: str, body: dict[str, Any]) -> None:
        async with gate:
            (await client.put(f"{availability}/v1/units/{unit_id}", json=body)).raise_for_status()

    await asyncio.gather(*(put(unit_id, body) for unit_id, body in bodies.items()))


async def wait_tasking_has_units(client: httpx.AsyncClient, tasking: str, count: int, timeout: float = 120.0) -> None:
    """Poll tasking's read model (its GET /v1/units) until the planner sees `count` units."""
    async with asyncio.timeout(timeout):
        while True:
            units = (await client.get(f"{tasking}/v1/units")).raise_for_status().json()
            if len(units["items"]) >= count:
                return
            await asyncio.sleep(0.2)


class ProposalWatcher(ConsumerRebalanceListener):  # type: ignore[misc]
    """Consumes the tasking topic in a fresh group and notes when each request's first proposal.created arrives."""

    def __init__(self, bootstrap: str) -> None:
        self.seen: dict[str, tuple[float, float]] = {}  # request id -> (consumed at, event time), epoch seconds
        self.unfilled: set[str] = set()  # requests whose first planning found nothing: no proposal to wait for
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
        self._consumer.subscribe([CommonSettings().namespaced(TASKING_TOPIC)], listener=self)
        await self._consumer.start()
        await asyncio.wait_for(self._assigned.wait(), 30)
        for partition in self._consumer.assignment():
            await self._consumer.position(partition)
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=1000)
            now = time.time()
            for event in (json.loads(record.value) for records in batches.values() for record in records):
                if event.get("type") == PROPOSAL_CREATED:
                    self.seen.setdefault(event["data"]["request_id"], (now, epoch(event["time"])))
                    self._arrived.set()
                elif event.get("type") == REQUEST_UNFILLED and not event["data"].get("partially_filled"):
                    self.unfilled.add(event["data"]["request_id"])
                    self._arrived.set()

    async def wait_for(self, ids: list[str], timeout: float = 60.0) -> None:
        """Wait until every id was proposed, or the timeout passes (the missing show in the counts)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while any(rid not in self.seen and rid not in self.unfilled for rid in ids):
                    self._arrived.clear()
                    await self._arrived.wait()

    async def stop(self) -> None:
        """Stop consuming and leave the group."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()


async def submit(client: httpx.AsyncClient, body: dict[str, Any]) -> Submitted:
    """POST one request; returns its id, the time just before sending and the POST's duration."""
    sent = time.time()
    response = (await client.post("/v1/requests", json=body)).raise_for_status()
    return str(response.json()["id"]), sent, time.time() - sent


async def paced(count: int, rate: float, call: Callable[[int], Coroutine[Any, Any, T]]) -> list[T]:
    """Start call(i) every 1/rate seconds against the loop clock, never waiting for earlier answers."""
    loop = asyncio.get_running_loop()
    begin, tasks = loop.time(), list[asyncio.Task[T]]()
    for number in range(count):
        await asyncio.sleep(max(0.0, begin + number / rate - loop.time()))
        tasks.append(asyncio.create_task(call(number)))
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


STAGES = (
    "  POST -> request.submitted",
    "  submitted -> tasking handler",
    "  tasking planning",
    "  proposal -> bench consumer",
)


def stages(details: dict[str, dict[str, Any]], sent: dict[str, float], seen: dict[str, Any]) -> dict[str, list[float]]:
    """Split each submit->PROPOSED latency at the event times on the request's timeline."""
    split: dict[str, list[float]] = {label: [] for label in STAGES}
    for rid, detail in details.items():
        at: dict[str, float] = {}
        for item in detail["timeline"]:
            at.setdefault(item["event_type"], epoch(item["at"]))
        if rid not in seen or not {"request.submitted", "matching.started", "proposal.created"} <= at.keys():
            continue
        values = (
            at["request.submitted"] - sent[rid],
            at["matching.started"] - at["request.submitted"],
            at["proposal.created"] - at["matching.started"],
            seen[rid][0] - seen[rid][1],
        )
        for label, value in zip(STAGES, values, strict=True):
            split[label].append(value)
    return split


@dataclass
class Run:
    """The outcome of one paced load: what was submitted, when each proposal arrived, and the stages."""

    label: str
    rate: float  # requests offered per second
    submitted: list[Submitted]
    seen: dict[str, tuple[float, float]]
    split: dict[str, list[float]]
    reached: int
    unfilled: int = 0  # requests left wholly unfilled by their planning (nothing to propose)
    broker: tuple[list[float], list[float]] = field(default_factory=lambda: ([], []))  # produce->consume, ->ack

    def latencies(self) -> list[float]:
        """submit->PROPOSED of each proposed request, in submission order (seconds)."""
        return [self.seen[rid][0] - sent for rid, sent, _ in self.submitted if rid in self.seen]

    def p99(self) -> float:
        """submit->PROPOSED p99 in seconds (inf when too few were proposed)."""
        figures = percentiles(self.latencies())
        return figures["p99"] / 1000 if figures else float("inf")

    def backlog_grew(self) -> bool:
        """True when requests went unproposed, or the last quarter's median latency exceeds 1.5 times the first
        quarter's plus 250 ms: the service fell behind the offered rate instead of keeping pace with it."""
        latencies = self.latencies()
        if len(latencies) + self.unfilled < len(self.submitted) or len(latencies) < 8:
            return True
        quarter = len(latencies) // 4
        first, last = statistics.median(latencies[:quarter]), statistics.median(latencies[-quarter:])
        return last > 1.5 * first + 0.25

    def print(self) -> None:
        """Every figure of the run, one line each."""
        print(line("submit->PROPOSED", self.latencies()))
        for label, values in self.split.items():
            print(line(label, values))
        print(line("HTTP POST /v1/requests", [elapsed for _, _, elapsed in self.submitted]))
        print(line("broker produce->consume", self.broker[0]))
        print(line("broker produce->ack", self.broker[1]))
        n = len(self.submitted)
        print(f"reached PROPOSED or beyond (GET): {self.reached}/{n}; proposal events consumed: {len(self.seen)}/{n}")
        if self.unfilled:
            print(f"wholly unfilled (request.unfilled, no proposal): {self.unfilled}/{n}")


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
