"""Command-line access to the tasking audit trail and decision records, straight from the tasking database."""

from typing import Any

from sqlmodel import col, select

from services.tasking import audit_store, queries
from services.tasking.audit import Verdict
from services.tasking.config import TaskingSettings
from services.tasking.models import PlanningRun, Proposal
from shared import db


async def verify_database(database_url: str | None = None) -> Verdict:
    """Verify the chain stored in the tasking database (the configured one unless a URL is given)."""
    engine = db.create_engine(database_url or TaskingSettings().database_url)
    try:
        return await audit_store.verify_trail(sessions=db.session_factory(engine))
    finally:
        await engine.dispose()


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
