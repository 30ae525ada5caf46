"""A declaration racing a tasking commit: one of them wins whole, the other is refused, on both databases."""

import asyncio
import json
import uuid
from collections.abc import Callable
from datetime import timedelta

from sqlmodel import col, select

from services.availability import commands, handlers
from services.availability.bootstrap import MIGRATIONS
from services.availability.models import Unit
from services.availability.queries import bookings_of
from services.availability.schemas import UnitDeclare
from shared import db, migrations
from shared.auth import Principal, Role
from shared.cloudevents import new_event
from shared.errors import Conflict
from shared.events import Allocation, TaskingApproved, UnitStatus
from shared.messaging import OutboxMessage, UnitOfWork
from shared.vocabulary import Capability
from tests.support.builders import SOON, unit_body

INTEGRATION = Principal(sub="duty-system", role=Role.INTEGRATION)
UNIT = "staffordshire-psu-race"


def held_until(go: asyncio.Event, sessions: db.SessionFactory) -> Callable[[], UnitOfWork]:
    """Units of work that read and change their rows at once but commit only when `go` is set."""

    class Held(UnitOfWork):
        async def commit(self) -> None:
            await go.wait()
            await super().commit()

    return lambda: Held(sessions)


def approval(request_id: str) -> TaskingApproved:
    allocation = Allocation(
        unit_id=UNIT, force="staffordshire", capability=Capability.PSU, eta_minutes=60, distance_km=40
    )
    return TaskingApproved(
        request_id=request_id,
        proposal_id=str(uuid.uuid4()),
        requesting_force="west-midlands",
        requesting_region="West Midlands",
        start=SOON,
        end=SOON + timedelta(days=1),
        allocations=[allocation],
        approved_by="coordinator",
    )


def published_states(events: list[OutboxMessage]) -> list[tuple[int, str]]:
    """(version, status) of every state of the unit the service announced."""
    states = []
    for event in events:
        data = json.loads(event.payload)["data"]
        for unit in [data["unit"]] if "unit" in data else data.get("units", []):
            states.append((unit["version"], unit["status"]))
    return states


async def test_a_declaration_never_overwrites_a_commit_made_while_it_was_in_flight(database_url: str) -> None:
    await migrations.upgrade(script_location=MIGRATIONS, database_url=database_url)
    engine = db.create_engine(database_url)
    sessions = db.session_factory(engine)
    plain = lambda: UnitOfWork(sessions)  # noqa: E731
    try:
        await commands.declare_unit(
            UNIT, UnitDeclare.model_validate(unit_body()), principal=INTEGRATION, if_match=None, uow=plain
        )
        go = asyncio.Event()
        unavailable = UnitDeclare.model_validate(unit_body(status="UNAVAILABLE"))
        declaring = asyncio.create_task(
            commands.declare_unit(UNIT, unavailable, principal=INTEGRATION, if_match=None, uow=held_until(go, sessions))
        )
        await asyncio.sleep(0.3)  # the declaration has read the unit and waits to commit
        data = approval(str(uuid.uuid4()))
        committing = asyncio.create_task(handlers.commit_tasking(new_event(data, source="/race"), data, uow=plain))
        await asyncio.sleep(0.5)
        go.set()
        declared, _ = await asyncio.gather(declaring, committing, return_exceptions=True)
        async with sessions() as session:
            unit = await session.get(Unit, UNIT)
            booked = [b.request_id for b in (await bookings_of(session, [UNIT]))[UNIT]]
            events = list((await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all())
    finally:
        await engine.dispose()

    assert unit is not None
    if booked:
        assert booked == [data.request_id]
        assert unit.status == UnitStatus.AVAILABLE  # as declared; booked for the request
        assert isinstance(declared, Conflict), declared
    else:
        assert unit.status == UnitStatus.UNAVAILABLE
        assert events[-1].event_type.endswith("commit.rejected.v1")
    states = published_states(events)
    assert len({version for version, _ in states}) == len(states), f"two states share a version: {states}"
    assert states[-1] == (unit.version, "COMMITTED" if booked else unit.status.value)
