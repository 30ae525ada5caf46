"""Event handlers of the availability service: the commit saga (commit all or none) and the release on stand-down."""

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.availability.domain import Booking, ForcePolicy, Tasking, commit_failures
from services.availability.models import BookingRow, ForcePolicyRow, Unit
from services.availability.queries import booked
from shared.cloudevents import CloudEvent, follow_up
from shared.events import CommitRejected, TaskingApproved, TaskingStoodDown, UnitsCommitted, UnitsReleased, UnitState
from shared.messaging import UnitOfWork, UowFactory, utcnow
from shared.vocabulary import Capability

SOURCE = "/mutualaid/availability"
CONSUMER = "availability"


async def commit_tasking(event: CloudEvent, data: TaskingApproved, *, uow: UowFactory) -> None:
    """Book every unit of an approved tasking for its period, travel either side, or none (commit.rejected: why)."""
    tasking = Tasking(
        request_id=data.request_id,
        host_force=data.requesting_force,
        requesting_region=data.requesting_region,
        start=data.start,
        end=data.end,
        unit_ids=[allocation.unit_id for allocation in data.allocations],
        eta_minutes=[allocation.eta_minutes for allocation in data.allocations],
        periods={a.unit_id: (a.start or data.start, a.end or data.end) for a in data.allocations if a.start or a.end},
    )
    async with uow() as work:
        if await work.already_applied(consumer=CONSUMER, event=event):
            return
        units = await _lock_units(work.session, tasking.unit_ids)
        force_codes = sorted({unit.force for unit in units.values()})
        policies = await _lock_policies(work.session, force_codes)
        lenders = await booked(work.session, await _units_of(work.session, force_codes))
        snapshots = {u.unit.unit_id: u.snapshot() for u in lenders if u.unit.unit_id in units}
        receiving = await _received_by(work.session, force_codes)
        failures = commit_failures(
            tasking, snapshots, force_units=[u.snapshot() for u in lenders], policies=policies, receiving=receiving
        )
        outcome: UnitsCommitted | CommitRejected
        if failures:
            outcome = CommitRejected(request_id=data.request_id, proposal_id=data.proposal_id, failures=failures)
        else:
            outcome = UnitsCommitted(
                request_id=data.request_id,
                proposal_id=data.proposal_id,
                units=[await _book(work, units[unit_id], tasking, data.proposal_id) for unit_id in units],
            )
        work.publish(follow_up(outcome, source=SOURCE, cause=event), outcome)
        await work.commit()


async def _book(work: UnitOfWork, unit: Unit, tasking: Tasking, proposal_id: str) -> UnitState:
    """Book the unit for its interval; a booking of it for the same request that overlaps (a tour next to
    its last, an extension) is merged into one, so a unit never holds two bookings at once."""
    start, end = tasking.booking(unit.unit_id)
    query = select(BookingRow).where(BookingRow.unit_id == unit.unit_id, BookingRow.request_id == tasking.request_id)
    for earlier in (await work.session.exec(query)).all():
        if earlier.start <= end and start <= earlier.end:
            start, end = min(start, earlier.start), max(end, earlier.end)
            await work.session.delete(earlier)
    booking = BookingRow(
        unit_id=unit.unit_id,
        request_id=tasking.request_id,
        proposal_id=proposal_id,
        host_force=tasking.host_force,
        start=start,
        end=end,
    )
    work.session.add(booking)
    unit.changed()
    work.session.add(unit)
    await work.session.flush()
    [now_booked] = await booked(work.session, [unit])
    return now_booked.state(utcnow())


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


async def _units_of(session: AsyncSession, force_codes: list[str]) -> list[Unit]:
    return list((await session.exec(select(Unit).where(col(Unit.force).in_(force_codes)))).all())


async def _received_by(session: AsyncSession, force_codes: list[str]) -> list[Booking]:
    """The bookings of units lent to these forces: a force receiving a capability does not lend it meanwhile."""
    query = select(BookingRow, Unit.capability).join(Unit, col(Unit.unit_id) == col(BookingRow.unit_id))
    rows = (await session.exec(query.where(col(BookingRow.host_force).in_(force_codes)))).all()
    return [row.booking(capability=Capability(capability)) for row, capability in rows]


async def release_units(event: CloudEvent, data: TaskingStoodDown, *, uow: UowFactory) -> None:
    """Stand-down: every booking for the request ends, its units are free for it again (units.released)."""
    async with uow() as work:
        if await work.already_applied(consumer=CONSUMER, event=event):
            return
        bookings = (await work.session.exec(select(BookingRow).where(BookingRow.request_id == data.request_id))).all()
        unit_ids = sorted({booking.unit_id for booking in bookings})
        for booking in bookings:
            await work.session.delete(booking)
        units = await _lock_units(work.session, unit_ids)
        for unit in units.values():
            unit.changed()
            work.session.add(unit)
        await work.session.flush()
        now = utcnow()
        released = UnitsReleased(
            request_id=data.request_id, units=[u.state(now) for u in await booked(work.session, list(units.values()))]
        )
        work.publish(follow_up(released, source=SOURCE, cause=event), released)
        await work.commit()
