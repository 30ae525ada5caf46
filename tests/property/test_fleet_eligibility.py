"""The fleet's eligibility in arrays gives the same units as `is_candidate`, one pair at a time.

Hypothesis draws up to 12 units of 4 forces in 2 regions, of 2 capabilities, with every status and
lending scope, 0 to 2 windows (often one that covers everything) and 0 to 2 bookings each, all on a
grid of a few instants so that starts and ends often meet exactly; and a demand from one of those
forces or another, with or without a regional tier, forces in need, and units refused for it. For each
capability, the fleet's eligible units are exactly those `is_candidate` accepts, in the same order.
"""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.tasking.planner.fleet import Fleet
from services.tasking.planner.problem import Candidate, Demand, Place, is_candidate
from shared.events import UnitStatus
from shared.vocabulary import Capability, LendingScope, Need, Window

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
FORCES = {"staffordshire": "West Midlands", "west-mercia": "West Midlands", "derbyshire": "East Midlands",
          "leicestershire": "East Midlands"}  # fmt: skip
CAPABILITIES = [Capability.PSU, Capability.AFO]
HERE = Place(52.5, -1.9)

instants = st.integers(0, 5).map(lambda hours: NOW + timedelta(hours=6 * hours))
ALWAYS = [Window(start=NOW - timedelta(days=1), end=NOW + timedelta(days=10))]


@st.composite
def periods(draw: st.DrawFn) -> Window:
    start, end = sorted(draw(st.lists(instants, min_size=2, max_size=2, unique=True)))
    return Window(start=start, end=end)


@st.composite
def units(draw: st.DrawFn, n: int) -> Candidate:
    force = draw(st.sampled_from(sorted(FORCES)))
    return Candidate(
        unit_id=f"u{n:02d}",
        force=force,
        region=FORCES[force],
        capability=draw(st.sampled_from(CAPABILITIES)),
        base=HERE,
        readiness_minutes=15,
        windows=draw(st.just(ALWAYS) | st.lists(periods(), max_size=2)),
        scope=draw(st.sampled_from([LendingScope.NATIONAL] * 3 + list(LendingScope))),
        status=draw(st.sampled_from([UnitStatus.AVAILABLE] * 3 + list(UnitStatus))),
        bookings=tuple(draw(st.lists(periods(), max_size=2))),
    )


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[Candidate], Demand]:
    fleet = [draw(units(n)) for n in range(draw(st.integers(0, 12)))]
    asking = draw(st.sampled_from([*sorted(FORCES), "west-midlands"]))
    start, end = sorted(draw(st.lists(instants, min_size=2, max_size=2, unique=True)))
    demand = Demand(
        request_id="r0",
        requesting_force=asking,
        requesting_region=FORCES.get(asking, "West Midlands"),
        location=HERE,
        required_by=start,
        end=end,
        needs=[Need(capability=Capability.PSU, quantity=1)],
        regions=draw(st.none() | st.frozensets(st.sampled_from(["West Midlands", "East Midlands", "Wales"]))),
        in_need=draw(st.frozensets(st.tuples(st.sampled_from(sorted(FORCES)), st.sampled_from(CAPABILITIES)))),
        excluded=draw(st.frozensets(st.sampled_from([f"u{n:02d}" for n in range(14)]))),
    )
    return fleet, demand


@settings(max_examples=400, deadline=None)
@given(cases())
def test_the_fleet_finds_exactly_the_units_is_candidate_accepts(case: tuple[list[Candidate], Demand]) -> None:
    units, demand = case
    fleet = Fleet(units)
    for capability in [*CAPABILITIES, Capability.DOG]:
        expected = [index for index, unit in enumerate(units) if is_candidate(unit, demand, capability)]
        assert fleet.eligible(demand, capability).tolist() == expected
