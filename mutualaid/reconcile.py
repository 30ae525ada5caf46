"""`mutualaid reconcile`: do availability and tasking agree on which units serve which request, and does
every proposal's status agree with the audit trail? Read-only unless asked to repair.

It reads both services' databases (like `mutualaid audit verify`), so it works with the services up
or down. Findings right after a decision may be events still in flight; on a settled system there
are none.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from services.availability import queries as availability
from services.availability.config import AvailabilitySettings
from services.tasking import audit_store, commands, queries
from services.tasking.config import TaskingSettings
from services.tasking.domain import ENDED_STATES
from services.tasking.queries import Holding
from shared import db
from shared.messaging import UnitOfWork

REPAIRABLE = "ended"


@dataclass(frozen=True)
class Finding:
    """One disagreement: its kind (not-held, ended, not-committed, audit), what it is about, what is wrong,
    and the request it concerns."""

    kind: str
    subject: str
    detail: str
    request_id: str | None = None

    def __str__(self) -> str:
        return f"{self.kind:<13} {self.subject}: {self.detail}"


def compare(booked: set[tuple[str, str]], holdings: Mapping[str, Holding]) -> list[Finding]:
    """The (unit, request) bookings availability holds against what tasking holds for each request."""
    findings = []
    for unit_id, request_id in sorted(booked):
        holding = holdings.get(request_id)
        if holding is not None and holding.state in ENDED_STATES:
            detail = f"COMMITTED to {request_id}, which tasking has {holding.state.value}: its release is due"
            findings.append(Finding(REPAIRABLE, unit_id, detail, request_id))
        elif holding is None or unit_id not in holding.committed | holding.approved:
            detail = f"COMMITTED to {request_id}, which tasking does not hold it for (no approval, not committed)"
            findings.append(Finding("not-held", unit_id, detail, request_id))
    for request_id, holding in sorted(holdings.items()):
        for unit_id in sorted(holding.committed):
            if (unit_id, request_id) not in booked:
                others = sorted(request for unit, request in booked if unit == unit_id)
                where = f"booked for {', '.join(others)}" if others else "not booked"
                detail = f"tasking counts it committed to {request_id}; availability has it {where}"
                findings.append(Finding("not-committed", unit_id, detail, request_id))
    return findings


@dataclass(frozen=True)
class Databases:
    availability: str
    tasking: str

    @classmethod
    def configured(cls, availability_url: str | None = None, tasking_url: str | None = None) -> "Databases":
        return cls(
            availability=availability_url or AvailabilitySettings().database_url,
            tasking=tasking_url or TaskingSettings().database_url,
        )


async def reconcile(databases: Databases) -> list[Finding]:
    """Every finding on the two databases, units first, then proposals against the audit trail."""
    availability_engine, tasking_engine = db.create_engine(databases.availability), db.create_engine(databases.tasking)
    try:
        booked = await availability.booked_pairs(sessions=db.session_factory(availability_engine))
        tasking = db.session_factory(tasking_engine)
        findings = compare(booked, await queries.holdings(sessions=tasking))
        return findings + await _against_the_trail(tasking)
    finally:
        await availability_engine.dispose()
        await tasking_engine.dispose()


async def repair(databases: Databases, findings: list[Finding]) -> list[str]:
    """Release again the units of ended requests (the one repair that is always safe); returns the requests."""
    requests = sorted({f.request_id for f in findings if f.kind == REPAIRABLE and f.request_id})
    engine = db.create_engine(databases.tasking)
    sessions = db.session_factory(engine)
    audit_store.carry_keyring(sessions, TaskingSettings().audit_keyring())  # each release is audited
    try:
        released = []
        for request_id in requests:
            if await commands.release_again(request_id, by="mutualaid reconcile", uow=lambda: UnitOfWork(sessions)):
                released.append(request_id)
        return released
    finally:
        await engine.dispose()


async def _against_the_trail(sessions: db.SessionFactory) -> list[Finding]:
    return [
        Finding("audit", proposal_id, detail)
        for proposal_id, detail in (await queries.proposals_disagreeing_with_trail(sessions=sessions)).items()
    ]
