"""Command-line access to the tasking audit trail and decision records, straight from the tasking database,
and to the trail's checkpoints on the broker."""

from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlmodel import col, select

from services.tasking import audit_store, queries
from services.tasking.audit import Checkpoint, Verdict
from services.tasking.audit_archive import checkpoint_of
from services.tasking.config import TaskingSettings
from services.tasking.models import PlanningRun, Proposal
from shared import db
from shared.events import AUDIT_TOPIC


async def verify_database(database_url: str | None = None, checkpoints: Iterable[Checkpoint] = ()) -> Verdict:
    """Verify the chain stored in the tasking database (the configured one unless a URL is given) with the
    configured audit keys (TASKING_AUDIT_KEYS), against the checkpoints given."""
    settings = TaskingSettings()
    engine = db.create_engine(database_url or settings.database_url)
    try:
        sessions = db.session_factory(engine)
        audit_store.carry_keyring(sessions, settings.audit_keyring())
        return await audit_store.verify_trail(sessions=sessions, checkpoints=checkpoints)
    finally:
        await engine.dispose()


async def broker_checkpoints(settings: TaskingSettings | None = None) -> list[Checkpoint]:
    """Every checkpoint on the audit topic, read from its start to its end as it is now (no consumer group).

    Raises aiokafka's KafkaError when the broker cannot be reached. Records that are not checkpoints are
    left out: `verify` ignores checkpoints without a valid signature anyway.
    """
    settings = settings or TaskingSettings()
    topic = settings.namespaced(AUDIT_TOPIC)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False)
    try:
        await consumer.start()
        await consumer.topics()  # loads the cluster's metadata
        partitions = [TopicPartition(topic, number) for number in consumer.partitions_for_topic(topic) or ()]
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        marks: list[Checkpoint] = []
        while [partition for partition in partitions if await consumer.position(partition) < ends[partition]]:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                marks.extend(mark for record in records if (mark := checkpoint_of(record.value)) is not None)
        return marks
    finally:
        await consumer.stop()


async def replay_database(database_url: str | None, proposal_id: str | None) -> list[dict[str, Any]]:
    """Replay the planning run of one proposal, or of every proposal (each run once; runs whose inputs
    were purged are left out)."""
    engine = db.create_engine(database_url or TaskingSettings().database_url)
    sessions = db.session_factory(engine)
    try:
        if proposal_id is not None:
            return [await queries.replay(proposal_id, sessions=sessions)]
        async with sessions() as session:
            rows = await session.exec(
                select(Proposal.id, Proposal.planning_run_id)
                .join(PlanningRun, col(PlanningRun.id) == col(Proposal.planning_run_id))
                .where(col(PlanningRun.inputs_purged_at).is_(None))  # nothing left to replay
                .order_by(col(Proposal.created_at))
            )
            one_per_run = {run_id: pid for pid, run_id in rows.all()}
        return [await queries.replay(pid, sessions=sessions) for pid in one_per_run.values()]
    finally:
        await engine.dispose()
