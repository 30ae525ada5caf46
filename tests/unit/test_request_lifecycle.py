"""The request lifecycle and what makes a request valid."""

from datetime import UTC, datetime, timedelta

import pytest

from services.requests.domain import OUTCOMES, RequestStatus, check_new_request, next_status
from shared.errors import InvalidInput
from shared.vocabulary import Capability, Need

S = RequestStatus
NOON = datetime(2026, 12, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("current", "outcome", "expected"),
    [
        (S.SUBMITTED, S.MATCHING, S.MATCHING),
        (S.MATCHING, S.PROPOSED, S.PROPOSED),
        (S.PROPOSED, S.APPROVED, S.APPROVED),
        (S.APPROVED, S.MOBILISED, S.MOBILISED),
        (S.PROPOSED, S.MOBILISED, S.MOBILISED),  # units.committed overtook tasking.approved
        (S.APPROVED, S.MATCHING, S.MATCHING),  # commit rejected: re-planning
        (S.PROPOSED, S.REJECTED, S.REJECTED),
        (S.MATCHING, S.UNFILLED, S.UNFILLED),
    ],
)
def test_outcomes_move_a_request_forward(current: S, outcome: S, expected: S) -> None:
    assert next_status(current, outcome) is expected


@pytest.mark.parametrize(
    ("current", "outcome"),
    [(S.MOBILISED, S.APPROVED), (S.MOBILISED, S.PROPOSED), (S.REJECTED, S.PROPOSED), (S.UNFILLED, S.MATCHING)],
)
def test_a_late_or_stale_outcome_never_moves_a_request_back(current: S, outcome: S) -> None:
    assert next_status(current, outcome) is None


def test_every_outcome_event_maps_to_a_status_of_the_lifecycle() -> None:
    assert set(OUTCOMES.values()) <= set(RequestStatus)
    assert OUTCOMES["units.committed"] is S.MOBILISED


def test_a_request_must_end_after_it_is_required() -> None:
    with pytest.raises(InvalidInput, match="end must be after required_by"):
        check_new_request(required_by=NOON, end=NOON, needs=[Need(capability=Capability.PSU, quantity=1)])


def test_a_capability_is_asked_for_once() -> None:
    needs = [Need(capability=Capability.PSU, quantity=1), Need(capability=Capability.PSU, quantity=2)]
    with pytest.raises(InvalidInput, match="repeated: PSU"):
        check_new_request(required_by=NOON, end=NOON + timedelta(days=1), needs=needs)
