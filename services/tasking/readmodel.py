"""Tasking's read model of availability (units, reserves) and what proposals hold: what a planning run draws on."""

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.orm.util import identity_key
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.tasking.domain import ENDED_STATES, HOLDING_PROPOSALS
from services.tasking.models import PolicyView, Proposal, RequestView, UnitView
from services.tasking.planner.problem import Candidate, Place
from shared.events import UnitState, UnitStatus
from shared.vocabulary import Capability, Window

Row = TypeVar("Row", RequestView, Proposal)
CHUNK = 500  # ids per IN (...) when loading rows that changed


class PlanningReads:
    """What planning runs read, kept from one run to the next: each read asks for the ids and versions of the
    rows it needs and loads in full only those new or changed since (JSON columns parsed, ORM objects built).

    Every change of a request or a proposal bumps its version (shared.db.version_column, and capacity_appeared),
    and a unit's version is availability's, newer with each state: an equal version is the same row. A row this
    transaction holds already is taken as it is here. Kept objects are valid only after a committed run:
    forget() after any other outcome (a rolled-back run leaves them changed in memory only).
    """

    def __init__(self) -> None:
        self._requests: dict[str, RequestView] = {}
        self._proposals: dict[str, Proposal] = {}
        self._units: dict[str, tuple[int, Candidate]] = {}
        self._inserted: list[object] = []

    def watch(self, session: AsyncSession) -> None:
        """Hold on to the rows the session inserts (the run's proposals), for remember() after its commit."""
        self._inserted = []
        event.listen(session.sync_session, "pending_to_persistent", lambda _session, row: self._inserted.append(row))

    def remember(self) -> None:
        """Keep the requests and proposals the watched transaction inserted, now that it committed."""
        for row in self._inserted:
            if isinstance(row, RequestView):
                self._requests[row.request_id] = row
            elif isinstance(row, Proposal):
                self._proposals[row.id] = row
        self._inserted = []

    def forget(self) -> None:
        """Drop everything kept: the next run reads every row afresh."""
        self._requests, self._proposals, self._units, self._inserted = {}, {}, {}, []

    async def holding_proposals(self, session: AsyncSession) -> list[Proposal]:
        """Pending and approved proposals of requests not yet stood down or cancelled: their units are spoken for.
        Oldest first."""
        query = (
            select(Proposal.id, Proposal.version)
            .join(RequestView, col(RequestView.request_id) == col(Proposal.request_id))
            .where(col(Proposal.status).in_(HOLDING_PROPOSALS), col(RequestView.state).not_in(ENDED_STATES))
            .order_by(col(Proposal.created_at), col(Proposal.id))
        )
        rows = (await session.exec(query)).all()
        self._proposals = await _current(session, Proposal, col(Proposal.id), rows, self._proposals)
        return list(self._proposals.values())

    async def live_requests(self, session: AsyncSession) -> list[RequestView]:
        """Every request not stood down or cancelled."""
        query = select(RequestView.request_id, RequestView.version).where(col(RequestView.state).not_in(ENDED_STATES))
        rows = (await session.exec(query)).all()
        self._requests = await _current(session, RequestView, col(RequestView.request_id), rows, self._requests)
        return list(self._requests.values())

    async def available_units(self, session: AsyncSession, capabilities: set[Capability]) -> list[Candidate]:
        """Every unit of the capabilities its force declared AVAILABLE (booked or not), in unit id order."""
        query = (
            select(UnitView.unit_id, UnitView.version)
            .where(UnitView.declared == UnitStatus.AVAILABLE, col(UnitView.capability).in_(capabilities))
            .order_by(col(UnitView.unit_id))
        )
        rows = (await session.exec(query)).all()
        stale = [unit_id for unit_id, version in rows if self._units.get(unit_id, (None,))[0] != version]
        for chunk in _chunks(stale):
            for unit in (await session.exec(select(UnitView).where(col(UnitView.unit_id).in_(chunk)))).all():
                self._units[unit.unit_id] = (unit.version, candidate(unit))
        return [self._units[unit_id][1] for unit_id, _ in rows if unit_id in self._units]


async def _current(
    session: AsyncSession, model: type[Row], key: Any, rows: Sequence[tuple[str, int]], kept: dict[str, Row]
) -> dict[str, Row]:
    """The rows (id, version) as objects of this session, in their order: the session's own, else the kept
    object of that version (attached), else loaded."""
    found: dict[str, Row] = {}
    stale = []
    for ident, version in rows:
        mine = session.sync_session.identity_map.get(identity_key(model, ident))
        if mine is not None:
            found[ident] = mine
        elif ident in kept and kept[ident].version == version:
            session.add(kept[ident])
            found[ident] = kept[ident]
        else:
            stale.append(ident)
    for chunk in _chunks(stale):
        for row in (await session.exec(select(model).where(key.in_(chunk)))).all():
            found[_ident(row)] = row
    return {ident: found[ident] for ident, _ in rows if ident in found}


def _chunks(ids: list[str]) -> list[list[str]]:
    return [ids[start : start + CHUNK] for start in range(0, len(ids), CHUNK)]


def _ident(row: RequestView | Proposal) -> str:
    return row.request_id if isinstance(row, RequestView) else row.id


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
