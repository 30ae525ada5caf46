"""Pure rules of a request in tasking and of its proposals: states, who decides, what holds a unit. No I/O.

Matching itself (demands, candidates, planners) is the planner package beside this module.
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise

from shared.errors import Conflict, Forbidden, InvalidInput
from shared.events import Allocation, ProposalStatus, Tier
from shared.vocabulary import Capability, Need, Role


class RequestState(StrEnum):
    OPEN = "OPEN"  # has needs that no pending, approved or committed unit covers: to be planned
    PROPOSED = "PROPOSED"
    APPROVED = "APPROVED"
    MOBILISED = "MOBILISED"
    REJECTED = "REJECTED"
    UNFILLED = "UNFILLED"
    CANCELLED = "CANCELLED"
    STOOD_DOWN = "STOOD_DOWN"


# The deployment is over: the request's proposals hold no unit any more, whatever their status.
ENDED_STATES = frozenset({RequestState.CANCELLED, RequestState.STOOD_DOWN})

# Statuses in which a proposal speaks for its units (while its request has not ended).
HOLDING_PROPOSALS = frozenset({ProposalStatus.PENDING, ProposalStatus.APPROVED})


def holds_units(status: ProposalStatus, request_state: RequestState) -> bool:
    """A pending proposal, or an approved one of a request still deployed, keeps its units from other requests."""
    return status in HOLDING_PROPOSALS and request_state not in ENDED_STATES


Period = tuple[datetime, datetime]
TOUR_LENGTH = timedelta(hours=72)  # relief: a long request may be served by successive units, a tour each


def tours(start: datetime, end: datetime, length: timedelta, breaks: Iterable[datetime] = ()) -> list[Period]:
    """The period in consecutive tours: cut at each break (where an extension began), then each part in tours
    of `length` (the last of a part may be shorter). One tour, the whole period, when it is no longer than
    that and has no break."""
    cuts = sorted({b for b in breaks if start < b < end})
    result: list[Period] = []
    for part_start, part_end in pairwise([start, *cuts, end]):
        edges = [part_start]
        while edges[-1] + length < part_end:
            edges.append(edges[-1] + length)
        result.extend(pairwise([*edges, part_end]))
    return result


def covered_in(
    period: Period, request_period: Period, committed: Mapping[str, Capability], held: Iterable[Allocation]
) -> Counter[Capability]:
    """Units of each capability serving the whole of `period`: allocations whose own period (their tour, or
    the request's) covers it, and committed units no allocation names (they serve the whole request), each once."""
    held = list(held)
    named = {allocation.unit_id for allocation in held}
    units = {unit_id: Capability(capability) for unit_id, capability in committed.items() if unit_id not in named}
    for allocation in held:
        start, end = allocation.start or request_period[0], allocation.end or request_period[1]
        if start <= period[0] and period[1] <= end:
            units[allocation.unit_id] = allocation.capability
    return Counter(units.values())


def covered_by_tour(
    tour_list: list[Period], request_period: Period, committed: Mapping[str, Capability], held: list[Allocation]
) -> list[Counter[Capability]]:
    """Units of each capability serving each tour of the request."""
    return [covered_in(tour, request_period, committed, held) for tour in tour_list]


def least(per_tour: list[Counter[Capability]]) -> Counter[Capability]:
    """Units of each capability serving every tour: the least any tour has."""
    capabilities = {capability for counts in per_tour for capability in counts}
    return Counter({c: min(counts[c] for counts in per_tour) for c in capabilities})


def partly_served(per_tour: list[Counter[Capability]]) -> bool:
    """Some tours are served better than others (a tour filled, an extension not yet): plan it tour by tour."""
    return any(counts != per_tour[0] for counts in per_tour[1:])


def outstanding(needs: list[Need], have: Counter[Capability]) -> list[Need]:
    """What of the needs no unit covers yet."""
    left = []
    for need in needs:
        missing = need.quantity - have[need.capability]
        if missing > 0:
            left.append(need.model_copy(update={"quantity": missing}))
    return left


def check_approver(role: Role, region: str | None, *, tier: Tier, host_region: str, lending_regions: set[str]) -> None:
    """Who may approve or reject a proposal; raises Forbidden (403) with the reason.

    A national coordinator decides on any proposal. A REGIONAL proposal is decided by a coordinator
    of the host's region (its units all come from that region); a NATIONAL proposal draws on every
    region and needs a national coordinator, whatever the lending regions are (DESIGN.md, Security).
    """
    if role is Role.NATIONAL_COORDINATOR:
        return
    if role is not Role.COORDINATOR:
        raise Forbidden(f"a {role.value} cannot decide on proposals; a coordinator or national coordinator can")
    if tier is Tier.NATIONAL:
        raise Forbidden(
            f"a coordinator of {region or 'no region'} cannot decide on a NATIONAL proposal;"
            " it needs a national coordinator"
        )
    if region != host_region:
        raise Forbidden(
            f"a coordinator of {region or 'no region'} cannot decide on a REGIONAL proposal of {host_region};"
            f" a coordinator of {host_region} or a national coordinator can"
        )
    outside = sorted(lending_regions - {region})
    if outside:
        raise Forbidden(f"a coordinator of {region} cannot decide on units from {', '.join(outside)}")


def check_decidable(status: ProposalStatus) -> None:
    """Only a pending proposal can be approved or rejected; raises Conflict (409) otherwise."""
    if status != ProposalStatus.PENDING:
        raise Conflict(f"proposal is {status.value}; only a PENDING proposal can be decided")


def state_when_nothing_more(*, committed: bool, live: set[ProposalStatus]) -> RequestState:
    """A request's state when planning finds nothing more for it: what it already has decides."""
    if committed:
        return RequestState.MOBILISED
    if ProposalStatus.APPROVED in live:
        return RequestState.APPROVED
    if ProposalStatus.PENDING in live:
        return RequestState.PROPOSED
    return RequestState.UNFILLED


def state_after_approval(current: RequestState) -> RequestState:
    """APPROVED, unless a re-plan is due (OPEN: a recall or a rejected commit): the next planning run moves it on."""
    return current if current == RequestState.OPEN else RequestState.APPROVED


def state_after_rejection(
    current: RequestState, *, pending_left: bool, approved_left: bool, committed: bool
) -> RequestState:
    """A request's state once one of its proposals is rejected: it ends only when nothing else of it is live
    and no re-plan is due."""
    if current == RequestState.OPEN:
        return current
    if pending_left:
        return RequestState.PROPOSED
    if committed:
        return RequestState.MOBILISED
    if approved_left:
        return RequestState.APPROVED
    return RequestState.REJECTED


def named_units(proposed: set[str], named: list[str] | None) -> list[str]:
    """The units a decision names out of those a proposal allocates; all of them when it names none.

    Raises InvalidInput (422) for a unit the proposal does not allocate, or an empty list.
    """
    if named is None:
        return sorted(proposed)
    unknown = sorted(set(named) - proposed)
    if unknown:
        raise InvalidInput(
            f"the proposal does not allocate {', '.join(unknown)}; it allocates {', '.join(sorted(proposed))}"
        )
    if not named:
        raise InvalidInput("name at least one unit, or leave unit_ids out")
    return sorted(set(named))


def check_answerable(status: ProposalStatus, *, accepted: bool) -> None:
    """A lending force answers a pending tasking; after approval it may still accept, but a decline is a
    recall (its unit is committed already). Raises Conflict (409) otherwise."""
    if status == ProposalStatus.PENDING or (accepted and status == ProposalStatus.APPROVED):
        return
    if status == ProposalStatus.APPROVED:
        raise Conflict("the tasking is approved and its units committed: recall the unit (availability) instead")
    raise Conflict(f"proposal is {status.value}; there is nothing to answer")


def check_stand_down(state: RequestState, *, holds_units: bool) -> None:
    """A deployment can be stood down while the request holds units, whatever path got it there (409 otherwise)."""
    if state in ENDED_STATES:
        raise Conflict(f"the request is {state.value} already")
    if not holds_units and state not in (RequestState.APPROVED, RequestState.MOBILISED):
        raise Conflict(f"the request is {state.value} and holds no unit; only a deployment can be stood down")
