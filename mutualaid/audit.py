"""Command-line access to the tasking audit trail, straight from the tasking database."""

from services.tasking import audit_store
from services.tasking.audit import Verdict
from services.tasking.config import TaskingSettings
from shared import db


async def verify_database(database_url: str | None = None) -> Verdict:
    """Verify the chain stored in the tasking database (the configured one unless a URL is given)."""
    engine = db.create_engine(database_url or TaskingSettings().database_url)
    try:
        return await audit_store.verify_trail(sessions=db.session_factory(engine))
    finally:
        await engine.dispose()
