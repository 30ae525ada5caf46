"""HTTP routes of the availability service: thin, they call commands and queries."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Response

from services.availability import commands, queries
from services.availability.domain import CapacityLine, sum_capacity
from services.availability.models import BookedUnit, ForcePolicyRow
from services.availability.schemas import (
    UNIT_ID_PATTERN,
    CapabilityList,
    CapacityItem,
    CapacityView,
    ForceCapacity,
    ForceEntry,
    ForceList,
    PolicyBody,
    PolicyPublic,
    Recall,
    ReplacementResult,
    UnitDeclare,
    UnitList,
    UnitPublic,
    UnitReplacement,
)
from shared.auth import CurrentPrincipal, Principal, Role, require
from shared.catalogue import catalogue
from shared.errors import InvalidInput, NotFound, PreconditionFailed
from shared.events import UnitStatus
from shared.forces import forces, regions
from shared.messaging import utcnow
from shared.paging import PAGED, Paging, page
from shared.scopes import check_reads_figures
from shared.service import Runtime
from shared.vocabulary import Capability, GeoPoint, Instant

router = APIRouter(prefix="/v1")

ResourceManager = Annotated[Principal, Depends(require(Role.RESOURCE_MANAGER, Role.INTEGRATION))]
UnitId = Annotated[str, Path(pattern=UNIT_ID_PATTERN, description="The force's own stable id of the unit")]


async def known_force(code: Annotated[str, Path(description="Force code, as in reference/forces.csv")]) -> str:
    if code not in forces():
        raise NotFound(f"no force {code!r}; GET /v1/forces lists the force codes")
    return code


ForceCode = Annotated[str, Depends(known_force)]


async def figures_of(code: ForceCode, reader: CurrentPrincipal) -> str:
    """A force whose policy and capacity the caller may read: its resource managers, coordinators, national
    coordinators, auditors and integrations (403 otherwise)."""
    check_reads_figures(reader, force=code)
    return code


FiguresOf = Annotated[str, Depends(figures_of)]


async def capacity_reader(reader: CurrentPrincipal) -> Principal:
    """A caller who may read the capacity of a region or of the nation: coordinators, auditors, integrations."""
    check_reads_figures(reader)
    return reader


CapacityReader = Annotated[Principal, Depends(capacity_reader)]


@router.get("/forces", response_model=ForceList, tags=["catalogue"])
async def list_forces(_: CurrentPrincipal) -> ForceList:
    """The forces that take part in mutual aid: code, name, region and headquarters (the codes the API takes)."""
    return ForceList(
        items=[
            ForceEntry(
                code=force.code,
                name=force.name,
                region=force.region,
                headquarters=GeoPoint(lat=force.hq_lat, lon=force.hq_lon, description=force.hq_town[:200]),
            )
            for force in forces().values()
        ]
    )


@router.get("/capabilities", response_model=CapabilityList, tags=["catalogue"])
async def list_capabilities(_: CurrentPrincipal) -> CapabilityList:
    """The capability catalogue: codes, names, whether team or individual, default composition."""
    return CapabilityList(version=catalogue().version, items=catalogue().capabilities)


@router.put(
    "/units/{unit_id}",
    response_model=UnitPublic,
    tags=["units"],
    responses={
        201: {"model": UnitPublic},
        409: {"description": "The unit is committed: recall it first"},
        412: {"description": "The unit changed since the given version, or exists and If-None-Match is *"},
    },
)
async def declare_unit(
    unit_id: UnitId,
    body: UnitDeclare,
    principal: ResourceManager,
    rt: Runtime,
    response: Response,
    if_match: Annotated[
        str | None,
        Header(
            description='The version the update is based on (its ETag: "3", W/"3" or 3)',
            json_schema_extra={"pattern": '^(W/)?"?[0-9]+"?$'},
        ),
    ] = None,
    if_none_match: Annotated[
        str | None,
        Header(
            description='"*" declares the unit only if it is not declared yet (412 otherwise)',
            json_schema_extra={"enum": ["*"]},
        ),
    ] = None,
) -> UnitPublic:
    """Declare a unit your force can lend, or update its declaration (201 when new)."""
    unit, created = await commands.declare_unit(
        unit_id,
        body,
        principal=principal,
        if_match=parse_if_match(if_match),
        create_only=parse_if_none_match(if_none_match),
        uow=rt.uow,
    )
    if created:
        response.status_code = 201
    response.headers["ETag"] = f'"{unit.unit.version}"'
    return to_public(unit)


def parse_if_match(value: str | None) -> int | None:
    """An If-Match header as a unit version: "3", 3 or W/"3"."""
    if value is None:
        return None
    tag = value.strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise PreconditionFailed(f"If-Match {value!r} is not a version of this unit")
    return int(tag)


def parse_if_none_match(value: str | None) -> bool:
    """If-None-Match on a declaration: only "*" (create, never update) has a meaning here."""
    if value is None:
        return False
    if value.strip() != "*":
        raise InvalidInput(f'If-None-Match {value!r} is not supported on a declaration; send "*" to create only')
    return True


@router.get("/units/{unit_id}", response_model=UnitPublic, tags=["units"])
async def get_unit(unit_id: UnitId, reader: CurrentPrincipal, rt: Runtime, response: Response) -> UnitPublic:
    """One unit: its declaration, status, bookings and, when committed, the request it is committed to. Read
    by its force, the forces it is booked for, coordinators of its region, national coordinators, auditors and
    integrations (403 otherwise)."""
    unit = await queries.get_unit(unit_id, reader=reader, sessions=rt.sessions)
    response.headers["ETag"] = f'"{unit.unit.version}"'
    return to_public(unit)


@router.get("/units", response_model=UnitList, tags=["units"], responses=PAGED)
async def list_units(
    reader: CurrentPrincipal,
    rt: Runtime,
    paging: Paging,
    force: Annotated[str | None, Query(description="Force code")] = None,
    capability: Capability | None = None,
    status: UnitStatus | None = None,
) -> UnitList:
    """The declared units you may read (your force's and those booked for it; a coordinator: the region's;
    others: all), optionally by force, capability and status (COMMITTED: booked, the booking not ended), by force
    and unit id, a page at a time (`limit`, then `after` the page's `next`)."""
    units = await queries.list_units(
        reader=reader, sessions=rt.sessions, force=force, capability=capability, status=status, now=utcnow()
    )
    items, following = page(units, key=lambda unit: unit.unit.unit_id, paging=paging)
    return UnitList(items=[to_public(unit) for unit in items], next=following)


@router.post(
    "/units/{unit_id}/recall",
    response_model=UnitPublic,
    tags=["units"],
    responses={409: {"description": "The unit is not committed"}},
)
async def recall_unit(unit_id: UnitId, body: Recall, principal: ResourceManager, rt: Runtime) -> UnitPublic:
    """Take a booked unit back home (it becomes UNAVAILABLE, every booking of it ends); tasking re-plans
    each request it served."""
    return to_public(await commands.recall_unit(unit_id, reason=body.reason, principal=principal, uow=rt.uow))


@router.put(
    "/forces/{code}/units",
    response_model=ReplacementResult,
    tags=["units"],
    responses={409: {"description": "An id of the file belongs to another force"}},
)
async def replace_force_units(
    code: ForceCode,
    body: UnitReplacement,
    principal: ResourceManager,
    rt: Runtime,
    dry_run: Annotated[bool, Query(description="Change nothing; answer what applying the file would do")] = False,
) -> ReplacementResult:
    """Replace the force's whole declared set in one transaction, as a duty system export would: units left out
    are withdrawn, and units booked now are kept as they are whatever the file says of them. The answer says
    what happened to each unit."""
    return await commands.replace_force_units(code, body.items, principal=principal, uow=rt.uow, dry_run=dry_run)


@router.put("/forces/{code}/policy", response_model=PolicyPublic, tags=["capacity"])
async def set_policy(code: ForceCode, body: PolicyBody, principal: ResourceManager, rt: Runtime) -> PolicyPublic:
    """Set the force's business-as-usual reserve and national commitment per capability."""
    return to_policy(await commands.set_policy(code, body, principal=principal, uow=rt.uow))


@router.get("/forces/{code}/policy", response_model=PolicyPublic, tags=["capacity"])
async def get_policy(code: FiguresOf, rt: Runtime) -> PolicyPublic:
    """The force's reserve and national commitment (version 0 when never set)."""
    return to_policy(await queries.get_policy(code, sessions=rt.sessions))


async def period(
    start: Annotated[
        Instant | None, Query(alias="from", description="Start of the period (RFC 3339); now when left out")
    ] = None,
    until: Annotated[Instant | None, Query(description="End of the period; its start when left out")] = None,
) -> tuple[datetime, datetime]:
    """A period from query parameters: an instant (now, or `from`) unless `until` is given."""
    begin = start or utcnow()
    end = until or begin
    if end < begin:
        raise InvalidInput("until must not be before from")
    return begin, end


Period = Annotated[tuple[datetime, datetime], Depends(period)]


@router.get("/forces/{code}/capacity", response_model=ForceCapacity, tags=["capacity"])
async def force_capacity(code: FiguresOf, rt: Runtime, during: Period) -> ForceCapacity:
    """Per capability over a period (default: now): declared, free throughout (available), booked at the
    busiest moment (committed), reserve, lendable, and the national commitment."""
    lines = await queries.capacity_by_force(sessions=rt.sessions, force_codes=[code], start=during[0], end=during[1])
    return ForceCapacity(force=code, region=forces()[code].region, items=to_items(lines[code]))


@router.get(
    "/capacity",
    response_model=CapacityView,
    tags=["capacity"],
    responses={404: {"description": "No region of that name"}},
)
async def capacity_view(
    _: CapacityReader,
    rt: Runtime,
    during: Period,
    region: Annotated[
        str | None,
        Query(description="Region name; leave out for the national picture", json_schema_extra={"enum": regions()}),
    ] = None,
) -> CapacityView:
    """Capacity of every force of a region, or of the nation, over a period (default: now), with totals."""
    if region is not None and region not in regions():
        raise NotFound(f"no region {region!r}; one of: {', '.join(regions())}")
    lines = await queries.capacity_by_force(
        sessions=rt.sessions, force_codes=queries.forces_in(region), start=during[0], end=during[1]
    )
    by_force = [
        ForceCapacity(force=code, region=forces()[code].region, items=to_items(force_lines))
        for code, force_lines in lines.items()
        if force_lines
    ]
    summary = sum_capacity([line for force_lines in lines.values() for line in force_lines])
    return CapacityView(region=region, forces=by_force, summary=to_items(summary))


def to_items(lines: list[CapacityLine]) -> list[CapacityItem]:
    return [CapacityItem.model_validate(line, from_attributes=True) for line in lines]


def to_public(unit: BookedUnit) -> UnitPublic:
    return UnitPublic.model_validate(unit.state(utcnow()).model_dump() | {"updated_at": unit.unit.updated_at})


def to_policy(row: ForcePolicyRow) -> PolicyPublic:
    return PolicyPublic(
        force=row.force,
        reserve=row.reserve,
        national_commitment=row.national_commitment,
        version=row.version,
        updated_by=row.updated_by,
        updated_at=row.updated_at if row.version else None,
    )
