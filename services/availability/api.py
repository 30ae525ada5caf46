"""HTTP routes of the availability service: thin, they call handlers."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from services.availability import handlers
from services.availability.models import Unit
from services.availability.schemas import UNIT_ID_PATTERN, UnitDeclare, UnitList, UnitPublic
from shared.auth import CurrentPrincipal, Principal, Role, require
from shared.events import UnitStatus
from shared.service import Runtime
from shared.vocabulary import Capability

router = APIRouter(prefix="/v1", tags=["units"])

Declarer = Annotated[Principal, Depends(require(Role.RESOURCE_MANAGER, Role.INTEGRATION))]
UnitId = Annotated[str, Path(pattern=UNIT_ID_PATTERN, description="The force's own stable id of the unit")]


@router.put("/units/{unit_id}", response_model=UnitPublic, responses={201: {"model": UnitPublic}})
async def declare_unit(
    unit_id: UnitId, body: UnitDeclare, principal: Declarer, rt: Runtime, response: Response
) -> UnitPublic:
    """Declare a unit your force can lend, or update its declaration (201 when new)."""
    unit, created = await handlers.declare_unit(unit_id, body, principal=principal, uow=rt.uow)
    if created:
        response.status_code = 201
    response.headers["ETag"] = f'"{unit.version}"'
    return to_public(unit)


@router.get("/units/{unit_id}", response_model=UnitPublic)
async def get_unit(unit_id: UnitId, _: CurrentPrincipal, rt: Runtime, response: Response) -> UnitPublic:
    """One unit: its declaration, status and, when committed, the request it is committed to."""
    unit = await handlers.get_unit(unit_id, sessions=rt.sessions)
    response.headers["ETag"] = f'"{unit.version}"'
    return to_public(unit)


@router.get("/units", response_model=UnitList)
async def list_units(
    _: CurrentPrincipal,
    rt: Runtime,
    force: Annotated[str | None, Query(description="Force code")] = None,
    capability: Capability | None = None,
    status: UnitStatus | None = None,
) -> UnitList:
    """Declared units, optionally by force, capability and status."""
    units = await handlers.list_units(sessions=rt.sessions, force=force, capability=capability, status=status)
    return UnitList(items=[to_public(unit) for unit in units])


def to_public(unit: Unit) -> UnitPublic:
    return UnitPublic.model_validate(handlers.unit_state(unit).model_dump() | {"updated_at": unit.updated_at})
