"""The fault suite's invariants, read from the services' PostgreSQL databases once the stack has converged.

"Lost" and "duplicated" are counts of events, requests and effects (docs/decisions/0012):

- lost: an accepted request (a 201) the requests service does not hold or that never reached a proposal or a
  recorded shortfall; an outbox row not sent; an event in some service's outbox that a consumer group handles
  and that is not in that consumer's inbox (read from the outboxes, not the broker, which forgets).
- duplicated: a request stored that no 201 named (a retried submission stored twice); a timeline entry of one
  event written twice; an inbox entry twice; a unit booked twice for overlapping periods; two proposals for
  one request in one planning round.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from mutualaid.audit import verify_database
from mutualaid.runner import Stack
from mutualaid.services import SERVICES
from services.availability import queries
from shared import db
from tests.support.builders import SOON
from tests.support.effects import BOOKED_TWICE, PROPOSED_TWICE_IN_ONE_ROUND, consumer_of, rows

TIMELINE_TWICE = "SELECT request_id, event_id FROM request_timeline GROUP BY request_id, event_id HAVING count(*) > 1"
INBOX_TWICE = "SELECT consumer, event_id FROM inbox GROUP BY consumer, event_id HAVING count(*) > 1"
OUTBOX = "SELECT topic, event_type, event_id FROM outbox"
UNSENT = "SELECT event_id FROM outbox WHERE sent_at IS NULL"


@dataclass
class Tally:
    """Counts of what was lost and duplicated, each with a few words on where."""

    lost: int = 0
    duplicated: int = 0
    findings: list[str] = field(default_factory=list)

    def lose(self, what: str, items: Iterable[object]) -> None:
        self._count(what, list(items), duplicated=False)

    def duplicate(self, what: str, items: Iterable[object]) -> None:
        self._count(what, list(items), duplicated=True)

    def _count(self, what: str, items: list[object], *, duplicated: bool) -> None:
        if not items:
            return
        if duplicated:
            self.duplicated += len(items)
        else:
            self.lost += len(items)
        self.findings.append(f"{'duplicated' if duplicated else 'lost'}: {len(items)} {what}, e.g. {items[:3]}")


async def tally(stack: Stack, *, accepted: list[str], unsettled: list[str]) -> Tally:
    """What the stack lost and duplicated, given the ids of the accepted requests and of those not settled."""
    found = Tally()
    stored = {request_id for (request_id,) in await rows(stack.database_url("requests"), "SELECT id FROM request")}
    found.lose("accepted requests not stored", set(accepted) - stored)
    found.lose("accepted requests neither proposed nor recorded short", unsettled)
    found.duplicate("requests stored that no answer named", stored - set(accepted))
    found.duplicate("timeline entries of one event", await rows(stack.database_url("requests"), TIMELINE_TWICE))
    found.duplicate("units booked twice at once", await rows(stack.database_url("availability"), BOOKED_TWICE))
    found.duplicate("proposals in one round", await rows(stack.database_url("tasking"), PROPOSED_TWICE_IN_ONE_ROUND))
    outboxes = {
        s: await rows(stack.database_url(s), "SELECT topic, event_type, event_id FROM outbox") for s in SERVICES
    }
    written = [row for outbox in outboxes.values() for row in outbox]
    for service in SERVICES:
        url = stack.database_url(service)
        found.lose(f"events unsent from {service}'s outbox", await rows(url, UNSENT))
        found.duplicate(f"events twice in {service}'s inbox", await rows(url, INBOX_TWICE))
        consumer = consumer_of(service)
        handled = {
            event_id for topic, kind, event_id in written if topic in consumer.topics and kind in consumer.handlers
        }
        inbox = {event_id for (event_id,) in await rows(url, "SELECT event_id FROM inbox")}
        found.lose(f"events {service} handles missing from its inbox", handled - inbox)
    return found


async def forces_below_reserve(stack: Stack, forces: list[str], reserve: int) -> list[str]:
    """The forces with fewer than `reserve` PSUs free over the load's requests' period (SOON to two days on)."""
    engine = db.create_engine(stack.database_url("availability"))
    try:
        lines = await queries.capacity_by_force(
            sessions=db.session_factory(engine), force_codes=forces, start=SOON, end=SOON + timedelta(days=2)
        )
    finally:
        await engine.dispose()
    return [f"{force}: {line.available} free" for force in forces for line in lines[force] if line.available < reserve]


async def audit_intact(stack: Stack) -> str:
    """'' when tasking's audit chain verifies, else why not."""
    verdict = await verify_database(stack.database_url("tasking"))
    return "" if verdict.intact else f"audit broken at entry {verdict.first_broken}: {verdict.reason}"
