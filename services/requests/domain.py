"""Pure rules of a mutual aid request: its lifecycle and what makes a request valid. No I/O."""

from datetime import datetime
from enum import StrEnum

from shared.errors import InvalidInput
from shared.vocabulary import Need


class RequestStatus(StrEnum):
    SUBMITTED = "SUBMITTED"
    MATCHING = "MATCHING"
    PROPOSED = "PROPOSED"
    APPROVED = "APPROVED"
    MOBILISED = "MOBILISED"
    REJECTED = "REJECTED"
    UNFILLED = "UNFILLED"


S = RequestStatus

# What each event from tasking or availability means for the request.
OUTCOMES: dict[str, RequestStatus] = {
    "matching.started": S.MATCHING,
    "proposal.created": S.PROPOSED,
    "tasking.approved": S.APPROVED,
    "tasking.rejected": S.REJECTED,
    "request.unfilled": S.UNFILLED,
    "units.committed": S.MOBILISED,
    "commit.rejected": S.MATCHING,  # tasking re-plans the tasking that could not be committed
}

# Events of different topics are not ordered against each other (units.committed can overtake
# tasking.approved), so a transition may skip a step but never goes back past one.
TRANSITIONS: dict[RequestStatus, frozenset[RequestStatus]] = {
    S.SUBMITTED: frozenset({S.MATCHING, S.PROPOSED, S.UNFILLED}),
    S.MATCHING: frozenset({S.PROPOSED, S.UNFILLED}),
    S.PROPOSED: frozenset({S.PROPOSED, S.APPROVED, S.REJECTED, S.UNFILLED, S.MOBILISED, S.MATCHING}),
    S.APPROVED: frozenset({S.MOBILISED, S.MATCHING, S.PROPOSED}),
    S.MOBILISED: frozenset(),
    S.REJECTED: frozenset(),
    S.UNFILLED: frozenset(),
}


def next_status(current: RequestStatus, outcome: RequestStatus) -> RequestStatus | None:
    """The status after an outcome, or None when the outcome does not move the request on."""
    return outcome if outcome in TRANSITIONS[RequestStatus(current)] else None


def check_new_request(*, required_by: datetime, end: datetime, needs: list[Need]) -> None:
    """Refuse a request whose period or needs make no sense."""
    if end <= required_by:
        raise InvalidInput("end must be after required_by")
    capabilities = [need.capability for need in needs]
    repeated = sorted({c.value for c in capabilities if capabilities.count(c) > 1})
    if repeated:
        raise InvalidInput(f"each capability may appear once in needs; repeated: {', '.join(repeated)}")
