"""What logs, correlation ids and traces cost: CPU per HTTP request and per event log line, in one process.

Run with `.venv/bin/python benchmarks/observability.py [--requests 3000]`; see benchmarks/README.md.
A one-route FastAPI app is called through httpx (ASGI, no network) without and with the services'
HTTP frame (shared.web.install_observability: correlation id and a JSON access line written to a
file), then with tracing on (spans kept in memory), so the difference is the cost of each.
"""

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from fastapi import FastAPI
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared import logs, tracing
from shared.web import install_observability

ROUNDS = 5


def one_route_app(*, observed: bool) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/things")
    async def create() -> dict[str, str]:
        return {"id": "1"}

    if observed:
        install_observability(app)
    return app


async def cpu_per_request_us(app: FastAPI, requests: int) -> float:
    """CPU time (process_time, microseconds) per POST, after 200 warm-up calls."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        for _ in range(200):
            await client.post("/v1/things")
        started = time.process_time()
        for _ in range(requests):
            await client.post("/v1/things", headers={"X-Correlation-ID": "bench-1"})
        return (time.process_time() - started) / requests * 1e6


def median_of_rounds(requests: int, *, observed: bool) -> float:
    return statistics.median(
        asyncio.run(cpu_per_request_us(one_route_app(observed=observed), requests)) for _ in range(ROUNDS)
    )


def cpu_per_event_line_us(lines: int) -> float:
    """CPU per `handled ...` line as the consumer writes it (JSON, with its fields)."""
    log = logging.getLogger("shared.kafka")
    started = time.process_time()
    for offset in range(lines):
        log.info(
            "handled %s %s from %s[%d]@%d",
            "uk.police.mutualaid.request.submitted.v1", "0b6e", "mutualaid.requests.v1", 0, offset,
            extra={"event_type": "uk.police.mutualaid.request.submitted.v1", "event_id": "0b6e", "consumer": "c"},
        )  # fmt: skip
    return (time.process_time() - started) / lines * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="POSTs per round (default 3000, 5 rounds)")
    requests = parser.parse_args().requests
    with tempfile.TemporaryDirectory() as workdir, (Path(workdir) / "service.log").open("w") as stream:
        root = logging.getLogger()
        root.handlers[:] = [logs.handler(service="bench", log_format="json", stream=stream)]
        root.setLevel(logging.INFO)
        logging.getLogger("httpx").setLevel(logging.WARNING)  # as logs.configure has it: no line per client call
        bare = median_of_rounds(requests, observed=False)
        observed = median_of_rounds(requests, observed=True)
        print(f"HTTP request, bare app                      {bare:6.0f} us CPU (median of {ROUNDS} rounds)")
        print(f"  + correlation id and JSON access line     {observed:6.0f} us CPU  (+{observed - bare:.0f} us)")
        print(f"event handled: one JSON log line            {cpu_per_event_line_us(20000):6.1f} us CPU")
        tracing.configure("bench", exporter=InMemorySpanExporter())
        try:
            bare_traced = median_of_rounds(requests, observed=False)
            traced = median_of_rounds(requests, observed=True)
        finally:
            tracing.reset()
        print(f"tracing on: bare app (httpx client span)    {bare_traced:6.0f} us CPU")
        print(f"  + server span, correlation, access line   {traced:6.0f} us CPU  (+{traced - bare_traced:.0f} us)")


if __name__ == "__main__":
    main()
