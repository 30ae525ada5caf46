"""One function per command or event; each owns its transaction."""

from collections.abc import Callable
from typing import Any

from sqlmodel import col, select

from services.availability.domain import UnitSnapshot, check_window, commit_failures
from services.availability.models import Unit
from services.availability.schemas import UnitDeclare
from shared.auth import Principal
from shared.cloudevents import CloudEvent, follow_up, new_event
from shared.db import SessionFactory, list_matching
from shared.errors import Conflict, Forbidden, NotFound
from shared.events import (
    CommitRejected,
    TaskingApproved,
    UnitDeclared,
    UnitsCommitted,
    UnitState,
    UnitStatus,
    UnitUpdated,
)
from shared.forces import region_of
from shared.messaging import UnitOfWork, utcnow
from shared.vocabulary import Capability

SOURCE = "/mutualaid/availability"
CONSUMER = "availability"

UowFactory = Callable[[], UnitOfWork]

DECLARED_FIELDS = ("force", "capability", "readiness_minutes", "available_from", "available_until")


async def declare_unit(unit_id: str, body: UnitDeclare, *, principal: Principal, uow: UowFactory) -> tuple[Unit, bool]:
    """Declare a unit or update its declaration; returns (unit, created). Emits its full state."""
    if not principal.acts_for_force(body.force):
        raise Forbidden(f"a resource manager of {principal.force} cannot declare units of {body.force}")
    check_window(body.available_from, body.available_until)
    async with uow() as work:
        unit = await work.session.get(Unit, unit_id, with_for_update=True)
        created = unit is None
        if unit is None:
            unit = Unit(unit_id=unit_id, **_declared(body))
            data: UnitDeclared | UnitUpdated = UnitDeclared(unit=unit_state(unit))
        else:
            if not principal.acts_for_force(unit.force):
                raise Forbidden(f"unit {unit_id} belongs to {unit.force}")
            if unit.status == UnitStatus.COMMITTED:
                raise Conflict(f"unit {unit_id} is committed to request {unit.committed_to}; recall it first")
            changes = {k: v for k, v in _declared(body).items() if getattr(unit, k) != v}
            if not changes:
                return unit, False
            for field, value in changes.items():
                setattr(unit, field, value)
            unit.version += 1
            unit.updated_at = utcnow()
            data = UnitUpdated(unit=unit_state(unit))
        work.session.add(unit)
        work.publish(new_event(data, source=SOURCE), data)
        await work.commit()
        return unit, created


def _declared(body: UnitDeclare) -> dict[str, Any]:
    return {
        **{field: getattr(body, field) for field in DECLARED_FIELDS},
        "region": region_of(body.force),
        "base_lat": body.base.lat,
        "base_lon": body.base.lon,
        "base_description": body.base.description,
    }


def unit_state(unit: Unit) -> UnitState:
    """The full state of a unit as every availability event carries it."""
    return UnitState.model_validate(
        {
            **unit.model_dump(),
            "base": {"lat": unit.base_lat, "lon": unit.base_lon, "description": unit.base_description},
        }
    )


async def get_unit(unit_id: str, *, sessions: SessionFactory) -> Unit:
    async with sessions() as session:
        unit = await session.get(Unit, unit_id)
        if unit is None:
            raise NotFound(f"no unit {unit_id}")
        return unit


async def list_units(
    *, sessions: SessionFactory, force: str | None, capability: Capability | None, status: UnitStatus | None
) -> list[Unit]:
    query = select(Unit).order_by(col(Unit.force), col(Unit.unit_id))
    return await list_matching(
        sessions, query, [(Unit.force, force), (Unit.capability, capability), (Unit.status, status)]
    )


async def commit_tasking(event: CloudEvent, data: TaskingApproved, *, uow: UowFactory) -> None:
    """Commit every unit of an approved tasking, or none of them (commit.rejected says why)."""
    wanted = [allocation.unit_id for allocation in data.allocations]
    async with uow() as work:
        if await work.already_applied(consumer=CONSUMER, event=event):
            return
        rows = await work.session.exec(select(Unit).where(col(Unit.unit_id).in_(wanted)).with_for_update())
        units = {unit.unit_id: unit for unit in rows.all()}
        snapshots = {unit_id: _snapshot(unit) for unit_id, unit in units.items()}
        failures = commit_failures(wanted, snapshots, start=data.start, end=data.end)
        outcome: UnitsCommitted | CommitRejected
        if failures:
            outcome = CommitRejected(request_id=data.request_id, proposal_id=data.proposal_id, failures=failures)
        else:
            for unit in units.values():
                unit.status = UnitStatus.COMMITTED
                unit.committed_to = data.request_id
                unit.version += 1
                unit.updated_at = utcnow()
                work.session.add(unit)
            outcome = UnitsCommitted(
                request_id=data.request_id,
                proposal_id=data.proposal_id,
                units=[unit_state(units[unit_id]) for unit_id in wanted],
            )
        work.publish(follow_up(outcome, source=SOURCE, cause=event), outcome)
        await work.commit()


def _snapshot(unit: Unit) -> UnitSnapshot:
    return UnitSnapshot(
        unit_id=unit.unit_id,
        status=UnitStatus(unit.status),
        available_from=unit.available_from,
        available_until=unit.available_until,
        committed_to=unit.committed_to,
    )
