"""Commands from the availability API: declare, replace, set policy, recall; each owns its transaction."""

from collections import Counter
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.availability.domain import (
    check_declarable,
    check_recallable,
    check_version,
    merge_windows,
)
from services.availability.models import BookedUnit, BookingRow, ForcePolicyRow, Unit
from services.availability.queries import bookings_of
from services.availability.schemas import (
    PolicyBody,
    ReplacementOutcome,
    ReplacementResult,
    UnitDeclare,
    UnitDeclareWithId,
    UnitOutcome,
)
from shared.auth import Principal
from shared.cloudevents import EventData, new_event
from shared.db import retry_on_conflict
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from shared.events import (
    PolicyUpdated,
    UnitDeclared,
    UnitsRecalled,
    UnitStatus,
    UnitUpdated,
    UnitWithdrawn,
)
from shared.forces import region_of
from shared.messaging import UnitOfWork, UowFactory, utcnow
from shared.vocabulary import GeoPointInput, WindowInput

SOURCE = "/mutualaid/availability"


def _check_force(principal: Principal, force: str) -> None:
    if not principal.acts_for_force(force):
        raise Forbidden(f"a {principal.role.value} of {principal.force} cannot act for {force}")


@retry_on_conflict
async def declare_unit(
    unit_id: str,
    body: UnitDeclare,
    *,
    principal: Principal,
    if_match: int | None,
    uow: UowFactory,
    create_only: bool = False,
) -> tuple[BookedUnit, bool]:
    """Declare a unit or update its declaration; returns (unit, created). Emits its full state.

    if_match (or the body's version) refuses an update of another version, create_only refuses
    any update (both PreconditionFailed, 412); a booked unit cannot be redeclared (Conflict, 409).
    """
    _check_force(principal, body.force)
    async with uow() as work:
        unit = await work.session.get(Unit, unit_id, with_for_update=True)
        if unit is not None:
            _check_force(principal, unit.force)
        expected = if_match if if_match is not None else body.version
        check_version(unit.version if unit else None, expected, create_only=create_only)
        created = unit is None
        bookings = (await bookings_of(work.session, [unit_id]))[unit_id]
        unit, data, _ = _apply_declaration(unit_id, unit, body, bookings, now=utcnow())
        if data is not None:
            work.session.add(unit)
            work.publish(new_event(data, source=SOURCE), data)
            await work.commit()
        return BookedUnit(unit, bookings), created


def _apply_declaration(
    unit_id: str, unit: Unit | None, body: UnitDeclare, bookings: list[BookingRow], *, now: datetime
) -> tuple[Unit, EventData | None, list[str]]:
    """The unit after the declaration, the event announcing it (None when nothing changed), and the declared
    fields it changed of a unit declared before, as the API names them (base, windows, ...)."""
    check_declarable(body.status, tuple(booking.booking() for booking in bookings), now)
    fields = _declared_fields(body)
    if unit is None:
        unit = Unit(unit_id=unit_id, **fields)
        return unit, UnitDeclared(unit=unit.state(bookings, now)), []
    changes = {name: value for name, value in fields.items() if getattr(unit, name) != value}
    if not changes:
        return unit, None, []
    for name, value in changes.items():
        setattr(unit, name, value)
    unit.changed()
    withdrawn = changes.get("status") == UnitStatus.WITHDRAWN
    event = (UnitWithdrawn if withdrawn else UnitUpdated)(unit=unit.state(bookings, now))
    return unit, event, sorted({_API_NAMES.get(name, name) for name in changes} - {"region", "available_until"})


_API_NAMES = {"base_lat": "base", "base_lon": "base", "base_description": "base", "available_from": "windows"}


def _declared_fields(body: UnitDeclare) -> dict[str, Any]:
    windows = merge_windows(body.availability())
    return {
        "force": body.force,
        "region": region_of(body.force),
        "capability": body.capability,
        "base_lat": body.base.lat,
        "base_lon": body.base.lon,
        "base_description": body.base.description,
        "readiness_minutes": body.readiness_minutes,
        "available_from": windows[0].start,
        "available_until": windows[-1].end,
        "windows": windows,
        "scope": body.scope,
        "status": body.status,
    }


@retry_on_conflict
async def replace_force_units(
    force: str, items: list[UnitDeclareWithId], *, principal: Principal, uow: UowFactory, dry_run: bool = False
) -> ReplacementResult:
    """Replace a force's declared set in one transaction: units left out are withdrawn, and a unit booked now
    (a booking not yet ended) is kept as it is, its bookings untouched, whatever the file says of it (named,
    changed, marked COMMITTED or left out), so a duty system's nightly export can run during an operation.
    `dry_run`: the same answer, nothing changed. The answer says what happened to each unit.

    Raises InvalidInput (422: a unit of another force, repeated, or a new unit declared COMMITTED) and Conflict
    (409: an id another force uses)."""
    _check_force(principal, force)
    _check_replacement(force, items)
    outcomes: list[UnitOutcome] = []
    now = utcnow()
    async with uow() as work:
        rows = await work.session.exec(select(Unit).where(Unit.force == force).with_for_update())
        existing = {unit.unit_id: unit for unit in rows.all()}
        await _check_foreign_ids(work.session, force, [item.unit_id for item in items if item.unit_id not in existing])
        bookings = await bookings_of(work.session, [*existing, *(item.unit_id for item in items)])
        live = {unit_id: _live_booking(bookings[unit_id], now) for unit_id in existing}
        named = {item.unit_id for item in items}
        for item in items:
            booking = live.get(item.unit_id)
            if booking is not None:
                outcomes.append(_kept(item.unit_id, booking))
                continue
            before = existing.get(item.unit_id)
            unit, data, changed = _apply_declaration(item.unit_id, before, item, bookings[item.unit_id], now=now)
            outcomes.append(_outcome(item.unit_id, before is None, data, changed))
            _stage(work, unit, data)
        for unit in existing.values():
            if unit.unit_id in named or unit.status == UnitStatus.WITHDRAWN:
                continue
            booking = live[unit.unit_id]
            if booking is not None:
                outcomes.append(_kept(unit.unit_id, booking))
                continue
            withdrawn, data, _ = _apply_declaration(
                unit.unit_id, unit, _withdrawal_of(unit), bookings[unit.unit_id], now=now
            )
            _stage(work, withdrawn, data)
            outcomes.append(UnitOutcome(unit_id=unit.unit_id, outcome=ReplacementOutcome.WITHDRAWN))
        if not dry_run:
            await work.commit()
    counts = Counter(outcome.outcome for outcome in outcomes)
    return ReplacementResult(
        force=force,
        **{outcome.value: counts[outcome] for outcome in ReplacementOutcome},
        dry_run=dry_run,
        units=outcomes,
    )


def _live_booking(bookings: list[BookingRow], now: datetime) -> BookingRow | None:
    """The unit's booking that ends last, if one has not ended yet."""
    live = [booking for booking in bookings if booking.end > now]
    return max(live, key=lambda booking: booking.end) if live else None


def _kept(unit_id: str, booking: BookingRow) -> UnitOutcome:
    reason = f"booked for request {booking.request_id} of {booking.host_force} until {booking.end:%Y-%m-%dT%H:%MZ}"
    return UnitOutcome(unit_id=unit_id, outcome=ReplacementOutcome.KEPT, reason=reason)


def _outcome(unit_id: str, new: bool, data: EventData | None, changed: list[str]) -> UnitOutcome:
    if new:
        return UnitOutcome(unit_id=unit_id, outcome=ReplacementOutcome.DECLARED)
    if data is None:
        return UnitOutcome(unit_id=unit_id, outcome=ReplacementOutcome.UNCHANGED)
    return UnitOutcome(unit_id=unit_id, outcome=ReplacementOutcome.UPDATED, changed=changed)


def _check_replacement(force: str, items: list[UnitDeclareWithId]) -> None:
    others = sorted({item.unit_id for item in items if item.force != force})
    if others:
        raise InvalidInput(f"every unit must belong to {force}: {', '.join(others)}")
    repeated = sorted(unit_id for unit_id, n in Counter(item.unit_id for item in items).items() if n > 1)
    if repeated:
        raise InvalidInput(f"each unit may appear once: {', '.join(repeated)}")


async def _check_foreign_ids(session: AsyncSession, force: str, unit_ids: list[str]) -> None:
    if not unit_ids:
        return
    taken = await session.exec(select(Unit.unit_id).where(col(Unit.unit_id).in_(unit_ids), Unit.force != force))
    clash = sorted(taken.all())
    if clash:
        raise Conflict(f"unit ids already used by another force: {', '.join(clash)}")


def _stage(work: UnitOfWork, unit: Unit, data: EventData | None) -> None:
    if data is not None:
        work.session.add(unit)
        work.publish(new_event(data, source=SOURCE), data)


def _withdrawal_of(unit: Unit) -> UnitDeclare:
    """The unit's stored declaration, withdrawn: not validated again as input (a window declared before the input
    policy may lie outside today's range, and withdrawing it must still work)."""
    declared = _declaration_of(unit)
    declared |= {
        "base": GeoPointInput.model_construct(**declared["base"]),
        "windows": [WindowInput.model_construct(**window) for window in declared["windows"]],
        "status": UnitStatus.WITHDRAWN,
        "available_from": None,
        "available_until": None,
        "version": None,
    }
    return UnitDeclare.model_construct(**declared)


def _declaration_of(unit: Unit) -> dict[str, Any]:
    return {
        "force": unit.force,
        "capability": unit.capability,
        "base": {"lat": unit.base_lat, "lon": unit.base_lon, "description": unit.base_description},
        "readiness_minutes": unit.readiness_minutes,
        "windows": [window.model_dump() for window in unit.availability()],
        "scope": unit.scope,
    }


@retry_on_conflict
async def set_policy(force: str, body: PolicyBody, *, principal: Principal, uow: UowFactory) -> ForcePolicyRow:
    """Set a force's reserve and national commitment; policy.updated tells tasking."""
    _check_force(principal, force)
    async with uow() as work:
        row = await work.session.get(ForcePolicyRow, force, with_for_update=True)
        row = row or ForcePolicyRow(force=force, version=0)
        row.reserve = dict(body.reserve)
        row.national_commitment = dict(body.national_commitment)
        row.version += 1
        row.updated_by = principal.sub
        row.updated_at = utcnow()
        work.session.add(row)
        data = PolicyUpdated(
            force=force, reserve=body.reserve, national_commitment=body.national_commitment, policy_version=row.version
        )
        work.publish(new_event(data, source=SOURCE), data)
        await work.commit()
        return row


@retry_on_conflict
async def recall_unit(unit_id: str, *, reason: str, principal: Principal, uow: UowFactory) -> BookedUnit:
    """A donor takes a booked unit back home: every booking of it that has not ended is cancelled, the
    unit is UNAVAILABLE, and units.recalled tells tasking to re-plan each request it served.

    Raises NotFound (404), Forbidden (403: another force) and Conflict (409: not booked).
    """
    async with uow() as work:
        unit = await work.session.get(Unit, unit_id, with_for_update=True)
        if unit is None:
            raise NotFound(f"no unit {unit_id}")
        _check_force(principal, unit.force)
        now = utcnow()
        bookings = (await bookings_of(work.session, [unit_id]))[unit_id]
        requests = check_recallable(unit.snapshot(bookings), now)
        for booking in bookings:
            if booking.end > now:
                await work.session.delete(booking)
        unit.changed(status=UnitStatus.UNAVAILABLE)
        work.session.add(unit)
        left = [booking for booking in bookings if booking.end <= now]
        for request_id in requests:
            data = UnitsRecalled(
                request_id=request_id, units=[unit.state(left, now)], reason=reason, recalled_by=principal.sub
            )
            work.publish(new_event(data, source=SOURCE), data)
        await work.commit()
        return BookedUnit(unit, left)
