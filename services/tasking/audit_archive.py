"""The audit trail's checkpoints kept in a file outside the database, as the broker carried them (ADR 0015).

A checkpoint reaches the broker through tasking's outbox, in the database. A broker that comes back empty is sent
again what the outbox still holds, and someone who can write to the database can first delete the newest entries
and the outbox rows of their checkpoints: the broker's history is then rebuilt without them. The archive is
written as each checkpoint is read from the broker, appended and synced, never rewritten, so what the broker
once carried stays: `mutualaid audit verify` checks the trail against it.
"""

import asyncio
import json
import logging
import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError

from services.tasking.audit import Checkpoint
from shared.cloudevents import InvalidEvent, parse
from shared.events import AUDIT_TOPIC, AuditCheckpointed
from shared.settings import CommonSettings

ARCHIVE_NAME = "audit-checkpoints.jsonl"  # the file `mutualaid run` keeps in its state directory
log = logging.getLogger(__name__)


def checkpoint_of(value: bytes | None) -> Checkpoint | None:
    """The checkpoint a record of the audit topic carries; None for anything else."""
    try:
        event, data = parse(value or b"")
    except InvalidEvent:
        return None
    if not isinstance(data, AuditCheckpointed):
        return None
    return Checkpoint(
        seq=data.seq, hash=data.head_hash, at=event.time, key_version=data.key_version, signature=data.signature
    )


def checkpoint_line(mark: Checkpoint) -> str:
    """A checkpoint as one line of JSON, as the archive and `mutualaid audit checkpoints` write them."""
    return json.dumps(
        {
            "seq": mark.seq,
            "hash": mark.hash,
            "at": mark.at.isoformat(),
            "key_version": mark.key_version,
            "signature": mark.signature,
        }
    )


def read_checkpoints(path: Path) -> list[Checkpoint]:
    """Checkpoints from a JSON-lines file (checkpoint_line); ValueError names the first line that is not one."""
    marks = []
    for number, text in enumerate(path.read_text().splitlines(), start=1):
        if not text.strip():
            continue
        try:
            fields = json.loads(text)
            marks.append(
                Checkpoint(
                    seq=int(fields["seq"]),
                    hash=str(fields["hash"]),
                    at=datetime.fromisoformat(fields["at"]),
                    key_version=int(fields["key_version"]),
                    signature=str(fields["signature"]),
                )
            )
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path}:{number} is not a checkpoint: {error}") from error
    return marks


class CheckpointArchive:
    """An append-only JSON-lines file of checkpoints, each (seq, hash) once, synced to disk as it grows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._kept = {(mark.seq, mark.hash) for mark in read_checkpoints(path)} if path.exists() else set()

    def keep(self, marks: Iterable[Checkpoint]) -> int:
        """Append the checkpoints not kept yet; how many were new. Raises OSError when the file cannot be written."""
        new: list[Checkpoint] = []
        for mark in marks:
            if (mark.seq, mark.hash) not in self._kept:
                self._kept.add((mark.seq, mark.hash))
                new.append(mark)
        if new:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as archive:
                archive.write("".join(checkpoint_line(mark) + "\n" for mark in new))
                archive.flush()
                os.fsync(archive.fileno())
        return len(new)


async def archive_checkpoints(settings: CommonSettings, archive: CheckpointArchive, *, retry_s: float = 2.0) -> None:
    """Follow the audit topic for ever, keeping each checkpoint in the archive. Reads the topic from its start
    (what is kept already is skipped), and from its start again when the broker lost it (an embedded broker that
    restarted empty); waits for the topic and for the broker, whose outages it outlasts."""
    topic = settings.namespaced(AUDIT_TOPIC)
    while True:
        consumer = AIOKafkaConsumer(
            topic,  # no group: every partition, from the start (no offsets are committed), the topic once it exists
            bootstrap_servers=settings.kafka_bootstrap_servers,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            metadata_max_age_ms=int(retry_s * 1000),
        )
        try:
            await consumer.start()
            while True:
                batches = await consumer.getmany(timeout_ms=1000)
                marks = [mark for records in batches.values() for r in records if (mark := checkpoint_of(r.value))]
                if marks:
                    await asyncio.to_thread(archive.keep, marks)
        except KafkaError as error:
            log.warning("audit archive: cannot read %s (%s); trying again in %.0f s", topic, error, retry_s)
        finally:
            await consumer.stop()
        await asyncio.sleep(retry_s)
