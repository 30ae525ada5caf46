"""Pure rules of a mutual aid request: its lifecycle and what makes a request valid. No I/O."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

from shared.errors import Conflict, InvalidInput
from shared.vocabulary import Need


class RequestStatus(StrEnum):
    SUBMITTED = "SUBMITTED"
    MATCHING = "MATCHING"
    ESCALATED = "ESCALATED"
    PROPOSED = "PROPOSED"
    APPROVED = "APPROVED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    MOBILISED = "MOBILISED"
    STOOD_DOWN = "STOOD_DOWN"
    CLOSED = "CLOSED"
    REJECTED = "REJECTED"
    UNFILLED = "UNFILLED"
    CANCELLED = "CANCELLED"


S = RequestStatus

# What each event from tasking or availability means for the request, by short event type.
# tasking.approved depends on its data: see outcome_of. request.cancelled is not here: the
# requests service emits it itself (see CANCELLABLE).
OUTCOMES: dict[str, RequestStatus] = {
    "matching.started": S.MATCHING,
    "request.escalated": S.ESCALATED,  # national planning follows: a later proposal.created
    "proposal.created": S.PROPOSED,
    "proposal.superseded": S.MATCHING,  # tasking re-plans: a new proposal.created comes with it or follows
    "tasking.approved": S.APPROVED,  # PARTIALLY_FILLED when the approval is partial
    "tasking.rejected": S.REJECTED,
    "request.unfilled": S.UNFILLED,
    "units.committed": S.MOBILISED,
    "commit.rejected": S.MATCHING,  # tasking re-plans the tasking that could not be committed
    "units.recalled": S.MATCHING,  # tasking re-plans what the recalled units covered
    "tasking.stood_down": S.STOOD_DOWN,
    "units.released": S.CLOSED,
}

TERMINAL = frozenset({S.CANCELLED, S.CLOSED})

# Planning ended for the request, but it may still hold units an earlier approval committed (part
# of it approved and mobilised, then the rest rejected): tasking stands such a request down (and only
# such a one), so a stand-down still moves it on and its units go home.
PLANNING_ENDED = frozenset({S.REJECTED})

# Its force may cancel a request until a proposal for it is approved (the table below agrees); a
# request re-planned after an approval (back to MATCHING or PROPOSED) is no longer cancellable.
CANCELLABLE = frozenset({S.SUBMITTED, S.MATCHING, S.ESCALATED, S.PROPOSED, S.UNFILLED})

# Where each status may go: the whole lifecycle in one table.
#
# Events of one topic arrive in order; events of different topics are not ordered against each
# other (units.committed can overtake tasking.approved; the proposal.superseded and proposal.created
# of a re-plan can overtake the commit.rejected or units.recalled that caused it), so a status may
# skip steps forward. An event that would take the request back is still recorded on the timeline
# but moves nothing. Terminal statuses never move; STOOD_DOWN only closes; a stand-down (the host's
# decision) ends any open request.
TRANSITIONS: dict[RequestStatus, frozenset[RequestStatus]] = {
    # nothing is stale against a new request: every outcome moves it on (CLOSED follows a stand-down)
    S.SUBMITTED: frozenset(
        {
            S.MATCHING,
            S.ESCALATED,
            S.PROPOSED,
            S.APPROVED,
            S.PARTIALLY_FILLED,
            S.MOBILISED,  # units.committed overtook the whole plan
            S.REJECTED,
            S.UNFILLED,
            S.STOOD_DOWN,
            S.CANCELLED,
        }
    ),
    # tasking's events come in order, so nothing of theirs is stale here; units.committed may
    # overtake the proposal and approval it follows
    S.MATCHING: frozenset(
        {
            S.ESCALATED,
            S.PROPOSED,
            S.APPROVED,
            S.PARTIALLY_FILLED,
            S.MOBILISED,
            S.REJECTED,
            S.UNFILLED,
            S.STOOD_DOWN,
            S.CANCELLED,
        }
    ),
    # national planning; a regional re-plan (back to MATCHING) is behind it and does not move it
    S.ESCALATED: frozenset(
        {
            S.PROPOSED,
            S.APPROVED,
            S.PARTIALLY_FILLED,
            S.MOBILISED,
            S.REJECTED,
            S.UNFILLED,
            S.STOOD_DOWN,
            S.CANCELLED,
        }
    ),
    S.PROPOSED: frozenset(
        {
            S.MATCHING,  # the pending proposal is superseded and nothing replaces it yet
            S.ESCALATED,  # the regional proposal leaves a shortfall: national planning follows
            S.PROPOSED,  # a new proposal replaces a pending one
            S.APPROVED,
            S.PARTIALLY_FILLED,
            S.MOBILISED,  # units.committed overtook tasking.approved
            S.REJECTED,
            S.UNFILLED,
            S.STOOD_DOWN,
            S.CANCELLED,
        }
    ),
    # the commit is rejected and tasking re-plans: a new proposal (or none) and proposal.superseded
    S.APPROVED: frozenset({S.MATCHING, S.ESCALATED, S.PROPOSED, S.MOBILISED, S.UNFILLED, S.STOOD_DOWN}),
    # its approved units are mobilised but the request is not filled, so units.committed leaves it
    # here; planning for the rest (up to a plain approval of it), or a re-plan after a recall or a
    # rejected commit, moves it on
    S.PARTIALLY_FILLED: frozenset({S.MATCHING, S.ESCALATED, S.PROPOSED, S.APPROVED, S.STOOD_DOWN}),
    # units recalled and tasking re-plans (its new proposal may come first), or a partial approval
    # arriving after the units it committed
    S.MOBILISED: frozenset({S.MATCHING, S.ESCALATED, S.PROPOSED, S.PARTIALLY_FILLED, S.STOOD_DOWN}),
    S.STOOD_DOWN: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
    S.REJECTED: frozenset({S.STOOD_DOWN}),
    # open until filled: capacity that appears later tops it up (a new proposal), until it is cancelled
    S.UNFILLED: frozenset({S.MATCHING, S.ESCALATED, S.PROPOSED, S.STOOD_DOWN, S.CANCELLED}),
    S.CANCELLED: frozenset(),
}


# Availability's re-plan triggers concern the approval or the units in place, and tasking answers
# each with its own proposal.created and proposal.superseded, which may reach the requests service
# first: in any other status they are behind that re-plan (or ahead of what they follow, which
# tasking's events then bring) and move nothing.
ONLY_FROM: dict[str, frozenset[RequestStatus]] = {
    "commit.rejected": frozenset({S.APPROVED, S.PARTIALLY_FILLED}),
    "units.recalled": frozenset({S.MOBILISED, S.PARTIALLY_FILLED}),
}

# An outcome that can overtake the one it follows (another topic) and so found the request not yet
# ready for it: when the request reaches the status, it goes on at once if that outcome is already
# on its timeline (for the same proposal, when the event that moved it names one). Availability
# commits a tasking's units only once it is approved (a partially filled request keeps its status on
# a commit, so a plain approval of the rest may come after its commit) and releases them only once
# the request is stood down.
CAUGHT_UP: dict[RequestStatus, tuple[str, RequestStatus]] = {
    S.APPROVED: ("units.committed", S.MOBILISED),
    S.STOOD_DOWN: ("units.released", S.CLOSED),
}


def outcome_of(event_type: str, *, partial: bool = False) -> RequestStatus:
    """The status an outcome event stands for; a partial approval, or what cannot be filled while units
    already serve the request, leaves it PARTIALLY_FILLED."""
    if event_type in ("tasking.approved", "request.unfilled") and partial:
        return S.PARTIALLY_FILLED
    return OUTCOMES[event_type]


def only_on_timeline(event_type: str, *, closes_request: bool) -> bool:
    """A rejected proposal that does not end the request (another proposal of it, or units already
    approved, keep it going) is recorded on the timeline and moves nothing."""
    return event_type == "tasking.rejected" and not closes_request


def next_status(
    current: RequestStatus, outcome: RequestStatus, *, event_type: str = "", replaced: bool = False
) -> RequestStatus | None:
    """The status after an outcome (of that event type), or None when it does not move the request on.

    replaced: a proposal.superseded that names its replacement. Tasking publishes it together with
    the replacement's proposal.created (the new proposal first), so a PROPOSED request is already on
    the replacement and stays PROPOSED.
    """
    current = RequestStatus(current)
    if event_type in ONLY_FROM and current not in ONLY_FROM[event_type]:
        return None
    if replaced and current is S.PROPOSED:
        return None
    return outcome if outcome in TRANSITIONS[current] else None


def check_cancellable(current: RequestStatus, *, approved_before: bool) -> None:
    """Refuse to cancel a request once a proposal for it was approved, or once it is over."""
    if RequestStatus(current) not in CANCELLABLE:
        allowed = ", ".join(status for status in RequestStatus if status in CANCELLABLE)
        raise Conflict(f"the request is {current}: only a request not yet approved ({allowed}) can be cancelled")
    if approved_before:
        raise Conflict(
            f"the request is {current} again but a proposal for it was approved: it can no longer be cancelled"
        )


@dataclass(frozen=True)
class RequestRules:
    """What a new request must respect: its period ends after now, lasts at most `longest`, and starts
    no more than `furthest_ahead` from now (mutual aid for events years away is planned another way)."""

    longest: timedelta = timedelta(weeks=8)
    furthest_ahead: timedelta = timedelta(days=2 * 365)


def check_new_request(
    *, required_by: datetime, end: datetime, needs: list[Need], now: datetime, rules: RequestRules
) -> None:
    """Refuse a request whose period or needs make no sense (InvalidInput, 422).

    The period must end after now (UTC) and after required_by, and last no longer than rules.longest
    (8 weeks by default: beyond that a loan is a secondment, not mutual aid).
    """
    if end <= required_by:
        raise InvalidInput("end must be after required_by")
    if end <= now:
        raise InvalidInput(f"the request's period ended at {end.isoformat()}, before now ({now.isoformat()})")
    if required_by - now > rules.furthest_ahead:
        raise InvalidInput(f"required_by is more than {rules.furthest_ahead.days} days ahead; ask nearer the time")
    if end - required_by > rules.longest:
        raise InvalidInput(
            f"the request covers {_days(end - required_by)}; mutual aid lasts at most {rules.longest.days} days"
            " (beyond that it is a secondment): split it, or ask for a secondment"
        )
    capabilities = [need.capability for need in needs]
    repeated = sorted({c.value for c in capabilities if capabilities.count(c) > 1})
    if repeated:
        raise InvalidInput(f"each capability may appear once in needs; repeated: {', '.join(repeated)}")


# A request can be extended while it may still be served: not once it is over, stood down or rejected.
EXTENDABLE = frozenset(set(RequestStatus) - {S.STOOD_DOWN, S.CLOSED, S.REJECTED, S.CANCELLED})


def check_extension(
    current: RequestStatus,
    *,
    required_by: datetime,
    end: datetime,
    new_end: datetime,
    now: datetime,
    rules: RequestRules,
) -> None:
    """Refuse an extension of a request that is over (Conflict, 409), or to an end that is not later than
    its end, has passed or makes it longer than rules.longest (InvalidInput, 422)."""
    if RequestStatus(current) not in EXTENDABLE:
        raise Conflict(f"the request is {current}: only a request that may still be served can be extended")
    if end <= now:
        raise Conflict(f"the request's period ended at {end.isoformat()}: submit a new request instead")
    if new_end <= end:
        raise InvalidInput(f"the new end must be after the current end, {end.isoformat()}")
    if new_end - required_by > rules.longest:
        raise InvalidInput(
            f"extended, the request would cover {_days(new_end - required_by)}; mutual aid lasts at most"
            f" {rules.longest.days} days (beyond that it is a secondment)"
        )


def _days(length: timedelta) -> str:
    """A length in days as a refusal says it: "57 days", or "more than 56 days" when part of a day is over."""
    whole = length.days
    return f"{whole} days" if length == timedelta(days=whole) else f"more than {whole} days"


class CostRecovery(StrEnum):
    """How the deployment's costs are recovered (NPCC Mutual Aid Cost Recovery guidance, DOMAIN.md)."""

    SPONTANEOUS = "SPONTANEOUS"
    PLANNED = "PLANNED"
    SPECIALIST = "SPECIALIST"


class Contact(BaseModel):
    """Who at the requesting force answers for the request."""

    name: str = Field(min_length=1, max_length=200)
    phone: str = Field("", max_length=50)
    email: str = Field("", max_length=200)
