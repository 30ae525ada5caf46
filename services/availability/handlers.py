"""Event handlers of the availability service: the commit saga (commit all or none) and the release on stand-down."""

from collections import Counter

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.availability.domain import (
    ForcePolicy,
    Tasking,
    commit_failures,
)
from services.availability.models import ForcePolicyRow, Unit
from shared.cloudevents import CloudEvent, follow_up
from shared.events import (
    CommitRejected,
    TaskingApproved,
    TaskingStoodDown,
    UnitsCommitted,
    UnitsReleased,
    UnitStatus,
)
from shared.messaging import UowFactory
from shared.vocabulary import Capability

SOURCE = "/mutualaid/availability"
CONSUMER = "availability"


async def commit_tasking(event: CloudEvent, data: TaskingApproved, *, uow: UowFactory) -> None:
    """Commit every unit of an approved tasking, or none of them (commit.rejected says why)."""
    tasking = Tasking(
        request_id=data.request_id,
        requesting_region=data.requesting_region,
        start=data.start,
        end=data.end,
        unit_ids=[allocation.unit_id for allocation in data.allocations],
    )
    async with uow() as work:
        if await work.already_applied(consumer=CONSUMER, event=event):
            return
        units = await _lock_units(work.session, tasking.unit_ids)
        force_codes = sorted({unit.force for unit in units.values()})
        policies = await _lock_policies(work.session, force_codes)
        available = await _available_counts(work.session, force_codes)
        snapshots = {unit_id: unit.snapshot() for unit_id, unit in units.items()}
        failures = commit_failures(tasking, snapshots, available=available, policies=policies)
        outcome: UnitsCommitted | CommitRejected
        if failures:
            outcome = CommitRejected(request_id=data.request_id, proposal_id=data.proposal_id, failures=failures)
        else:
            for unit in units.values():
                unit.set_status(UnitStatus.COMMITTED, committed_to=data.request_id)
                work.session.add(unit)
            outcome = UnitsCommitted(
                request_id=data.request_id,
                proposal_id=data.proposal_id,
                units=[units[unit_id].state() for unit_id in dict.fromkeys(tasking.unit_ids)],
            )
        work.publish(follow_up(outcome, source=SOURCE, cause=event), outcome)
        await work.commit()


async def _lock_units(session: AsyncSession, unit_ids: list[str]) -> dict[str, Unit]:
    """The units, locked in id order (one order for every transaction, so no deadlock)."""
    query = select(Unit).where(col(Unit.unit_id).in_(unit_ids)).order_by(col(Unit.unit_id)).with_for_update()
    return {unit.unit_id: unit for unit in (await session.exec(query)).all()}


async def _lock_policies(session: AsyncSession, force_codes: list[str]) -> dict[str, ForcePolicy]:
    """Lock the lending forces' policy rows: commits that draw on one force's reserve go one at a time."""
    query = (
        select(ForcePolicyRow)
        .where(col(ForcePolicyRow.force).in_(force_codes))
        .order_by(col(ForcePolicyRow.force))
        .with_for_update()
    )
    return {row.force: row.policy() for row in (await session.exec(query)).all()}


async def _available_counts(session: AsyncSession, force_codes: list[str]) -> Counter[tuple[str, Capability]]:
    query = (
        select(Unit.force, Unit.capability, func.count())
        .where(col(Unit.force).in_(force_codes), Unit.status == UnitStatus.AVAILABLE)
        .group_by(col(Unit.force), col(Unit.capability))
    )
    return Counter({(force, Capability(capability)): n for force, capability, n in (await session.exec(query)).all()})


async def release_units(event: CloudEvent, data: TaskingStoodDown, *, uow: UowFactory) -> None:
    """Stand-down: every unit committed to the request is available again (units.released)."""
    async with uow() as work:
        if await work.already_applied(consumer=CONSUMER, event=event):
            return
        query = select(Unit).where(Unit.committed_to == data.request_id).order_by(col(Unit.unit_id)).with_for_update()
        units = list((await work.session.exec(query)).all())
        for unit in units:
            unit.set_status(UnitStatus.AVAILABLE, committed_to=None)
            work.session.add(unit)
        released = UnitsReleased(request_id=data.request_id, units=[unit.state() for unit in units])
        work.publish(follow_up(released, source=SOURCE, cause=event), released)
        await work.commit()
