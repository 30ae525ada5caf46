"""Reads of the availability service: units with their bookings, policies, and capacity over a period."""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.availability.domain import CapacityLine, ForcePolicy, UnitSnapshot, capacity, status_at
from services.availability.models import BookedUnit, BookingRow, ForcePolicyRow, Unit
from shared.auth import Principal
from shared.db import SessionFactory, within
from shared.errors import NotFound
from shared.events import UnitStatus
from shared.forces import forces
from shared.scopes import check_reads, scope_of
from shared.vocabulary import Capability


async def bookings_of(session: AsyncSession, unit_ids: Iterable[str]) -> dict[str, list[BookingRow]]:
    """Each unit's bookings, earliest first (an entry for every unit asked about)."""
    ids = list(unit_ids)
    found: dict[str, list[BookingRow]] = {unit_id: [] for unit_id in ids}
    query = select(BookingRow).where(col(BookingRow.unit_id).in_(ids)).order_by(col(BookingRow.start))
    for booking in (await session.exec(query)).all():
        found[booking.unit_id].append(booking)
    return found


async def booked(session: AsyncSession, units: list[Unit]) -> list[BookedUnit]:
    """The units with their bookings."""
    bookings = await bookings_of(session, [unit.unit_id for unit in units])
    return [BookedUnit(unit, bookings[unit.unit_id]) for unit in units]


async def get_unit(unit_id: str, *, reader: Principal, sessions: SessionFactory) -> BookedUnit:
    """One unit with its bookings; raises NotFound (404), Forbidden (403) outside the reader's scope."""
    async with sessions() as session:
        unit = await session.get(Unit, unit_id)
        if unit is None:
            raise NotFound(f"no unit {unit_id}")
        [found] = await booked(session, [unit])
    hosts = {booking.host_force for booking in found.bookings}
    check_reads(reader, f"unit {unit_id}", force=unit.force, region=unit.region, parties=hosts)
    return found


async def list_units(
    *,
    reader: Principal,
    sessions: SessionFactory,
    force: str | None,
    capability: Capability | None,
    status: UnitStatus | None,
    now: datetime,
) -> list[BookedUnit]:
    """The units within the reader's scope by force and id, optionally of a force and capability, in a status
    as shown at `now` (COMMITTED: a booking of it has not ended)."""
    hosted = select(BookingRow.unit_id).where(BookingRow.host_force == reader.force)
    scoped = or_(within(scope_of(reader), force=Unit.force, region=Unit.region), col(Unit.unit_id).in_(hosted))
    query = select(Unit).where(scoped).order_by(col(Unit.force), col(Unit.unit_id))
    if force is not None:
        query = query.where(Unit.force == force)
    if capability is not None:
        query = query.where(Unit.capability == capability)
    async with sessions() as session:
        units = await booked(session, list((await session.exec(query)).all()))
    return [u for u in units if status is None or status_at(u.snapshot(), now)[0] == status]


async def booked_pairs(*, sessions: SessionFactory) -> set[tuple[str, str]]:
    """Every (unit id, request id) booking, ended or not: what stand-downs have yet to release."""
    async with sessions() as session:
        rows = (await session.exec(select(BookingRow.unit_id, BookingRow.request_id))).all()
    return {(unit_id, request_id) for unit_id, request_id in rows}


async def get_policy(force: str, *, sessions: SessionFactory) -> ForcePolicyRow:
    async with sessions() as session:
        return await session.get(ForcePolicyRow, force) or ForcePolicyRow(force=force, version=0)


async def capacity_by_force(
    *, sessions: SessionFactory, force_codes: Iterable[str], start: datetime, end: datetime
) -> dict[str, list[CapacityLine]]:
    """Each force's capacity lines over the period (start == end: at that instant), from its units and policy."""
    codes = list(force_codes)
    async with sessions() as session:
        units = await booked(session, list((await session.exec(select(Unit).where(col(Unit.force).in_(codes)))).all()))
        rows = (await session.exec(select(ForcePolicyRow).where(col(ForcePolicyRow.force).in_(codes)))).all()
    policies = {row.force: row.policy() for row in rows}
    by_force: dict[str, list[UnitSnapshot]] = {code: [] for code in codes}
    for unit in units:
        by_force[unit.unit.force].append(unit.snapshot())
    return {code: capacity(by_force[code], policies.get(code, ForcePolicy()), start, end) for code in codes}


def forces_in(region: str | None) -> list[str]:
    return sorted(code for code, force in forces().items() if region is None or force.region == region)
