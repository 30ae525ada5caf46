"""Event handlers of the tasking service: one per event type, each owning its transaction (inbox included)."""

from services.tasking.deps import TaskingDeps
from services.tasking.domain import ENDED_STATES, HOLDING_PROPOSALS, RequestState
from services.tasking.lifecycle import (
    audit,
    capacity_appeared,
    deciding,
    proposals_of,
    publish_for,
    supersede_for_a_replan,
    supersede_pending,
)
from services.tasking.models import PolicyView, Proposal, RequestView
from services.tasking.readmodel import apply_unit_state
from shared.cloudevents import CloudEvent
from shared.events import (
    CommitRejected,
    MatchingStarted,
    PolicyUpdated,
    ProposalStatus,
    RequestCancelled,
    RequestExtended,
    RequestSubmitted,
    TaskingStoodDown,
    UnitDeclared,
    UnitsCommitted,
    UnitsRecalled,
    UnitsReleased,
    UnitStatus,
    UnitUpdated,
    UnitWithdrawn,
)
from shared.messaging import UnitOfWork

CONSUMER = "tasking"
APPROVED = frozenset({ProposalStatus.APPROVED})


async def on_request_submitted(event: CloudEvent, data: RequestSubmitted, *, deps: TaskingDeps) -> None:
    """Take the request in, to be planned with whatever else arrives within the batching window."""
    await on_requests_submitted([(event, data)], deps=deps)


async def on_requests_submitted(batch: list[tuple[CloudEvent, RequestSubmitted]], *, deps: TaskingDeps) -> None:
    """Take a run of submitted requests in, in one transaction, each once."""
    async with deps.uow() as work:
        for event, data in await work.not_yet_applied(consumer=CONSUMER, events=batch):
            _take_in(work, event, data)
        await work.commit()
    deps.wake_planning()


def _take_in(work: UnitOfWork, event: CloudEvent, data: RequestSubmitted) -> None:
    request = RequestView(
        request_id=data.request_id,
        requesting_force=data.requesting_force,
        requesting_region=data.requesting_region,
        priority=data.priority,
        location_lat=data.location.lat,
        location_lon=data.location.lon,
        required_by=data.required_by,
        end=data.end,
        needs=data.needs,
        correlation_id=event.correlationid or event.id,
    )
    work.session.add(request)
    publish_for(work, request, MatchingStarted(request_id=data.request_id), cause=event)


async def on_request_cancelled(event: CloudEvent, data: RequestCancelled, *, deps: TaskingDeps) -> None:
    """A cancelled request plans nothing more; its pending proposals are superseded, units it holds go home."""
    async with deciding(deps.uow) as work:
        if await work.already_applied(consumer=CONSUMER, event=event):
            return
        request = await work.session.get(RequestView, data.request_id)
        if request is not None and request.state not in ENDED_STATES:
            deployed = bool(request.committed or await proposals_of(work.session, request.request_id, APPROVED))
            request.state = RequestState.CANCELLED
            work.session.add(request)
            await supersede_pending(work, request, reason=f"request cancelled: {data.reason}", cause=event)
            if deployed:  # the cancel crossed an approval: send the units home as a stand-down would
                stood_down = TaskingStoodDown(
                    request_id=data.request_id, stood_down_by=data.cancelled_by, reason=f"cancelled: {data.reason}"
                )
                publish_for(work, request, stood_down, cause=event)
            await audit(
                work,
                "request.cancelled",
                request_id=data.request_id,
                cancelled_by=data.cancelled_by,
                reason=data.reason,
            )
            await capacity_appeared(work.session)
        await work.commit()
    deps.wake_planning()


async def on_request_extended(event: CloudEvent, data: RequestExtended, *, deps: TaskingDeps) -> None:
    """The deployment now ends later: the units serving it keep the period they were planned for (stamped on
    their allocations), and the extra time is planned as tours of its own, the units there first offered to
    stay on (services.tasking.pool.staying_pool)."""
    async with deciding(deps.uow) as work:
        if await work.already_applied(consumer=CONSUMER, event=event):
            return
        request = await work.session.get(RequestView, data.request_id)
        if request is not None and request.state not in ENDED_STATES and data.end > request.end:
            for proposal in await proposals_of(work.session, request.request_id, HOLDING_PROPOSALS):
                proposal.allocations = [
                    a.model_copy(update={"start": a.start or request.required_by, "end": a.end or request.end})
                    for a in proposal.allocations
                ]
                work.session.add(proposal)
            request.extended_from = [*request.extended_from, request.end]
            request.end = data.end
            if request.state != RequestState.REJECTED:
                request.state = RequestState.OPEN
            work.session.add(request)
            await audit(
                work,
                "request.extended",
                request_id=data.request_id,
                previous_end=data.previous_end.isoformat(),
                end=data.end.isoformat(),
                extended_by=data.extended_by,
                reason=data.reason,
            )
        elif request is not None and request.state in ENDED_STATES:  # it crossed a stand-down on the way here
            await audit(
                work,
                "request.extension_ignored",
                request_id=data.request_id,
                end=data.end.isoformat(),
                extended_by=data.extended_by,
                reason=f"the request was {request.state} already: the extension has no effect",
            )
        await work.commit()
    deps.wake_planning()


UnitEvent = UnitDeclared | UnitUpdated | UnitWithdrawn


async def on_unit_state(event: CloudEvent, data: UnitEvent, *, deps: TaskingDeps) -> None:
    """Keep the newest state of a unit in the read model."""
    await on_unit_states([(event, data)], deps=deps)


async def on_unit_states(batch: list[tuple[CloudEvent, UnitEvent]], *, deps: TaskingDeps) -> None:
    """Keep the newest state of each unit of a run of unit events, in one transaction, each event once."""
    async with deps.uow() as work:
        fresh = [data.unit for _, data in await work.not_yet_applied(consumer=CONSUMER, events=batch)]
        newest = {state.unit_id: state for state in sorted(fresh, key=lambda state: state.version)}
        for state in newest.values():  # older states of a unit would not be applied after it anyway
            await apply_unit_state(work.session, state)
        if any(state.declared_status() == UnitStatus.AVAILABLE for state in fresh):
            await capacity_appeared(work.session)
        await work.commit()
    deps.wake_planning()


async def on_units_committed(event: CloudEvent, data: UnitsCommitted, *, deps: TaskingDeps) -> None:
    """The tasking is committed: record the units' state and that they now serve the request."""
    async with deps.uow() as work:
        if await work.already_applied(consumer=CONSUMER, event=event):
            return
        for state in data.units:
            await apply_unit_state(work.session, state)
        request = await work.session.get(RequestView, data.request_id)
        if request is not None:
            request.committed = request.committed | {unit.unit_id: unit.capability for unit in data.units}
            if request.state == RequestState.APPROVED:
                request.state = RequestState.MOBILISED
            work.session.add(request)
        await work.commit()


async def on_commit_rejected(event: CloudEvent, data: CommitRejected, *, deps: TaskingDeps) -> None:
    """Saga step: the approved tasking could not be committed; re-plan it at once without those units."""
    failed = {failure.unit_id for failure in data.failures}
    reason = "commit rejected: " + "; ".join(f"{f.unit_id} {f.reason}" for f in data.failures)
    async with deps.uow() as work:
        if await work.already_applied(consumer=CONSUMER, event=event):
            return
        proposal = await work.session.get(Proposal, data.proposal_id)
        await _replan(work, data.request_id, proposal, failed, reason)
        await work.commit()
    deps.wake_planning()


async def on_units_recalled(event: CloudEvent, data: UnitsRecalled, *, deps: TaskingDeps) -> None:
    """Saga step: a donor took units back; re-plan what they covered."""
    recalled = {unit.unit_id for unit in data.units}
    reason = f"units recalled by their force ({data.reason}): {', '.join(sorted(recalled))}"
    async with deps.uow() as work:
        if await work.already_applied(consumer=CONSUMER, event=event):
            return
        for state in data.units:
            await apply_unit_state(work.session, state)
        approved = await proposals_of(work.session, data.request_id, APPROVED)
        proposal = next((p for p in approved if p.unit_ids() & recalled), None)
        await _replan(work, data.request_id, proposal, recalled, reason)
        await work.commit()
    deps.wake_planning()


async def _replan(work: UnitOfWork, request_id: str, proposal: Proposal | None, lost: set[str], reason: str) -> None:
    """Supersede the approved proposal that lost units; the request is OPEN again, planned without them.

    Units of that proposal still committed (a recall takes some, not all) keep serving the request.
    """
    request = await work.session.get(RequestView, request_id)
    if request is None or request.state in ENDED_STATES:
        return
    request.committed = {unit: capability for unit, capability in request.committed.items() if unit not in lost}
    request.excluded_units = sorted({*request.excluded_units, *lost})
    if proposal is not None and proposal.status == ProposalStatus.APPROVED:
        await supersede_for_a_replan(work, request, proposal, reason)  # its other units are free again
    request.state = RequestState.OPEN
    work.session.add(request)


async def on_units_released(event: CloudEvent, data: UnitsReleased, *, deps: TaskingDeps) -> None:
    """Stand-down done: the units are free again, for planning at once."""
    async with deps.uow() as work:
        if await work.already_applied(consumer=CONSUMER, event=event):
            return
        for state in data.units:
            await apply_unit_state(work.session, state)
        request = await work.session.get(RequestView, data.request_id)
        if request is not None and request.committed:
            request.committed = {}
            work.session.add(request)
        await capacity_appeared(work.session)
        await work.commit()
    deps.wake_planning()


async def on_policy_updated(event: CloudEvent, data: PolicyUpdated, *, deps: TaskingDeps) -> None:
    """Keep each force's newest reserve, so no plan takes a force below it."""
    async with deps.uow() as work:
        if await work.already_applied(consumer=CONSUMER, event=event):
            return
        policy = await work.session.get(PolicyView, data.force)
        if policy is None or policy.policy_version < data.policy_version:
            policy = policy or PolicyView(force=data.force, policy_version=0)
            policy.reserve = dict(data.reserve)
            policy.policy_version = data.policy_version
            work.session.add(policy)
            await capacity_appeared(work.session)
        await work.commit()
    deps.wake_planning()
