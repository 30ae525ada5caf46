"""One function per command or event; each owns its transaction."""

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.availability.domain import (
    CapacityLine,
    ForcePolicy,
    Tasking,
    UnitSnapshot,
    capacity,
    check_declarable,
    check_recallable,
    check_version,
    commit_failures,
    merge_windows,
)
from services.availability.models import ForcePolicyRow, Unit
from services.availability.schemas import PolicyBody, ReplacementResult, UnitDeclare, UnitDeclareWithId
from shared.auth import Principal
from shared.cloudevents import CloudEvent, EventData, follow_up, new_event
from shared.db import SessionFactory, list_matching, retry_on_conflict
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from shared.events import (
    CommitRejected,
    PolicyUpdated,
    TaskingApproved,
    TaskingStoodDown,
    UnitDeclared,
    UnitsCommitted,
    UnitsRecalled,
    UnitsReleased,
    UnitState,
    UnitStatus,
    UnitUpdated,
    UnitWithdrawn,
)
from shared.forces import forces, region_of
from shared.messaging import UnitOfWork, utcnow
from shared.vocabulary import Capability, Window

SOURCE = "/mutualaid/availability"
CONSUMER = "availability"

UowFactory = Callable[[], UnitOfWork]


def _check_force(principal: Principal, force: str) -> None:
    if not principal.acts_for_force(force):
        raise Forbidden(f"a {principal.role.value} of {principal.force} cannot act for {force}")


# --- declarations ---------------------------------------------------------------------------------


@retry_on_conflict
async def declare_unit(
    unit_id: str,
    body: UnitDeclare,
    *,
    principal: Principal,
    if_match: int | None,
    uow: UowFactory,
    create_only: bool = False,
) -> tuple[Unit, bool]:
    """Declare a unit or update its declaration; returns (unit, created). Emits its full state.

    if_match (or the body's version) refuses an update of another version, create_only refuses
    any update (both PreconditionFailed, 412).
    """
    _check_force(principal, body.force)
    async with uow() as work:
        unit = await work.session.get(Unit, unit_id, with_for_update=True)
        if unit is not None:
            _check_force(principal, unit.force)
        expected = if_match if if_match is not None else body.version
        check_version(unit.version if unit else None, expected, create_only=create_only)
        created = unit is None
        unit, data = _apply_declaration(unit_id, unit, body)
        if data is not None:
            work.session.add(unit)
            work.publish(new_event(data, source=SOURCE), data)
            await work.commit()
        return unit, created


def _apply_declaration(unit_id: str, unit: Unit | None, body: UnitDeclare) -> tuple[Unit, EventData | None]:
    """The unit after the declaration, and the event announcing it (None when nothing changed)."""
    check_declarable(unit.status if unit else None, body.status, unit.committed_to if unit else None)
    fields = _declared_fields(body)
    if unit is None:
        unit = Unit(unit_id=unit_id, **fields)
        return unit, UnitDeclared(unit=unit_state(unit))
    changes = {name: value for name, value in fields.items() if getattr(unit, name) != value}
    if not changes:
        return unit, None
    for name, value in changes.items():
        setattr(unit, name, value)
    unit.version += 1
    unit.updated_at = utcnow()
    withdrawn = changes.get("status") == UnitStatus.WITHDRAWN
    return unit, (UnitWithdrawn if withdrawn else UnitUpdated)(unit=unit_state(unit))


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
        "windows": [window.model_dump(mode="json") for window in windows],
        "scope": body.scope,
        "status": body.status,
    }


@retry_on_conflict
async def replace_force_units(
    force: str, items: list[UnitDeclareWithId], *, principal: Principal, uow: UowFactory
) -> ReplacementResult:
    """Replace a force's declared set in one transaction; units left out are withdrawn."""
    _check_force(principal, force)
    _check_replacement(force, items)
    counts: Counter[str] = Counter()
    async with uow() as work:
        rows = await work.session.exec(select(Unit).where(Unit.force == force).with_for_update())
        existing = {unit.unit_id: unit for unit in rows.all()}
        await _check_foreign_ids(work.session, force, [item.unit_id for item in items if item.unit_id not in existing])
        kept = {item.unit_id for item in items}
        leaving = [u for u in existing.values() if u.unit_id not in kept and u.status != UnitStatus.WITHDRAWN]
        committed = sorted(u.unit_id for u in leaving if u.status == UnitStatus.COMMITTED)
        if committed:
            raise Conflict(f"units left out are committed, recall them first: {', '.join(committed)}")
        for item in items:
            unit, data = _apply_declaration(item.unit_id, existing.get(item.unit_id), item)
            counts["declared" if item.unit_id not in existing else "updated" if data else "unchanged"] += 1
            _stage(work, unit, data)
        for unit in leaving:
            body = UnitDeclare.model_validate(_declaration_of(unit) | {"status": UnitStatus.WITHDRAWN})
            _stage(work, *_apply_declaration(unit.unit_id, unit, body))
            counts["withdrawn"] += 1
        await work.commit()
    return ReplacementResult(force=force, **{k: counts[k] for k in ("declared", "updated", "unchanged", "withdrawn")})


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


def _declaration_of(unit: Unit) -> dict[str, Any]:
    state = unit_state(unit)
    fields = ("force", "capability", "base", "readiness_minutes", "windows", "scope")
    return state.model_dump(include=set(fields))


def unit_state(unit: Unit) -> UnitState:
    """The full state of a unit as every availability event carries it."""
    return UnitState.model_validate(
        {
            **unit.model_dump(),
            "base": {"lat": unit.base_lat, "lon": unit.base_lon, "description": unit.base_description},
            "windows": _windows(unit),
        }
    )


def _windows(unit: Unit) -> list[Window]:
    if unit.windows:
        return [Window.model_validate(window) for window in unit.windows]
    return [Window(start=unit.available_from, end=unit.available_until)]


def _snapshot(unit: Unit) -> UnitSnapshot:
    return UnitSnapshot(
        unit_id=unit.unit_id,
        force=unit.force,
        region=unit.region,
        capability=unit.capability,
        status=unit.status,
        windows=_windows(unit),
        scope=unit.scope,
        committed_to=unit.committed_to,
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


# --- policy and capacity --------------------------------------------------------------------------


@retry_on_conflict
async def set_policy(force: str, body: PolicyBody, *, principal: Principal, uow: UowFactory) -> ForcePolicyRow:
    """Set a force's reserve and national commitment; policy.updated tells tasking."""
    _check_force(principal, force)
    async with uow() as work:
        row = await work.session.get(ForcePolicyRow, force, with_for_update=True)
        row = row or ForcePolicyRow(force=force, version=0)
        row.reserve = {c.value: n for c, n in body.reserve.items()}
        row.national_commitment = {c.value: n for c, n in body.national_commitment.items()}
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


async def get_policy(force: str, *, sessions: SessionFactory) -> ForcePolicyRow:
    async with sessions() as session:
        return await session.get(ForcePolicyRow, force) or ForcePolicyRow(force=force, version=0)


def policy_of(row: ForcePolicyRow | None) -> ForcePolicy:
    if row is None:
        return ForcePolicy()
    return ForcePolicy(
        reserve={Capability(c): n for c, n in row.reserve.items()},
        national_commitment={Capability(c): n for c, n in row.national_commitment.items()},
    )


async def capacity_by_force(*, sessions: SessionFactory, force_codes: Iterable[str]) -> dict[str, list[CapacityLine]]:
    """Each force's capacity lines, from its units and policy."""
    codes = list(force_codes)
    async with sessions() as session:
        units = (await session.exec(select(Unit).where(col(Unit.force).in_(codes)))).all()
        rows = (await session.exec(select(ForcePolicyRow).where(col(ForcePolicyRow.force).in_(codes)))).all()
    policies = {row.force: policy_of(row) for row in rows}
    by_force: dict[str, list[UnitSnapshot]] = {code: [] for code in codes}
    for unit in units:
        by_force[unit.force].append(_snapshot(unit))
    return {code: capacity(by_force[code], policies.get(code, ForcePolicy())) for code in codes}


def forces_in(region: str | None) -> list[str]:
    return sorted(code for code, force in forces().items() if region is None or force.region == region)


# --- the commit saga ------------------------------------------------------------------------------


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
        snapshots = {unit_id: _snapshot(unit) for unit_id, unit in units.items()}
        failures = commit_failures(tasking, snapshots, available=available, policies=policies)
        outcome: UnitsCommitted | CommitRejected
        if failures:
            outcome = CommitRejected(request_id=data.request_id, proposal_id=data.proposal_id, failures=failures)
        else:
            for unit in units.values():
                _set_status(unit, UnitStatus.COMMITTED, committed_to=data.request_id)
                work.session.add(unit)
            outcome = UnitsCommitted(
                request_id=data.request_id,
                proposal_id=data.proposal_id,
                units=[unit_state(units[unit_id]) for unit_id in dict.fromkeys(tasking.unit_ids)],
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
    return {row.force: policy_of(row) for row in (await session.exec(query)).all()}


async def _available_counts(session: AsyncSession, force_codes: list[str]) -> Counter[tuple[str, Capability]]:
    query = (
        select(Unit.force, Unit.capability, func.count())
        .where(col(Unit.force).in_(force_codes), Unit.status == UnitStatus.AVAILABLE)
        .group_by(col(Unit.force), col(Unit.capability))
    )
    return Counter({(force, Capability(capability)): n for force, capability, n in (await session.exec(query)).all()})


def _set_status(unit: Unit, status: UnitStatus, *, committed_to: str | None) -> None:
    unit.status = status
    unit.committed_to = committed_to
    unit.version += 1
    unit.updated_at = utcnow()


@retry_on_conflict
async def recall_unit(unit_id: str, *, reason: str, principal: Principal, uow: UowFactory) -> Unit:
    """A donor takes a committed unit back home; units.recalled tells tasking to re-plan."""
    async with uow() as work:
        unit = await work.session.get(Unit, unit_id, with_for_update=True)
        if unit is None:
            raise NotFound(f"no unit {unit_id}")
        _check_force(principal, unit.force)
        request_id = check_recallable(_snapshot(unit))
        _set_status(unit, UnitStatus.UNAVAILABLE, committed_to=None)
        work.session.add(unit)
        data = UnitsRecalled(request_id=request_id, units=[unit_state(unit)], reason=reason, recalled_by=principal.sub)
        work.publish(new_event(data, source=SOURCE), data)
        await work.commit()
        return unit


async def release_units(event: CloudEvent, data: TaskingStoodDown, *, uow: UowFactory) -> None:
    """Stand-down: every unit committed to the request is available again (units.released)."""
    async with uow() as work:
        if await work.already_applied(consumer=CONSUMER, event=event):
            return
        query = select(Unit).where(Unit.committed_to == data.request_id).order_by(col(Unit.unit_id)).with_for_update()
        units = list((await work.session.exec(query)).all())
        for unit in units:
            _set_status(unit, UnitStatus.AVAILABLE, committed_to=None)
            work.session.add(unit)
        released = UnitsReleased(request_id=data.request_id, units=[unit_state(unit) for unit in units])
        work.publish(follow_up(released, source=SOURCE, cause=event), released)
        await work.commit()
