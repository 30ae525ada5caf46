"""Tasking's read model of availability (units, reserves) and what proposals hold: what a planning run draws on."""

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.tasking.domain import ENDED_STATES, HOLDING_PROPOSALS
from services.tasking.models import PolicyView, Proposal, RequestView, UnitView
from services.tasking.planner.problem import Candidate, Place
from shared.events import UnitState, UnitStatus
from shared.vocabulary import Capability, Window


async def holding_proposals(session: AsyncSession) -> list[Proposal]:
    """Pending and approved proposals of requests not yet stood down or cancelled: their units are spoken for."""
    query = (
        select(Proposal)
        .join(RequestView, col(RequestView.request_id) == col(Proposal.request_id))
        .where(col(Proposal.status).in_(HOLDING_PROPOSALS), col(RequestView.state).not_in(ENDED_STATES))
        .order_by(col(Proposal.created_at), col(Proposal.id))
    )
    return list((await session.exec(query)).all())


async def live_requests(session: AsyncSession) -> list[RequestView]:
    """Every request not stood down or cancelled."""
    query = select(RequestView).where(col(RequestView.state).not_in(ENDED_STATES))
    return list((await session.exec(query)).all())


def held_unit_ids(proposals: list[Proposal]) -> set[str]:
    return {unit_id for proposal in proposals for unit_id in proposal.unit_ids()}


async def available_units(
    session: AsyncSession, capabilities: set[Capability], *, setting_aside: str | None = None
) -> list[Candidate]:
    """Every unit of the capabilities its force declared AVAILABLE (booked or not), in unit id order;
    setting_aside: a request whose bookings are left out (its units may stay on for it)."""
    rows = await session.exec(
        select(UnitView)
        .where(UnitView.declared == UnitStatus.AVAILABLE, col(UnitView.capability).in_(capabilities))
        .order_by(col(UnitView.unit_id))
    )
    return [candidate(unit, setting_aside=setting_aside) for unit in rows.all()]


def candidate(unit: UnitView, *, setting_aside: str | None = None) -> Candidate:
    return Candidate(
        unit_id=unit.unit_id,
        force=unit.force,
        region=unit.region,
        capability=unit.capability,
        base=Place(unit.base_lat, unit.base_lon),
        readiness_minutes=unit.readiness_minutes,
        windows=list(unit.windows),
        scope=unit.scope,
        status=unit.declared,
        bookings=tuple(
            Window(start=booking.start, end=booking.end)
            for booking in unit.bookings
            if booking.request_id != setting_aside
        ),
    )


async def reserves(session: AsyncSession) -> dict[str, dict[Capability, int]]:
    """Each force's business-as-usual reserve per capability, as its newest policy.updated said."""
    return {row.force: dict(row.reserve) for row in (await session.exec(select(PolicyView))).all()}


async def apply_unit_state(session: AsyncSession, state: UnitState) -> None:
    """Apply a unit's state only when it is newer than what the read model holds."""
    unit = await session.get(UnitView, state.unit_id)
    if unit is not None and unit.version >= state.version:
        return
    unit = unit or UnitView(unit_id=state.unit_id, version=0, **_unit_fields(state))
    for name, value in _unit_fields(state).items():
        setattr(unit, name, value)
    unit.version = state.version
    session.add(unit)


def _unit_fields(state: UnitState) -> dict[str, Any]:
    return {
        "force": state.force,
        "region": state.region,
        "capability": state.capability,
        "base_lat": state.base.lat,
        "base_lon": state.base.lon,
        "readiness_minutes": state.readiness_minutes,
        "available_from": state.available_from,
        "available_until": state.available_until,
        "windows": state.availability(),
        "scope": state.scope,
        "status": state.status,
        "committed_to": state.committed_to,
        "declared": state.declared_status(),
        "bookings": state.bookings,
    }
