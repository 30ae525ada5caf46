"""The lending forces' answers to the tasking of their units: accept, or decline with a reason."""

from services.tasking.deps import TaskingDeps
from services.tasking.domain import check_answerable
from services.tasking.lifecycle import audit, deciding, supersede_for_a_replan
from services.tasking.models import DonorResponse, Proposal, RequestView
from shared.auth import Principal
from shared.db import retry_on_conflict
from shared.errors import Forbidden, NotFound


@retry_on_conflict
async def answer(
    proposal_id: str, unit_id: str, *, accepted: bool, principal: Principal, reason: str, deps: TaskingDeps
) -> Proposal:
    """A resource manager of the unit's force accepts or declines its tasking (audited either way).

    Accepting a unit accepted already changes nothing. A decline of a pending proposal supersedes it: the
    unit is not offered to this request again and the request is planned again at once. An approved tasking
    is committed already: its unit goes home by a recall (availability). Raises NotFound (404), Forbidden
    (403: another force's unit) and Conflict (409: the proposal is decided, or declined after approval).
    """
    async with deciding(deps.uow) as work:
        proposal = await work.session.get(Proposal, proposal_id)
        if proposal is None:
            raise NotFound(f"no proposal {proposal_id}")
        allocation = next((a for a in proposal.live_allocations() if a.unit_id == unit_id), None)
        if allocation is None:
            raise NotFound(f"proposal {proposal_id} does not allocate {unit_id}")
        if not principal.acts_for_force(allocation.force):
            raise Forbidden(f"only {allocation.force} answers for its unit {unit_id}")
        check_answerable(proposal.status, accepted=accepted)
        if accepted and any(r.unit_id == unit_id and r.accepted for r in proposal.donor_responses):
            return proposal  # accepted already: saying it again changes nothing
        response = DonorResponse(unit_id=unit_id, accepted=accepted, by=principal.sub, reason=reason, at=deps.clock())
        proposal.donor_responses = [*proposal.donor_responses, response]
        work.session.add(proposal)
        if not accepted:
            request = await work.session.get(RequestView, proposal.request_id)
            if request is None:
                raise NotFound(f"proposal {proposal_id} names unknown request {proposal.request_id}")
            request.excluded_units = sorted({*request.excluded_units, unit_id})
            await supersede_for_a_replan(work, request, proposal, f"{allocation.force} declined {unit_id}: {reason}")
        action = "donor.accepted" if accepted else "donor.declined"
        await audit(
            work, action, request_id=proposal.request_id, proposal_id=proposal.id, principal=principal,
            unit_id=unit_id, reason=reason,
        )  # fmt: skip
        await work.commit()
    deps.wake_planning()
    return proposal
