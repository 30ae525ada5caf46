"""Reads of the availability service: units, policies and capacity per force, region and nation."""

from collections.abc import Iterable

from sqlmodel import col, select

from services.availability.domain import (
    CapacityLine,
    ForcePolicy,
    UnitSnapshot,
    capacity,
)
from services.availability.models import ForcePolicyRow, Unit
from shared.db import SessionFactory, list_matching
from shared.errors import NotFound
from shared.events import (
    UnitStatus,
)
from shared.forces import forces
from shared.vocabulary import Capability


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


async def get_policy(force: str, *, sessions: SessionFactory) -> ForcePolicyRow:
    async with sessions() as session:
        return await session.get(ForcePolicyRow, force) or ForcePolicyRow(force=force, version=0)


async def capacity_by_force(*, sessions: SessionFactory, force_codes: Iterable[str]) -> dict[str, list[CapacityLine]]:
    """Each force's capacity lines, from its units and policy."""
    codes = list(force_codes)
    async with sessions() as session:
        units = (await session.exec(select(Unit).where(col(Unit.force).in_(codes)))).all()
        rows = (await session.exec(select(ForcePolicyRow).where(col(ForcePolicyRow.force).in_(codes)))).all()
    policies = {row.force: row.policy() for row in rows}
    by_force: dict[str, list[UnitSnapshot]] = {code: [] for code in codes}
    for unit in units:
        by_force[unit.force].append(unit.snapshot())
    return {code: capacity(by_force[code], policies.get(code, ForcePolicy())) for code in codes}


def forces_in(region: str | None) -> list[str]:
    return sorted(code for code, force in forces().items() if region is None or force.region == region)
