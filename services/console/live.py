"""Live updates: every event on the three topics, passed on to the open pages (server-sent events).

The console keeps no state: a consumer of its own (no group, from the end of each topic) reads the
events and hands each page a short notice (event type and subject); the page then fetches what it
shows again from the services. A page that misses a notice is corrected by the next one.
"""

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Sequence

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError

from shared.events import AUDIT_TOPIC, TOPICS
from shared.kafka import stop_consumer
from shared.settings import CommonSettings

log = logging.getLogger(__name__)


class Hub:
    """Fans notices out to every open page; a slow page loses old notices, never blocks the others."""

    def __init__(self, *, limit: int = 200) -> None:
        self._pages: set[asyncio.Queue[str]] = set()
        self.limit = limit

    @property
    def crowded(self) -> bool:
        """As many pages follow as this process serves: one more is turned away (it still works, not live)."""
        return len(self._pages) >= self.limit

    def publish(self, notice: str) -> None:
        for queue in self._pages:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(notice)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[str]]:
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=100)
        self._pages.add(queue)
        try:
            yield queue
        finally:
            self._pages.discard(queue)


async def follow_events(settings: CommonSettings, hub: Hub) -> None:
    """Read every topic from its end and publish a notice per event, until cancelled; reconnects on errors."""
    while True:
        consumer = AIOKafkaConsumer(
            *(settings.namespaced(topic) for topic in TOPICS if topic != AUDIT_TOPIC),  # nothing on a page shows
            bootstrap_servers=settings.kafka_bootstrap_servers,
            auto_offset_reset="latest",
            enable_auto_commit=False,
            fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
        )
        try:
            await consumer.start()
            async for record in consumer:
                hub.publish(json.dumps(notice_of(record.headers, record.key)))
        except KafkaError as error:
            log.warning("live updates paused, the broker is not answering: %s", error)
            await asyncio.sleep(1.0)
        finally:
            await stop_consumer(consumer)


def notice_of(headers: Sequence[tuple[str, bytes]] | None, key: bytes | None) -> dict[str, str]:
    """The event's type (its ce_type header) and subject (the record key: a request or unit id)."""
    found = {name: value.decode("utf-8", "replace") for name, value in headers or ()}
    return {"type": found.get("ce_type", ""), "subject": (key or b"").decode("utf-8", "replace")}
