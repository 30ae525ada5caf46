"""Tasking keeps its promises under any sequence of decisions, planning runs, commits, recalls and stand-downs.

Hypothesis drives random sequences of steps through the three services' real handlers and routes
(the service-layer harness, no broker) on SQLite and then PostgreSQL. Events are delivered only by
a Deliver step, so decisions often act on a world whose events are still in flight. After every step:

1. Audit. Every proposal's status is the one its audit entries tell (a supersession still to be
   announced with the request's next plan aside).
2. One holder. No unit is held by two live proposals (pending, or approved for a request not ended).
3. Nothing stranded. A request that holds units (committed or approved) can be stood down: tasking's
   rule admits it; once events are delivered, the requests service has not closed or cancelled it.
4. Scope. A decision on a pending proposal succeeds exactly when the decider may take it (a national
   coordinator always, a coordinator of the host region on a REGIONAL proposal).

And after every Deliver step (the system settled): `mutualaid reconcile`'s comparison finds nothing,
so no unit is COMMITTED to a request that tasking does not hold it for, and the other way round.
"""

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlmodel import col, select

from mutualaid.reconcile import compare
from services.availability import queries as availability_queries
from services.requests.domain import TERMINAL
from services.tasking import queries
from services.tasking.domain import ENDED_STATES, HOLDING_PROPOSALS, check_stand_down
from services.tasking.lifecycle import capacity_appeared
from services.tasking.models import Proposal, RequestView
from tests.support.harness import Harness, database_urls, harness
from tests.support.steps import INTEGRATION, NATIONAL, coordinator, decide, declare, operator, stand_down, submit

FORCES = ("west-midlands", "staffordshire", "greater-manchester")
UNITS = [
    ("staffordshire", "PSU"),
    ("staffordshire", "PSU"),
    ("warwickshire", "PSU"),
    ("merseyside", "PSU"),
    ("greater-manchester", "PSU"),
    ("west-mercia", "POM"),
    ("staffordshire", "MOUNTED"),
]
OTHER_REGION = {"West Midlands": "North West", "North West": "West Midlands"}


@dataclass(frozen=True)
class Submit:
    """An operator's request; delivered: tasking takes it in at once (otherwise with the next delivery)."""

    force: str
    capability: str
    quantity: int
    priority: str
    delivered: bool = True


@dataclass(frozen=True)
class Plan:
    """A planning run; after_delivery: the events in flight arrive first (tasking takes new requests in)."""

    after_delivery: bool = True


@dataclass(frozen=True)
class Deliver:
    pass


@dataclass(frozen=True)
class Decide:
    """A decision on a pending proposal by a national coordinator, a coordinator of the host's region or of another."""

    verb: str
    pick: int
    decider: str


@dataclass(frozen=True)
class Recall:
    pick: int


@dataclass(frozen=True)
class StandDown:
    pick: int


@dataclass(frozen=True)
class Cancel:
    pick: int


Step = Submit | Plan | Deliver | Decide | Recall | StandDown | Cancel

submissions = st.builds(
    Submit,
    st.sampled_from(FORCES),
    st.sampled_from(["PSU", "PSU", "POM", "MOUNTED"]),
    st.integers(1, 2),
    st.sampled_from(["P1", "P2", "P3"]),
    st.sampled_from([True, True, False]),
)
plans = st.builds(Plan, st.sampled_from([True, True, False]))
decisions = st.builds(
    Decide,
    st.sampled_from(["approve", "approve", "reject"]),
    st.integers(0, 5),
    st.sampled_from(["national", "host region", "host region", "other region"]),
)
# Weighted towards the lifecycle (submit, plan, decide); the rest interrupts it.
steps = st.one_of(
    submissions,
    submissions,
    plans,
    plans,
    decisions,
    decisions,
    decisions,
    decisions,
    st.just(Deliver()),
    st.just(Deliver()),
    st.builds(Recall, st.integers(0, 5)),
    st.builds(StandDown, st.integers(0, 5)),
    st.builds(Cancel, st.integers(0, 5)),
)
scenarios = st.lists(steps, min_size=12, max_size=36)


class World:
    """The steps, taken on the harness, and the checks after each."""

    def __init__(self, h: Harness) -> None:
        self.h = h
        self.requests: dict[str, str] = {}  # request id -> requesting force

    async def take(self, step: Step) -> None:
        match step:
            case Submit():
                request = await submit(
                    self.h, step.force, step.capability, step.quantity, priority=step.priority, deliver=step.delivered
                )
                self.requests[request] = step.force
            case Plan():
                if step.after_delivery:
                    await self.h.deliver()
                event(f"plan: {min(await self.h.plan(), 2)}+ requests")
            case Deliver():
                await self.h.deliver()
            case Decide():
                await self.decide(step)
            case Recall():
                committed = sorted({unit_id for unit_id, _ in await self.booked()})
                if committed:
                    unit_id = committed[step.pick % len(committed)]
                    recalled = await self.h.client("availability").post(
                        f"/v1/units/{unit_id}/recall", json={"reason": "needed at home"}, headers=INTEGRATION
                    )
                    event(f"recall: {recalled.status_code}")
            case StandDown():
                if self.requests:
                    request, force = list(self.requests.items())[step.pick % len(self.requests)]
                    stood_down = await stand_down(self.h, request, force)
                    event(f"stand-down: {stood_down.status_code}")
            case Cancel():
                if self.requests:
                    request, force = list(self.requests.items())[step.pick % len(self.requests)]
                    cancelled = await self.h.client("requests").post(
                        f"/v1/requests/{request}/cancel",
                        json={"reason": "no longer needed"},
                        headers=operator(force),
                    )
                    event(f"cancel: {cancelled.status_code}")

    async def decide(self, step: Decide) -> None:
        async with self.h.tasking.sessions() as session:
            waiting = list((await session.exec(select(Proposal).where(Proposal.status == "PENDING"))).all())
            if not waiting:
                event("decide: nothing pending")
                return
            proposal = sorted(waiting, key=lambda p: p.id)[step.pick % len(waiting)]
            request = await session.get(RequestView, proposal.request_id)
        assert request is not None
        host = request.requesting_region
        deciders = {
            "national": NATIONAL,
            "host region": coordinator(host),
            "other region": coordinator(OTHER_REGION[host]),
        }
        answer = await decide(self.h, step.verb, proposal.id, deciders[step.decider])
        may = step.decider == "national" or (proposal.tier == "REGIONAL" and step.decider == "host region")
        expected = 200 if may else 403
        event(f"{step.verb} by {'the right' if may else 'a wrong'} coordinator")
        assert answer.status_code == expected, (
            f"{step} on {proposal.tier} of {request.requesting_region}: {answer.text}"
        )

    async def booked(self) -> set[tuple[str, str]]:
        """(unit, request) bookings availability holds."""
        return await availability_queries.booked_pairs(sessions=self.h.nodes["availability"].runtime.sessions)

    async def check(self, step: Step) -> None:
        sessions = self.h.tasking.sessions
        disagreements = await queries.proposals_disagreeing_with_trail(sessions=sessions)
        assert not disagreements, f"after {step}: {disagreements}"
        async with sessions() as session:
            states = {r.request_id: r.state for r in (await session.exec(select(RequestView))).all()}
            live = [
                p
                for p in (await session.exec(select(Proposal).where(col(Proposal.status).in_(HOLDING_PROPOSALS)))).all()
                if states[p.request_id] not in ENDED_STATES
            ]
        held = [unit_id for proposal in live for unit_id in proposal.unit_ids()]  # every request: the same period
        assert len(held) == len(set(held)), f"after {step}: a unit held twice in {[(p.id, p.unit_ids()) for p in live]}"
        holdings = await queries.holdings(sessions=sessions)
        for holding in holdings.values():
            if holding.state not in ENDED_STATES:
                check_stand_down(holding.state, holds_units=True)
        if isinstance(step, Deliver):
            booked = await self.booked()
            event(f"settled with {min(len(booked), 3)}+ units booked")
            findings = compare(booked, holdings)
            assert not findings, f"after {step}: " + "; ".join(map(str, findings))
            for request_id, holding in holdings.items():
                if holding.state not in ENDED_STATES:
                    status = (
                        await self.h.client("requests").get(f"/v1/requests/{request_id}", headers=NATIONAL)
                    ).json()
                    assert status["status"] not in TERMINAL, f"{request_id} holds units but is {status['status']}"


async def play(urls: dict[str, str], scenario: list[Step]) -> None:
    async with harness(urls) as h:
        await h.empty()
        for force, capability in UNITS:
            await declare(h, force, capability)
        world = World(h)
        for step in [*scenario, Deliver()]:
            await world.take(step)
            await world.check(step)
        await no_fitting_unit_idles_while_a_request_is_short(h)


async def no_fitting_unit_idles_while_a_request_is_short(h: Harness) -> None:
    """Once the system settles, planning every short request once more finds nothing new: the top-ups
    that capacity triggered along the way have already used whatever fits."""
    for _ in range(5):
        await h.plan()
        if not await h.deliver():
            break
    before = await proposal_count(h)
    async with h.tasking.uow() as work:
        await capacity_appeared(work.session)
        await work.commit()
    await h.plan()
    assert await proposal_count(h) == before, "a unit that fits a short request was left idle"


async def proposal_count(h: Harness) -> int:
    async with h.tasking.sessions() as session:
        return len((await session.exec(select(Proposal))).all())


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def migrated(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[dict[str, str], int]]:
    """Migrated databases of each kind for the three services; every example empties them first."""
    server = request.getfixturevalue("postgres_server") if request.param == "postgresql" else None
    examples = 40 if request.param == "sqlite" else 15
    with asyncio.Runner() as runner:
        manager = database_urls(request.param, tmp_path_factory.mktemp("tasking-property"), server)
        urls = runner.run(manager.__aenter__())
        try:
            yield urls, examples
        finally:
            runner.run(manager.__aexit__(None, None, None))


def test_no_sequence_of_decisions_strands_a_unit_or_contradicts_the_audit_trail(
    migrated: tuple[dict[str, str], int],
) -> None:
    """The properties of the module docstring hold after every step of every generated scenario."""
    urls, examples = migrated

    @settings(
        max_examples=examples,
        deadline=None,
        report_multiple_bugs=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(scenario=scenarios)
    @example(
        scenario=[
            Submit("west-midlands", "PSU", 2, "P2"),
            Plan(),
            Decide("approve", 0, "host region"),
            Deliver(),  # both Staffordshire PSUs committed
            Recall(0),  # one goes home: the proposal is superseded, the other still serves
            Deliver(),
            Plan(),  # the replacement: Warwickshire
            Decide("approve", 0, "host region"),
            StandDown(0),  # before the approval's commit arrives
            Deliver(),
        ]
    )
    @example(
        scenario=[
            Submit("greater-manchester", "PSU", 2, "P3"),
            Plan(),  # Merseyside regionally, the rest nationally
            Decide("reject", 0, "host region"),
            Decide("approve", 0, "host region"),  # the NATIONAL one: refused
            Decide("approve", 0, "national"),
            Submit("west-midlands", "PSU", 2, "P1"),
            Plan(),
            Deliver(),
            Cancel(1),  # approved: refused, stand down instead
            StandDown(0),
            Deliver(),
        ]
    )
    @example(
        scenario=[
            Submit("west-midlands", "PSU", 2, "P2"),
            Plan(),  # Staffordshire's two
            Submit("west-midlands", "PSU", 2, "P2"),
            Plan(),  # Warwickshire's one and a North West one
            Submit("west-midlands", "PSU", 2, "P2"),
            Plan(),  # one North West unit left: short
            Decide("reject", 0, "host region"),  # units go free: the short request is topped up
            Deliver(),
            Plan(),
        ]
    )
    def holds(scenario: list[Step]) -> None:
        asyncio.run(play(urls, scenario))

    holds()
