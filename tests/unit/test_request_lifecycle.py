"""The request lifecycle and what makes a request valid."""

from datetime import UTC, datetime, timedelta

import pytest

from services.requests.domain import (
    CANCELLABLE,
    CAUGHT_UP,
    OUTCOMES,
    PLANNING_ENDED,
    TERMINAL,
    TRANSITIONS,
    RequestRules,
    RequestStatus,
    check_cancellable,
    check_new_request,
    next_status,
    only_on_timeline,
    outcome_of,
)
from shared.cloudevents import registered
from shared.errors import Conflict, InvalidInput
from shared.events import AVAILABILITY_TOPIC, TASKING_TOPIC
from shared.vocabulary import Capability, Need

S = RequestStatus
NOON = datetime(2026, 12, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("event_type", "partial", "expected"),
    [
        ("matching.started", False, S.MATCHING),
        ("request.escalated", False, S.ESCALATED),
        ("proposal.created", False, S.PROPOSED),
        ("proposal.superseded", False, S.MATCHING),
        ("tasking.approved", False, S.APPROVED),
        ("tasking.approved", True, S.PARTIALLY_FILLED),
        ("tasking.rejected", False, S.REJECTED),
        ("request.unfilled", False, S.UNFILLED),
        ("units.committed", False, S.MOBILISED),
        ("commit.rejected", False, S.MATCHING),
        ("units.recalled", False, S.MATCHING),
        ("tasking.stood_down", False, S.STOOD_DOWN),
        ("units.released", False, S.CLOSED),
    ],
)
def test_each_outcome_event_stands_for_a_status(event_type: str, partial: bool, expected: S) -> None:
    assert outcome_of(event_type, partial=partial) is expected


def test_only_an_approval_can_be_partial() -> None:
    assert outcome_of("units.committed", partial=True) is S.MOBILISED


def test_every_outcome_is_an_event_the_service_consumes() -> None:
    types = {model.event_type: model.topic for model in registered().values()}
    assert set(OUTCOMES) <= set(types)
    assert {types[event_type] for event_type in OUTCOMES} == {TASKING_TOPIC, AVAILABILITY_TOPIC}


@pytest.mark.parametrize(
    ("current", "outcome", "expected"),
    [
        (S.SUBMITTED, S.MATCHING, S.MATCHING),
        (S.MATCHING, S.PROPOSED, S.PROPOSED),
        (S.PROPOSED, S.APPROVED, S.APPROVED),
        (S.APPROVED, S.MOBILISED, S.MOBILISED),
        (S.MOBILISED, S.STOOD_DOWN, S.STOOD_DOWN),
        (S.STOOD_DOWN, S.CLOSED, S.CLOSED),
        # escalation: national planning, then a proposal again
        (S.MATCHING, S.ESCALATED, S.ESCALATED),
        (S.PROPOSED, S.ESCALATED, S.ESCALATED),
        (S.ESCALATED, S.PROPOSED, S.PROPOSED),
        (S.ESCALATED, S.UNFILLED, S.UNFILLED),
        # partial approval, and planning for the rest
        (S.PROPOSED, S.PARTIALLY_FILLED, S.PARTIALLY_FILLED),
        (S.MOBILISED, S.PARTIALLY_FILLED, S.PARTIALLY_FILLED),  # units.committed overtook the partial approval
        (S.PARTIALLY_FILLED, S.PROPOSED, S.PROPOSED),
        (S.PARTIALLY_FILLED, S.APPROVED, S.APPROVED),  # the proposal for the rest is approved
        (S.PARTIALLY_FILLED, S.STOOD_DOWN, S.STOOD_DOWN),
        # re-plans: superseded, recalled, commit rejected
        (S.PROPOSED, S.MATCHING, S.MATCHING),
        (S.APPROVED, S.MATCHING, S.MATCHING),
        (S.PARTIALLY_FILLED, S.MATCHING, S.MATCHING),
        (S.MOBILISED, S.MATCHING, S.MATCHING),
        (S.MOBILISED, S.PROPOSED, S.PROPOSED),  # the re-plan's proposal overtook units.recalled
        (S.PROPOSED, S.PROPOSED, S.PROPOSED),  # a new proposal replaces the pending one
        (S.APPROVED, S.PROPOSED, S.PROPOSED),
        (S.MATCHING, S.MOBILISED, S.MOBILISED),  # units.committed overtook the proposal and its approval
        # skipping steps
        (S.PROPOSED, S.MOBILISED, S.MOBILISED),  # units.committed overtook tasking.approved
        (S.SUBMITTED, S.PROPOSED, S.PROPOSED),
        (S.SUBMITTED, S.MOBILISED, S.MOBILISED),  # units.committed overtook the proposal and its approval
        (S.APPROVED, S.STOOD_DOWN, S.STOOD_DOWN),
        # other outcomes
        (S.PROPOSED, S.REJECTED, S.REJECTED),
        (S.MATCHING, S.UNFILLED, S.UNFILLED),
        (S.SUBMITTED, S.CANCELLED, S.CANCELLED),
        (S.ESCALATED, S.CANCELLED, S.CANCELLED),
        (S.PROPOSED, S.CANCELLED, S.CANCELLED),
    ],
)
def test_outcomes_move_a_request_forward(current: S, outcome: S, expected: S) -> None:
    assert next_status(current, outcome) is expected


@pytest.mark.parametrize(
    ("current", "outcome"),
    [
        (S.MOBILISED, S.APPROVED),
        (S.PARTIALLY_FILLED, S.MOBILISED),  # its approved units are mobilised; the request is not filled
        (S.ESCALATED, S.MATCHING),
        (S.ESCALATED, S.ESCALATED),
        (S.PROPOSED, S.SUBMITTED),
        (S.APPROVED, S.CANCELLED),
        (S.MOBILISED, S.CANCELLED),
        (S.MATCHING, S.CLOSED),  # units.released closes only a stood-down request
        (S.MOBILISED, S.CLOSED),
        (S.STOOD_DOWN, S.MATCHING),  # a late units.recalled
        (S.STOOD_DOWN, S.MOBILISED),
        (S.STOOD_DOWN, S.CANCELLED),
    ],
)
def test_a_late_or_stale_outcome_never_moves_a_request_back(current: S, outcome: S) -> None:
    assert next_status(current, outcome) is None


@pytest.mark.parametrize(
    ("event_type", "current", "expected"),
    [
        ("commit.rejected", S.APPROVED, S.MATCHING),
        ("commit.rejected", S.PARTIALLY_FILLED, S.MATCHING),
        ("commit.rejected", S.PROPOSED, None),  # overtook tasking.approved; tasking's re-plan follows it
        ("commit.rejected", S.MATCHING, None),  # behind the re-plan's proposal.superseded
        ("units.recalled", S.MOBILISED, S.MATCHING),
        ("units.recalled", S.PARTIALLY_FILLED, S.MATCHING),
        ("units.recalled", S.PROPOSED, None),  # behind the re-plan's proposal.created
        ("proposal.superseded", S.PROPOSED, S.MATCHING),
        ("proposal.superseded", S.APPROVED, S.MATCHING),
        ("proposal.superseded", S.MOBILISED, S.MATCHING),
    ],
)
def test_a_re_plan_trigger_from_availability_moves_only_the_approval_or_units_it_concerns(
    event_type: str, current: S, expected: S | None
) -> None:
    assert next_status(current, outcome_of(event_type), event_type=event_type) is expected


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        (S.PROPOSED, None),  # the replacement's proposal.created came first
        (S.APPROVED, S.MATCHING),  # the replacement's proposal.created follows
        (S.MOBILISED, S.MATCHING),
        (S.PARTIALLY_FILLED, S.MATCHING),
    ],
)
def test_a_supersession_naming_its_replacement_keeps_a_proposed_request(current: S, expected: S | None) -> None:
    status = next_status(current, outcome_of("proposal.superseded"), event_type="proposal.superseded", replaced=True)
    assert status is expected


@pytest.mark.parametrize("current", sorted(TERMINAL))
@pytest.mark.parametrize("outcome", list(RequestStatus))
def test_a_terminal_status_never_moves(current: S, outcome: S) -> None:
    assert next_status(current, outcome) is None


@pytest.mark.parametrize("current", sorted(PLANNING_ENDED))
@pytest.mark.parametrize("outcome", list(RequestStatus))
def test_a_request_whose_planning_ended_moves_only_to_a_stand_down_of_the_units_it_still_holds(
    current: S, outcome: S
) -> None:
    assert next_status(current, outcome) is (S.STOOD_DOWN if outcome is S.STOOD_DOWN else None)


def test_a_rejected_proposal_that_leaves_the_request_going_moves_nothing() -> None:
    assert only_on_timeline("tasking.rejected", closes_request=False)
    assert not only_on_timeline("tasking.rejected", closes_request=True)


def test_the_table_covers_every_status_and_closes_only_a_stood_down_request() -> None:
    assert set(TRANSITIONS) == set(RequestStatus)
    assert {S.CANCELLED, S.CLOSED} == TERMINAL
    assert {S.REJECTED} == PLANNING_ENDED
    assert TRANSITIONS[S.STOOD_DOWN] == {S.CLOSED}
    assert {status for status, allowed in TRANSITIONS.items() if S.CLOSED in allowed} == {S.STOOD_DOWN}
    assert all(S.SUBMITTED not in allowed for allowed in TRANSITIONS.values())


def test_an_overtaken_commit_or_release_is_caught_up_with() -> None:
    assert CAUGHT_UP == {S.APPROVED: ("units.committed", S.MOBILISED), S.STOOD_DOWN: ("units.released", S.CLOSED)}
    for status, (event_type, following) in CAUGHT_UP.items():
        assert outcome_of(event_type) is following
        assert next_status(status, following) is following


def test_a_request_can_be_cancelled_only_before_approval() -> None:
    assert {S.SUBMITTED, S.MATCHING, S.ESCALATED, S.PROPOSED, S.UNFILLED} == CANCELLABLE
    assert {status for status, allowed in TRANSITIONS.items() if S.CANCELLED in allowed} == CANCELLABLE
    for status in CANCELLABLE:
        check_cancellable(status, approved_before=False)


@pytest.mark.parametrize("current", sorted(set(RequestStatus) - CANCELLABLE))
def test_cancelling_an_approved_or_finished_request_is_a_conflict(current: S) -> None:
    with pytest.raises(Conflict, match=f"the request is {current}: only a request not yet approved"):
        check_cancellable(current, approved_before=False)


@pytest.mark.parametrize("current", [S.MATCHING, S.PROPOSED])
def test_a_request_re_planned_after_an_approval_can_no_longer_be_cancelled(current: S) -> None:
    with pytest.raises(Conflict, match="a proposal for it was approved"):
        check_cancellable(current, approved_before=True)


ONE_PSU = [Need(capability=Capability.PSU, quantity=1)]
RULES = RequestRules()


def test_a_request_must_end_after_it_is_required() -> None:
    with pytest.raises(InvalidInput, match="end must be after required_by"):
        check_new_request(required_by=NOON, end=NOON, needs=ONE_PSU, now=NOON - timedelta(days=1), rules=RULES)


def test_a_request_whose_period_has_ended_is_refused() -> None:
    april = datetime(2026, 4, 8, 8, tzinfo=UTC)
    with pytest.raises(InvalidInput, match="ended at 2026-04-09T08:00:00"):
        check_new_request(required_by=april, end=april + timedelta(days=1), needs=ONE_PSU, now=NOON, rules=RULES)


def test_a_request_longer_than_eight_weeks_is_a_secondment_and_refused() -> None:
    with pytest.raises(InvalidInput, match="covers 3652 days; mutual aid lasts at most 56 days"):
        check_new_request(required_by=NOON, end=NOON + timedelta(days=3652), needs=ONE_PSU, now=NOON, rules=RULES)
    check_new_request(required_by=NOON, end=NOON + timedelta(weeks=8), needs=ONE_PSU, now=NOON, rules=RULES)


def test_a_capability_is_asked_for_once() -> None:
    needs = [Need(capability=Capability.PSU, quantity=1), Need(capability=Capability.PSU, quantity=2)]
    with pytest.raises(InvalidInput, match="repeated: PSU"):
        check_new_request(required_by=NOON, end=NOON + timedelta(days=1), needs=needs, now=NOON, rules=RULES)
