"""Tasking's read model of units, policies and proposals: what the planner may draw on."""

from collections import Counter
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.tasking.domain import HOLDING_PROPOSALS, Candidate, Demand, Place
from services.tasking.models import PolicyView, Proposal, RequestView, UnitView
from shared.events import UnitState, UnitStatus
from shared.vocabulary import Capability, Need, Window


async def holding_proposals(session: AsyncSession) -> list[Proposal]:
    """Pending and approved proposals: their units are spoken for."""
    return list((await session.exec(select(Proposal).where(col(Proposal.status).in_(HOLDING_PROPOSALS)))).all())


def unit_ids(proposals: list[Proposal]) -> set[str]:
    return {allocation["unit_id"] for proposal in proposals for allocation in proposal.allocations}


async def available_units(session: AsyncSession, capabilities: set[Capability]) -> list[Candidate]:
    """Every AVAILABLE unit of the capabilities, in unit id order."""
    rows = await session.exec(
        select(UnitView)
        .where(UnitView.status == UnitStatus.AVAILABLE, col(UnitView.capability).in_(capabilities))
        .order_by(col(UnitView.unit_id))
    )
    return [candidate(unit) for unit in rows.all()]


def candidate(unit: UnitView) -> Candidate:
    return Candidate(
        unit_id=unit.unit_id,
        force=unit.force,
        region=unit.region,
        capability=unit.capability,
        base=Place(unit.base_lat, unit.base_lon),
        readiness_minutes=unit.readiness_minutes,
        windows=windows(unit),
        scope=unit.scope,
        status=unit.status,
    )


def windows(unit: UnitView) -> list[Window]:
    if unit.windows:
        return [Window.model_validate(window) for window in unit.windows]
    return [Window(start=unit.available_from, end=unit.available_until)]


async def reserves(session: AsyncSession) -> dict[str, dict[Capability, int]]:
    return {
        row.force: {Capability(c): n for c, n in row.reserve.items()}
        for row in (await session.exec(select(PolicyView))).all()
    }


def free_by_force(units: list[Candidate], held: set[str]) -> Counter[tuple[str, Capability]]:
    """Free units per force and capability: AVAILABLE and not spoken for."""
    return Counter((unit.force, unit.capability) for unit in units if unit.unit_id not in held)


def demand_of(request: RequestView, needs: list[Need], *, regions: frozenset[str] | None) -> Demand:
    return Demand(
        request_id=request.request_id,
        requesting_force=request.requesting_force,
        requesting_region=request.requesting_region,
        location=Place(request.location_lat, request.location_lon),
        required_by=request.required_by,
        end=request.end,
        needs=needs,
        regions=regions,
    )


def needs_of(request: RequestView) -> list[Need]:
    return [Need.model_validate(need) for need in request.needs]


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
        "windows": [window.model_dump(mode="json") for window in state.availability()],
        "scope": state.scope,
        "status": state.status,
        "committed_to": state.committed_to,
    }
