"""The availability service keeps its promises under any sequence of commands and events.

Hypothesis drives random sequences of declare and update, withdraw, set_policy, commit
(tasking.approved), release (tasking.stood_down), recall and redelivered events through the real
handlers of services/availability, on a real database (SQLite, then PostgreSQL), over six PSUs of
two forces and three requests, so that the same unit is often wanted by two requests. After every
step the test reads the unit, force_policy and outbox tables and compares them with what they were
before the step:

1. Reserves. When a step books units, every force it takes a unit from still has, for that
   capability, at least its reserve of declared-AVAILABLE units free at every instant of the new
   bookings. (A force may be below its reserve for other reasons: its resource manager declared
   fewer units or raised the reserve. The rule is that a commit never takes a force below it.)
2. One booking at a time. No unit ever holds two bookings whose intervals overlap. A booking
   appears only by a tasking.approved naming its unit, for that tasking's request, on a unit
   declared AVAILABLE; it goes only by the release of its request or the recall of its unit.
3. All or nothing. A tasking.approved either books every unit it names (units.committed names
   exactly them, and each was AVAILABLE, had a window covering the period, no booking overlapping
   its interval and a scope allowing the requesting region) or changes no unit at all
   (commit.rejected gives reasons, and each reason is true of the state before the step).
4. One way. No two forces lend each other units of the same capability for overlapping periods: a
   force receiving PSUs for a request does not lend PSUs at the same time (the host force of each
   request is recorded with its bookings).

And around them: a refused command (stale version, COMMITTED declared, a committed unit redeclared,
a recall of a unit that is not committed) leaves no trace, not even in the outbox; a redelivered
event changes nothing; a step changes no unit it does not name; a stand-down frees every unit of
its request.

Periods repeat, so one unit is often booked for "inside early" and again for "inside late".
Steps run one after another: this says nothing about two handlers racing each other.
"""

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete
from sqlmodel import col, select

from services.availability import commands, handlers
from services.availability.bootstrap import MIGRATIONS
from services.availability.models import BookingRow, ForcePolicyRow, Unit
from services.availability.queries import bookings_of
from services.availability.schemas import PolicyBody, UnitDeclare
from shared import db, migrations
from shared.auth import Principal, Role
from shared.cloudevents import CloudEvent, new_event
from shared.errors import Conflict, InvalidInput, MutualAidError, NotFound, PreconditionFailed
from shared.events import (
    Allocation,
    CommitFailure,
    CommitRejected,
    TaskingApproved,
    TaskingStoodDown,
    UnitsCommitted,
    UnitStatus,
)
from shared.messaging import InboxEntry, OutboxMessage, UnitOfWork
from shared.reserve import lendable
from shared.vocabulary import Capability, GeoPoint, LendingScope, Window
from tests.support.infra import fresh_postgres_database

AVAILABLE, COMMITTED = UnitStatus.AVAILABLE, UnitStatus.COMMITTED
T0 = datetime(2030, 6, 1, tzinfo=UTC)
DAY = timedelta(days=1)
EARLY = Window(start=T0, end=T0 + 10 * DAY)
LATE = Window(start=T0 + 20 * DAY, end=T0 + 30 * DAY)
WINDOWS = {"early": [EARLY], "late": [LATE], "early and late": [EARLY, LATE]}
PERIODS = {
    "inside early": (T0 + DAY, T0 + 3 * DAY),
    "inside late": (T0 + 21 * DAY, T0 + 23 * DAY),
    "across the gap": (T0 + 8 * DAY, T0 + 22 * DAY),
    "before every window": (T0 - 2 * DAY, T0 + DAY),
}
FORCES = ("staffordshire", "warwickshire")
FORCE_OF = {f"{force}-psu-{n}": force for force in FORCES for n in (1, 2, 3)}
REQUESTS = ("req-1", "req-2", "req-3")
# The host force of each request in the West Midlands region: two of them lend units too, so aid could flow both ways.
HOST_IN_REGION = {"req-1": "west-midlands", "req-2": "staffordshire", "req-3": "warwickshire"}
RESOURCE_MANAGER = Principal(sub="property-test", role=Role.INTEGRATION)


# --- the steps ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Declare:
    """A resource manager declares a unit or updates its declaration; status WITHDRAWN withdraws it."""

    unit_id: str
    status: UnitStatus = AVAILABLE
    windows: str = "early"
    scope: LendingScope = LendingScope.NATIONAL
    readiness_minutes: int = 60
    if_match: int | None = None


@dataclass(frozen=True)
class SetPolicy:
    force: str
    reserve: int


@dataclass(frozen=True)
class Commit:
    """tasking.approved: commit these units to the request for the period, all or none."""

    request_id: str
    unit_ids: tuple[str, ...]
    period: str = "inside early"
    requesting_region: str = "West Midlands"


@dataclass(frozen=True)
class Release:
    """tasking.stood_down: the units committed to the request go home."""

    request_id: str


@dataclass(frozen=True)
class Recall:
    unit_id: str


@dataclass(frozen=True)
class Redeliver:
    """The broker delivers an earlier tasking event again (the n-th, counting round)."""

    n: int


Step = Declare | SetPolicy | Commit | Release | Recall | Redeliver

any_unit = st.sampled_from(sorted(FORCE_OF))
any_request = st.sampled_from(REQUESTS)
declarations = st.builds(
    Declare,
    unit_id=any_unit,
    status=st.sampled_from([AVAILABLE] * 4 + [UnitStatus.UNAVAILABLE, COMMITTED]),
    windows=st.sampled_from(["early and late", "early and late", "early", "late"]),
    scope=st.sampled_from([LendingScope.NATIONAL] * 2 + [LendingScope.REGION, LendingScope.FORCE]),
    readiness_minutes=st.sampled_from([60, 90]),
    if_match=st.sampled_from([None] * 4 + [1, 2, 3]),
)
withdrawals = st.builds(Declare, unit_id=any_unit, status=st.just(UnitStatus.WITHDRAWN))
policies = st.builds(SetPolicy, force=st.sampled_from(FORCES), reserve=st.sampled_from([0, 1, 1, 2, 3]))


def units_of_one_force(force: str) -> st.SearchStrategy[list[str]]:
    """Taskings drawing on one force press on its reserve."""
    return st.lists(
        st.sampled_from([u for u, f in FORCE_OF.items() if f == force]), min_size=1, max_size=3, unique=True
    )


commits = st.builds(
    Commit,
    request_id=any_request,
    unit_ids=st.one_of(
        st.sampled_from(FORCES).flatmap(units_of_one_force),
        st.lists(any_unit, min_size=1, max_size=3, unique=True),
        st.lists(any_unit, min_size=2, max_size=3),
    ).map(tuple),
    period=st.sampled_from(["inside early"] * 4 + ["inside late"] * 3 + ["across the gap", "before every window"]),
    requesting_region=st.sampled_from(["West Midlands"] * 3 + ["London"]),
)
steps: st.SearchStrategy[Step] = st.one_of(
    declarations,
    withdrawals,
    policies,
    commits,
    st.builds(Release, request_id=any_request),
    st.builds(Recall, unit_id=any_unit),
    st.builds(Redeliver, n=st.integers(0, 9)),
)
scenarios = st.lists(steps, min_size=5, max_size=25)

# Every scenario starts with five units declared AVAILABLE in both windows; the sixth is not declared yet.
UNDECLARED = "warwickshire-psu-3"
OPENING = [Declare(unit_id, windows="early and late") for unit_id in sorted(FORCE_OF) if unit_id != UNDECLARED]


# --- the real service -----------------------------------------------------------------------------


class Availability:
    """The availability handlers on one database, and the tasking events delivered to them so far."""

    def __init__(self, sessions: db.SessionFactory) -> None:
        self._uow = lambda: UnitOfWork(sessions)
        self._delivered: list[tuple[CloudEvent, TaskingApproved | TaskingStoodDown]] = []

    async def take(self, step: Step) -> MutualAidError | None:
        """Apply the step; a command's legitimate refusal is returned, anything else raises."""
        match step:
            case Declare():
                declaring = commands.declare_unit(
                    step.unit_id, declaration(step), principal=RESOURCE_MANAGER, if_match=step.if_match, uow=self._uow
                )
                return await refusal(declaring, Conflict, PreconditionFailed, InvalidInput)
            case Recall():
                recalling = commands.recall_unit(
                    step.unit_id, reason="needed at home", principal=RESOURCE_MANAGER, uow=self._uow
                )
                return await refusal(recalling, Conflict, NotFound)
            case SetPolicy():
                body = PolicyBody(reserve={Capability.PSU: step.reserve})
                await commands.set_policy(step.force, body, principal=RESOURCE_MANAGER, uow=self._uow)
            case Commit():
                await self._deliver(approval(step))
            case Release():
                await self._deliver(TaskingStoodDown(request_id=step.request_id, stood_down_by="host force"))
            case Redeliver():
                if self._delivered:
                    await self._handle(*self._delivered[step.n % len(self._delivered)])
        return None

    async def _deliver(self, data: TaskingApproved | TaskingStoodDown) -> None:
        cloud_event = new_event(data, source="/test")
        self._delivered.append((cloud_event, data))
        await self._handle(cloud_event, data)

    async def _handle(self, cloud_event: CloudEvent, data: TaskingApproved | TaskingStoodDown) -> None:
        if isinstance(data, TaskingApproved):
            await handlers.commit_tasking(cloud_event, data, uow=self._uow)
        else:
            await handlers.release_units(cloud_event, data, uow=self._uow)


async def refusal(command: Awaitable[object], *legitimate: type[MutualAidError]) -> MutualAidError | None:
    try:
        await command
    except legitimate as refused:
        return refused
    return None


def declaration(step: Declare) -> UnitDeclare:
    return UnitDeclare(
        force=FORCE_OF[step.unit_id],
        capability=Capability.PSU,
        base=GeoPoint(lat=52.5, lon=-1.9, description=step.unit_id),
        readiness_minutes=step.readiness_minutes,
        windows=WINDOWS[step.windows],
        scope=step.scope,
        status=step.status,
    )


def host_of(step: Commit) -> str:
    return HOST_IN_REGION[step.request_id] if step.requesting_region == "West Midlands" else "metropolitan"


def approval(step: Commit) -> TaskingApproved:
    start, end = PERIODS[step.period]
    return TaskingApproved(
        request_id=step.request_id,
        proposal_id=f"proposal-of-{step.request_id}",
        requesting_force=host_of(step),
        requesting_region=step.requesting_region,
        start=start,
        end=end,
        allocations=[
            Allocation(unit_id=u, force=FORCE_OF[u], capability=Capability.PSU, eta_minutes=90, distance_km=40.0)
            for u in step.unit_ids
        ],
        approved_by="coordinator",
    )


# --- what the tables say --------------------------------------------------------------------------


Interval = tuple[datetime, datetime]
TRAVEL = timedelta(minutes=90)  # every approval here says each unit arrives in 90 minutes


@dataclass(frozen=True)
class UnitRow:
    force: str
    region: str
    capability: Capability
    scope: LendingScope
    windows: tuple[Interval, ...]
    status: UnitStatus
    bookings: frozenset[tuple[str, datetime, datetime]]  # (request, start, end)
    version: int

    def covers(self, period: Interval) -> bool:
        return any(start <= period[0] and period[1] <= end for start, end in self.windows)

    def lendable_to(self, region: str) -> bool:
        return self.scope is LendingScope.NATIONAL or (self.scope is LendingScope.REGION and self.region == region)

    def booked_during(self, interval: Interval, *, except_for: str | None = None) -> bool:
        """Booked in the interval for another request than except_for (one request's bookings merge)."""
        return any(
            start < interval[1] and interval[0] < end for request, start, end in self.bookings if request != except_for
        )


def booking_interval(period: str) -> Interval:
    start, end = PERIODS[period]
    return start - TRAVEL, end + TRAVEL


@dataclass(frozen=True)
class Published:
    type: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Snapshot:
    units: dict[str, UnitRow]
    reserves: dict[tuple[str, Capability], int]
    outbox: tuple[Published, ...]
    hosts: frozenset[tuple[str, str]] = frozenset()  # (request, host force) of every booking

    def lent(self) -> list[tuple[str, str, Capability, datetime, datetime]]:
        """Every booking as (lending force, host force, capability, start, end)."""
        host = dict(self.hosts)
        return [
            (unit.force, host[request], unit.capability, start, end)
            for unit in self.units.values()
            for request, start, end in unit.bookings
        ]

    def free_throughout(self, force: str, capability: Capability, period: str) -> int:
        """The fewest units of the force free at home at any instant of a period's booking interval: declared
        AVAILABLE, not booked and, during the period itself, inside a window. Counted instant by instant, at
        every edge where the count can change."""
        mine = [u for u in self.units.values() if (u.force, u.capability, u.status) == (force, capability, AVAILABLE)]
        first, last = booking_interval(period)
        duty = PERIODS[period]
        edges = {first, *duty} | {edge for u in mine for _, *span in u.bookings for edge in span}
        edges |= {edge for u in mine for window in u.windows for edge in window}

        def free_at(unit: UnitRow, instant: datetime) -> bool:
            booked = any(start <= instant < end for _, start, end in unit.bookings)
            on_duty = not duty[0] <= instant < duty[1] or any(start <= instant < end for start, end in unit.windows)
            return on_duty and not booked

        return min(sum(free_at(u, instant) for u in mine) for instant in edges if first <= instant < last)

    def reserve(self, force: str, capability: Capability) -> int:
        return self.reserves.get((force, capability), 0)

    def booked_for(self, request_id: str) -> set[str]:
        return {unit_id for unit_id, unit in self.units.items() if any(r == request_id for r, _, _ in unit.bookings)}


async def observe(sessions: db.SessionFactory) -> Snapshot:
    async with sessions() as session:
        units = (await session.exec(select(Unit))).all()
        bookings = await bookings_of(session, [unit.unit_id for unit in units])
        policies = (await session.exec(select(ForcePolicyRow))).all()
        outbox = (await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
    return Snapshot(
        units={unit.unit_id: row_of(unit, bookings[unit.unit_id]) for unit in units},
        reserves={(row.force, Capability(c)): n for row in policies for c, n in row.reserve.items()},
        outbox=tuple(Published(type=m.event_type, data=json.loads(m.payload)["data"]) for m in outbox),
        hosts=frozenset((b.request_id, b.host_force) for rows in bookings.values() for b in rows),
    )


def row_of(unit: Unit, bookings: list[BookingRow]) -> UnitRow:
    windows = [Window.model_validate(window) for window in unit.windows]
    return UnitRow(
        force=unit.force,
        region=unit.region,
        capability=unit.capability,
        scope=unit.scope,
        windows=tuple((window.start, window.end) for window in windows),
        status=unit.status,
        bookings=frozenset((b.request_id, b.start, b.end) for b in bookings),
        version=unit.version,
    )


# --- the properties -------------------------------------------------------------------------------


def check_step(step: Step, before: Snapshot, after: Snapshot, refused: MutualAidError | None) -> None:
    no_unit_holds_two_bookings_that_overlap(after)
    aid_never_flows_both_ways_between_two_forces(after)
    bookings_come_only_from_approvals_and_go_only_by_release_or_recall(step, before, after)
    no_commit_leaves_a_lending_force_below_its_reserve(step, before, after)
    a_step_changes_only_the_units_it_names(step, before, after)
    if refused is not None:
        assert after == before, f"{step} was refused ({refused}) but left a trace"
    if isinstance(step, Redeliver):
        assert after == before, f"{step}: a redelivered event was applied again"
    if isinstance(step, Commit):
        a_commit_is_all_or_nothing(step, before, after)


def no_unit_holds_two_bookings_that_overlap(after: Snapshot) -> None:
    for unit_id, unit in after.units.items():
        ordered = sorted(unit.bookings, key=lambda booking: booking[1])
        for (first, _, first_end), (second, second_start, _) in pairwise(ordered):
            assert first_end <= second_start, f"{unit_id} is booked for {first} and {second} at once"


def aid_never_flows_both_ways_between_two_forces(after: Snapshot) -> None:
    lent = after.lent()
    for lender, host, capability, start, end in lent:
        if lender == host:
            continue  # its own units: not aid
        back = [b for b in lent if (b[0], b[1], b[2]) == (host, lender, capability) and b[3] < end and start < b[4]]
        assert not back, f"{lender} lends {host} {capability} from {start} to {end} while {host} lends it {back}"


def new_bookings(before: Snapshot, after: Snapshot) -> dict[str, set[tuple[str, datetime, datetime]]]:
    """The bookings each unit holds after the step and did not before (units with none left out)."""
    added = {
        unit_id: set(unit.bookings - (before.units[unit_id].bookings if unit_id in before.units else frozenset()))
        for unit_id, unit in after.units.items()
    }
    return {unit_id: bookings for unit_id, bookings in added.items() if bookings}


def bookings_come_only_from_approvals_and_go_only_by_release_or_recall(
    step: Step, before: Snapshot, after: Snapshot
) -> None:
    for unit_id, was in before.units.items():
        assert unit_id in after.units, f"{step} deleted {unit_id}"
        for booking in was.bookings - after.units[unit_id].bookings:
            freed_by = (Release(request_id=booking[0]), Recall(unit_id=unit_id))
            merged = isinstance(step, Commit) and any(
                request == booking[0] and start <= booking[1] and booking[2] <= end
                for request, start, end in after.units[unit_id].bookings
            )  # the same request booked again next to it: one booking covers both
            assert step in freed_by or merged, f"{step} ended {unit_id}'s booking for {booking[0]}"
    for unit_id, added in new_bookings(before, after).items():
        assert isinstance(step, Commit), f"{step} booked {unit_id}: {added}"
        assert {request for request, _, _ in added} == {step.request_id}, f"{step} booked {unit_id}: {added}"
        wanted = booking_interval(step.period)
        assert all(start <= wanted[0] and wanted[1] <= end for _, start, end in added), f"{step}: {added}"
        assert before.units[unit_id].status is AVAILABLE, f"{step} booked {unit_id}, declared {before.units[unit_id]}"


def no_commit_leaves_a_lending_force_below_its_reserve(step: Step, before: Snapshot, after: Snapshot) -> None:
    if not isinstance(step, Commit):
        return
    drawn_on = {
        (after.units[unit_id].force, after.units[unit_id].capability) for unit_id in new_bookings(before, after)
    }
    for force, capability in sorted(drawn_on):
        left = after.free_throughout(force, capability, step.period)
        reserve = after.reserve(force, capability)
        assert left >= reserve, f"a commit left {force} {left} {capability} free, below its reserve of {reserve}"


def a_step_changes_only_the_units_it_names(step: Step, before: Snapshot, after: Snapshot) -> None:
    changed = changed_units(before, after)
    named: set[str] = set()
    match step:
        case Declare() | Recall():
            named = {step.unit_id}
        case Commit():
            named = set(step.unit_ids)
        case Release():
            named = before.booked_for(step.request_id)
            assert not after.booked_for(step.request_id), f"{step} left units booked"
    assert changed <= named, f"{step} changed {sorted(changed - named)}"


def changed_units(before: Snapshot, after: Snapshot) -> set[str]:
    return {unit_id for unit_id, unit in after.units.items() if before.units.get(unit_id) != unit}


def a_commit_is_all_or_nothing(step: Commit, before: Snapshot, after: Snapshot) -> None:
    named, changed = set(step.unit_ids), changed_units(before, after)
    outcomes = after.outbox[len(before.outbox) :]
    assert len(outcomes) == 1, f"{step} published {outcomes}"
    if changed:
        assert changed == named, f"{step} committed only {sorted(changed)}"
        assert outcomes[0].type == UnitsCommitted.cloudevent_type(), f"{step} published {outcomes[0]}"
        assert {unit["unit_id"] for unit in outcomes[0].data["units"]} == named
        assert len(committable(step, before)) == len(step.unit_ids), f"{step} committed units it should not"
        event("a commit went through")
        return
    assert outcomes[0].type == CommitRejected.cloudevent_type(), f"{step} published {outcomes[0]}"
    failures = [CommitFailure.model_validate(failure) for failure in outcomes[0].data["failures"]]
    assert failures, f"{step} was rejected without a reason"
    for failure in failures:
        assert is_true(failure, step, before), f"{step} was rejected for an untrue reason: {failure}"
    for rule in sorted({failure.rule for failure in failures}):
        event(f"a commit was refused by rule {rule}")


def committable(step: Commit, before: Snapshot) -> list[UnitRow]:
    """The distinct named units that exist, are AVAILABLE, cover the period, are free around it and may go."""
    named = [before.units.get(unit_id) for unit_id in dict.fromkeys(step.unit_ids)]
    return [
        unit
        for unit in named
        if unit is not None
        and unit.status is AVAILABLE
        and unit.covers(PERIODS[step.period])
        and not unit.booked_during(booking_interval(step.period), except_for=step.request_id)
        and unit.lendable_to(step.requesting_region)
    ]


def is_true(failure: CommitFailure, step: Commit, before: Snapshot) -> bool:
    unit = before.units.get(failure.unit_id)
    if failure.rule == "distinct":
        return len(set(step.unit_ids)) < len(step.unit_ids)
    if failure.rule == "exists":
        return unit is None
    if unit is None:
        return False
    if failure.rule == "available":
        return unit.status is not AVAILABLE
    if failure.rule == "window":
        return not unit.covers(PERIODS[step.period])
    if failure.rule == "booked":
        return unit.booked_during(booking_interval(step.period), except_for=step.request_id)
    if failure.rule == "scope":
        return not unit.lendable_to(step.requesting_region)
    if failure.rule == "in_need":
        interval = booking_interval(step.period)
        return any(
            host == unit.force and capability == unit.capability and start < interval[1] and interval[0] < end
            for _, host, capability, start, end in before.lent()
        )
    if failure.rule == "reserve":
        key = (unit.force, unit.capability)
        taking = sum(1 for other in committable(step, before) if (other.force, other.capability) == key)
        free = before.free_throughout(*key, step.period)
        return lendable(free, before.reserve(*key)) < taking
    return False


# --- running it -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MigratedDatabase:
    url: str
    examples: int


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def migrated_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MigratedDatabase]:
    """One migrated availability database of each kind; every example empties its tables first."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('property') / 'availability.db'}"
        asyncio.run(migrations.upgrade(script_location=MIGRATIONS, database_url=url))
        yield MigratedDatabase(url=url, examples=200)
        return
    server: str = request.getfixturevalue("postgres_server")
    with entered(fresh_postgres_database(server)) as url:
        asyncio.run(migrations.upgrade(script_location=MIGRATIONS, database_url=url))
        yield MigratedDatabase(url=url, examples=50)


@contextlib.contextmanager
def entered(manager: contextlib.AbstractAsyncContextManager[str]) -> Iterator[str]:
    """An async context manager entered and left from synchronous code, on one event loop of its own."""
    with asyncio.Runner() as runner:
        value = runner.run(manager.__aenter__())
        try:
            yield value
        finally:
            runner.run(manager.__aexit__(None, None, None))


async def play(database_url: str, scenario: list[Step]) -> None:
    engine = db.create_engine(database_url)
    try:
        async with engine.begin() as connection:
            for table in (BookingRow, Unit, ForcePolicyRow, OutboxMessage, InboxEntry):
                await connection.execute(delete(table))
        sessions = db.session_factory(engine)
        availability = Availability(sessions)
        before = await observe(sessions)
        for step in scenario:
            refused = await availability.take(step)
            after = await observe(sessions)
            check_step(step, before, after, refused)
            before = after
    finally:
        await engine.dispose()


STAFFS_1, STAFFS_2, STAFFS_3 = (f"staffordshire-psu-{n}" for n in (1, 2, 3))


def test_no_sequence_of_steps_commits_a_force_below_its_reserve_or_a_unit_twice_at_once(
    migrated_database: MigratedDatabase,
) -> None:
    """The properties of the module docstring hold after every step of every generated scenario."""

    @settings(
        max_examples=migrated_database.examples,
        deadline=None,
        report_multiple_bugs=False,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(scenario=scenarios)
    @example(
        scenario=[
            SetPolicy("staffordshire", reserve=1),
            Commit("req-1", (STAFFS_1,)),  # commits: 2 of 3 stay
            Commit("req-2", (STAFFS_1, STAFFS_2)),  # refused: staffordshire-psu-1 is committed to req-1
            Commit("req-2", (STAFFS_2, STAFFS_3)),  # refused: would leave 0, reserve 1
            Commit("req-3", (STAFFS_2, UNDECLARED)),  # refused: no such unit
            Declare(STAFFS_1, status=UnitStatus.WITHDRAWN),  # refused: committed, recall it first
            Recall(STAFFS_2),  # refused: not committed
            Release("req-1"),  # staffordshire-psu-1 AVAILABLE again
            Commit("req-2", (STAFFS_1,)),  # commits, now to req-2
            Redeliver(0),  # the first tasking.approved again: skipped
            Recall(STAFFS_1),  # UNAVAILABLE, committed to nothing
        ]
    )
    @example(
        scenario=[
            Commit("req-1", (STAFFS_1,), period="inside early"),  # booked early
            Commit("req-2", (STAFFS_1,), period="inside late"),  # and late: the bookings do not overlap
            Commit("req-3", (STAFFS_1,), period="across the gap"),  # refused: window and bookings
            Release("req-1"),  # the early booking ends, the late one stays
            Commit("req-3", (STAFFS_1,), period="inside early"),  # booked early again, for req-3
        ]
    )
    @example(
        scenario=[
            Commit("req-2", ("warwickshire-psu-1",)),  # Warwickshire lends Staffordshire a PSU
            Commit("req-3", (STAFFS_1,)),  # refused: Staffordshire is receiving PSUs at the same time
            Commit("req-3", (STAFFS_1,), period="inside late"),  # later: it may lend Warwickshire one
        ]
    )
    def holds(scenario: list[Step]) -> None:
        asyncio.run(play(migrated_database.url, [*OPENING, *scenario]))

    holds()
