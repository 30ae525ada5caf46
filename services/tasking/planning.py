"""The planning run: every OPEN request, highest priority first, region first and then national.

One transaction per run, and one run at a time: an asyncio lock in the process and, on PostgreSQL,
a transaction-level advisory lock across replicas (docs/decisions/0005). Requests of one priority are
planned together (the batch), first against their own region's units (REGIONAL proposals), then
what is missing against every region (request.escalated, NATIONAL proposals). A higher priority may
take units that only pending proposals of a lower priority hold: those are superseded and their
requests planned again. Nothing takes a unit from an approved proposal, and a run never overwrites
a decision taken while it ran: it only changes requests and proposals at the version it read.
"""

import uuid
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_
from sqlmodel import col, select

from services.tasking.deps import TaskingDeps
from services.tasking.domain import (
    ENDED_STATES,
    HOLDING_PROPOSALS,
    TOUR_LENGTH,
    RequestState,
    least,
    outstanding,
    partly_served,
    state_when_nothing_more,
)
from services.tasking.lifecycle import announce_supersessions, audit, proposals_of, publish_for
from services.tasking.models import PlanningRun, Proposal, RequestView
from services.tasking.planner.problem import (
    RULE_SET_VERSION,
    Demand,
    Plan,
    Planner,
    PlanningProblem,
    TravelModel,
    by_request_of,
)
from services.tasking.planner.records import digest, record_inputs
from services.tasking.planner.travel import travel_parameters
from services.tasking.pool import (
    ForcesInNeed,
    Pool,
    clusters,
    coverage,
    demand_of,
    held_for,
    pool_for,
    staying_pool,
    tour_demands,
)
from services.tasking.readmodel import PlanningReads, held_unit_ids
from shared.db import advisory_xact_lock, retry_on_conflict
from shared.events import (
    Allocation,
    ProposalCreated,
    ProposalStatus,
    RequestEscalated,
    RequestUnfilled,
    Shortfall,
    Tier,
)
from shared.forces import NATIONAL_FORCES
from shared.messaging import UnitOfWork
from shared.metrics import PLANNING_SECONDS, PROPOSALS_PENDING
from shared.vocabulary import Need, Priority

SERVICE = "tasking"
PLANNING_LOCK_KEY = 2026_11_30_0001  # the PostgreSQL advisory lock every tasking replica plans under
PREEMPTED = "a unit was taken by a higher-priority request"
LENDER_IN_NEED = "a lending force now asks for that capability itself at the same time: it keeps its units"
MAX_TOUR_PASSES = 30  # a run serves at most this many tours in a row by staying on (72 h tours: 90 days)
PREEMPTIONS_PER_MINUTE = 1  # a request's pending proposal is taken apart at most this often: no churn


async def run_planning(deps: TaskingDeps) -> int:
    """One planning run over every OPEN request, committed with its proposals and events; returns how many.

    Reports its duration (mutualaid_planning_run_seconds) and the proposals then waiting for a decision.
    """
    async with deps.planning_lock:
        with PLANNING_SECONDS.labels(SERVICE).time():
            planned = await _planning_run(deps)
        async with deps.uow() as work:
            waiting = select(func.count()).select_from(Proposal).where(Proposal.status == ProposalStatus.PENDING)
            PROPOSALS_PENDING.labels(SERVICE).set((await work.session.exec(waiting)).one())
        return planned


@retry_on_conflict
async def _planning_run(deps: TaskingDeps) -> int:
    try:
        async with deps.uow() as work:
            await advisory_xact_lock(work.session, PLANNING_LOCK_KEY)
            deps.reads.watch(work.session)
            planned = await plan_open_requests(
                work,
                planner=deps.planner,
                travel=deps.travel,
                now=deps.clock(),
                tour_length=deps.tour_length,
                reads=deps.reads,
            )
            await work.commit()
            deps.reads.remember()
            return planned
    except BaseException:  # what the run read may be changed in memory only
        deps.reads.forget()
        raise


async def plan_open_requests(
    work: UnitOfWork,
    *,
    planner: Planner,
    travel: TravelModel,
    now: datetime,
    tour_length: timedelta = TOUR_LENGTH,
    reads: PlanningReads | None = None,
) -> int:
    """Plan every OPEN request, and every short one capacity appeared for since (a top-up), in this unit of
    work; returns how many requests were planned. reads: what earlier runs read (none: read everything)."""
    reads = reads or PlanningReads()
    planned = 0
    for priority in sorted(Priority):
        batch = await _open_requests(work, priority, now)
        if batch:
            planned += len(batch)
            await _plan_batch(
                work, batch, priority, reads, planner=planner, travel=travel, now=now, tour_length=tour_length
            )
            await work.session.flush()
    return planned


async def _open_requests(work: UnitOfWork, priority: Priority, now: datetime) -> list[RequestView]:
    """OPEN requests, and short ones to top up until their start has passed."""
    topping_up = and_(
        col(RequestView.top_up),
        col(RequestView.required_by) > now,
        col(RequestView.state).not_in([*ENDED_STATES, RequestState.REJECTED]),
    )
    query = (
        select(RequestView)
        .where(or_(col(RequestView.state) == RequestState.OPEN, topping_up), RequestView.priority == priority)
        .order_by(col(RequestView.received_at), col(RequestView.request_id))
    )
    return list((await work.session.exec(query)).all())


async def _plan_batch(
    work: UnitOfWork,
    batch: list[RequestView],
    priority: Priority,
    reads: PlanningReads,
    *,
    planner: Planner,
    travel: TravelModel,
    now: datetime,
    tour_length: timedelta,
) -> None:
    holding = await reads.holding_proposals(work.session)
    live = await reads.live_requests(work.session)
    owners = {r.request_id: r for r in live} | {r.request_id: r for r in batch}
    asking = ForcesInNeed(owners.values())
    holding = _supersede_lending_by_forces_in_need(work, holding, owners, asking, now)
    recently = await _recently_preempted(work, now - timedelta(minutes=1))
    preemptible = [
        p
        for p in holding
        if p.status == ProposalStatus.PENDING
        and owners[p.request_id].priority > priority
        and recently[p.request_id] < PREEMPTIONS_PER_MINUTE
    ]
    for cluster in clusters(batch):
        await _plan_cluster(
            work,
            cluster,
            priority,
            holding,
            preemptible,
            owners,
            asking,
            reads,
            planner=planner,
            travel=travel,
            now=now,
            tour_length=tour_length,
        )


async def _plan_cluster(
    work: UnitOfWork,
    batch: list[RequestView],
    priority: Priority,
    holding: list[Proposal],
    preemptible: list[Proposal],
    owners: dict[str, RequestView],
    asking: ForcesInNeed,
    reads: PlanningReads,
    *,
    planner: Planner,
    travel: TravelModel,
    now: datetime,
    tour_length: timedelta,
) -> None:
    lower = {p.id for p in preemptible}
    kept = [p for p in holding if p.id not in lower]
    pool = await pool_for(work, batch, kept, owners, held_unit_ids(preemptible), reads)
    served = {r.request_id: coverage(r, holding, tour_length) for r in batch}
    wanted = {rid: outstanding(owners[rid].needs, least(per_tour)) for rid, per_tour in served.items()}
    by_tour = {rid for rid, per_tour in served.items() if partly_served(per_tour)}
    in_need = {r.request_id: asking.of(r) for r in batch}
    whole = [r for r in batch if wanted[r.request_id] and r.request_id not in by_tour]
    regional = [
        demand_of(r, wanted[r.request_id], regions=frozenset({r.requesting_region}), in_need=in_need[r.request_id])
        for r in whole
        if r.requesting_region != NATIONAL_FORCES
    ]
    plans, proposals = await _run(work, regional, pool, priority, Tier.REGIONAL, planner, travel, now)
    escalated = {rid: plan.unfilled for rid, plan in plans.items() if plan.unfilled}
    national_forces = [r for r in whole if r.requesting_region == NATIONAL_FORCES]  # no region of their own
    direct = {r.request_id: _shortfalls(wanted[r.request_id]) for r in national_forces}
    for rid, shortfall in escalated.items():
        if owners[rid].state == RequestState.OPEN:  # a top-up looks nationally again without saying so each time
            publish_for(work, owners[rid], RequestEscalated(request_id=rid, shortfall=shortfall))
            await audit(work, "request.escalated", request_id=rid, shortfall=_json(shortfall))
    national_demands = [
        demand_of(owners[rid], _needs(shortfall), regions=None, in_need=in_need[rid])
        for rid, shortfall in (escalated | direct).items()
    ]
    national, more = await _run(work, national_demands, pool, priority, Tier.NATIONAL, planner, travel, now)
    later = [
        r for r in batch if r.request_id in by_tour or (r.request_id in national and national[r.request_id].unfilled)
    ]
    stayed: dict[str, Plan] = {}
    toured: dict[str, Plan] = {}
    stays: dict[str, list[Proposal]] = {}
    relieved: dict[str, list[Proposal]] = {}
    passes = max((len(r.tours(tour_length)) for r in later), default=0)
    for _ in range(min(passes, MAX_TOUR_PASSES)):  # each pass may serve one more tour in a row
        created = [p for ps in (*proposals.values(), *more.values(), *stays.values(), *relieved.values()) for p in ps]
        pass_stayed: dict[str, Plan] = {}
        for r in later:
            held = _held_now(r, holding, plans, national, stayed, toured)
            staying = tour_demands(r, held, tour_length, in_need[r.request_id], staying_on=True)
            if staying:
                stay_pool = await staying_pool(work, r, held, [*holding, *created], owners, staying)
                stay, proposal = await _tiered(work, staying, stay_pool, priority, planner, travel, now)
                pass_stayed |= stay
                _extend(stays, proposal)
        _merge(stayed, pass_stayed)
        relief = [
            demand
            for r in later
            for demand in tour_demands(
                r, _held_now(r, holding, plans, national, stayed, toured), tour_length, in_need[r.request_id]
            )
        ]
        pass_toured, pass_relieved = await _tiered(work, relief, pool, priority, planner, travel, now)
        _merge(toured, pass_toured)
        _extend(relieved, pass_relieved)
        for r in later:  # what the latest pass left short in each tour; nothing asked of a request: none
            if len(r.tours(tour_length)) > 1:
                so_far = toured.get(r.request_id, Plan(allocations=[]))
                short = pass_toured[r.request_id].unfilled if r.request_id in pass_toured else []
                toured[r.request_id] = Plan(allocations=so_far.allocations, unfilled=short)
        if not any(plan.allocations for plan in (*pass_stayed.values(), *pass_toured.values())):
            break  # nothing more can serve the tours left short
    _supersede_preempted(work, preemptible, [*plans.values(), *national.values(), *toured.values()], owners, now)
    for request in batch:
        rid = request.request_id
        last = toured.get(rid) or stayed.get(rid) or national.get(rid) or plans.get(rid) or Plan(allocations=[])
        created = [*proposals.get(rid, []), *more.get(rid, []), *stays.get(rid, []), *relieved.get(rid, [])]
        topping_up = request.state != RequestState.OPEN
        request.top_up, request.short = False, bool(wanted[rid]) and bool(last.unfilled)
        work.session.add(request)
        if topping_up and not created:
            continue  # nothing new for a short request: nothing to say
        await _record(work, request, wanted[rid], created, last.unfilled)


def _merge(plans: dict[str, Plan], more: dict[str, Plan]) -> None:
    """A request's plans over the passes of one run: every allocation, and what the latest pass left short."""
    for rid, plan in more.items():
        before = plans.get(rid, Plan(allocations=[]))
        plans[rid] = Plan(allocations=[*before.allocations, *plan.allocations], unfilled=plan.unfilled)


def _extend(proposals: dict[str, list[Proposal]], more: dict[str, list[Proposal]]) -> None:
    for rid, made in more.items():
        proposals.setdefault(rid, []).extend(made)


def _held_now(request: RequestView, holding: list[Proposal], *runs: dict[str, Plan]) -> list[Allocation]:
    """What serves the request once this run's proposals so far are counted."""
    return [
        *held_for(request, holding),
        *(a for plans in runs if request.request_id in plans for a in plans[request.request_id].allocations),
    ]


def _shortfalls(needs: list[Need]) -> list[Shortfall]:
    return [Shortfall(capability=n.capability, quantity=n.quantity, reason="planned nationally") for n in needs]


def _needs(shortfalls: list[Shortfall]) -> list[Need]:
    return [Need(capability=s.capability, quantity=s.quantity) for s in shortfalls]


def _json(shortfalls: list[Shortfall]) -> list[dict[str, object]]:
    return [s.model_dump(mode="json") for s in shortfalls]


async def _tiered(
    work: UnitOfWork,
    demands: list[Demand],
    pool: Pool,
    priority: Priority,
    planner: Planner,
    travel: TravelModel,
    now: datetime,
) -> tuple[dict[str, Plan], dict[str, list[Proposal]]]:
    """Tour demands (relief, staying on) the way a request is planned: in the requester's region first
    (REGIONAL proposals, for its regional coordinator), then what is left from every region (NATIONAL).
    Plans and proposals by request, the tours of a request together."""
    if not demands:
        return {}, {}
    regional = [replace(d, regions=frozenset({d.requesting_region})) for d in demands]
    regional = [d for d in regional if d.requesting_region != NATIONAL_FORCES]
    first, proposals = await _run(work, regional, pool, priority, Tier.REGIONAL, planner, travel, now)
    left = [
        replace(d, needs=_needs(first[d.request_id].unfilled)) if d.request_id in first else d
        for d in demands
        if d.request_id not in first or first[d.request_id].unfilled
    ]
    then, more = await _run(work, left, pool, priority, Tier.NATIONAL, planner, travel, now)
    nothing = Plan(allocations=[])
    plans = {
        d.request_id: Plan(
            allocations=[*first.get(d.request_id, nothing).allocations, *then.get(d.request_id, nothing).allocations],
            unfilled=(then if d.request_id in then else first)[d.request_id].unfilled,
        )
        for d in demands
    }
    return by_request_of(plans, demands), {
        rid: [*proposals.get(rid, []), *more.get(rid, [])] for rid in sorted({*proposals, *more})
    }


async def _run(
    work: UnitOfWork,
    demands: list[Demand],
    pool: Pool,
    priority: Priority,
    tier: Tier,
    planner: Planner,
    travel: TravelModel,
    now: datetime,
) -> tuple[dict[str, Plan], dict[str, list[Proposal]]]:
    """Run the planner on one tier of a batch, store the run and its proposals (one per request, its tours
    together), and take the chosen units; returns the plans by demand."""
    if not demands:
        return {}, {}
    problem = PlanningProblem(demands=demands, units=pool.units, lendable=Counter(pool.lendable), now=now)
    plans = planner.plan(problem, travel)
    inputs = record_inputs(problem, pool.set_aside)
    run = PlanningRun(
        id=str(uuid.uuid4()),
        created_at=now,
        priority=priority,
        tier=tier,
        planner=planner.name,
        parameters={"travel": travel_parameters(travel), "solver": dict(planner.parameters)},
        rule_set=RULE_SET_VERSION,
        inputs=inputs,
        digest=digest(inputs),
    )
    work.session.add(run)
    pool.take(plans)
    by_request = by_request_of(plans, demands)
    proposals = {rid: [_proposal(rid, plan, tier, run)] for rid, plan in by_request.items() if plan.allocations}
    work.session.add_all([p for ps in proposals.values() for p in ps])
    return plans, proposals


def _proposal(request_id: str, plan: Plan, tier: Tier, run: PlanningRun) -> Proposal:
    return Proposal(
        id=str(uuid.uuid4()),
        request_id=request_id,
        allocations=list(plan.allocations),
        unfilled=list(plan.unfilled),
        planner=run.planner,
        tier=tier,
        planning_run_id=run.id,
    )


async def _recently_preempted(work: UnitOfWork, since: datetime) -> Counter[str]:
    """How many proposals of each request a higher priority took units from since then."""
    query = select(Proposal.request_id).where(
        Proposal.status == ProposalStatus.SUPERSEDED,
        Proposal.decision_reason == PREEMPTED,
        col(Proposal.decided_at) > since,
    )
    return Counter((await work.session.exec(query)).all())


def _supersede_lending_by_forces_in_need(
    work: UnitOfWork, holding: list[Proposal], owners: dict[str, RequestView], asking: ForcesInNeed, now: datetime
) -> list[Proposal]:
    """A pending proposal that borrows from a force now asking for that capability itself in an overlapping
    period is superseded (its request is planned again without that force): forces in need keep their units.
    Returns the proposals still holding."""
    superseded = []
    for proposal in holding:
        if proposal.status != ProposalStatus.PENDING:
            continue
        owner = owners[proposal.request_id]
        if any(asking.asks(a.force, a.capability, owner) for a in proposal.live_allocations()):
            proposal.status = ProposalStatus.SUPERSEDED
            proposal.decision_reason = LENDER_IN_NEED
            proposal.decided_at = now
            owner.supersedes = [*owner.supersedes, proposal.id]
            if owner.state == RequestState.REJECTED:  # asking again from now on
                asking.add(owner)
            owner.state = RequestState.OPEN
            work.session.add_all([proposal, owner])
            superseded.append(proposal.id)
    return [p for p in holding if p.id not in superseded]


def _supersede_preempted(
    work: UnitOfWork, preemptible: list[Proposal], plans: list[Plan], owners: dict[str, RequestView], now: datetime
) -> None:
    """Lower-priority pending proposals that lost a unit are superseded; their requests are planned again."""
    taken = {a.unit_id for plan in plans for a in plan.allocations}
    for proposal in preemptible:
        if not proposal.unit_ids() & taken:
            continue
        proposal.status = ProposalStatus.SUPERSEDED
        proposal.decision_reason = PREEMPTED
        proposal.decided_at = now
        owner = owners[proposal.request_id]
        owner.supersedes = [*owner.supersedes, proposal.id]
        owner.state = RequestState.OPEN
        work.session.add_all([proposal, owner])


async def _record(
    work: UnitOfWork, request: RequestView, wanted: list[Need], created: list[Proposal], unfilled: list[Shortfall]
) -> None:
    """Announce what the run decided for one request: its proposals, or why nothing could be found."""
    for proposal in created:
        publish_for(work, request, _proposal_created(proposal))
        await audit(
            work,
            "proposal.created",
            request_id=request.request_id,
            proposal_id=proposal.id,
            tier=proposal.tier.value,
            planning_run=proposal.planning_run_id,
            allocations=[a.model_dump(mode="json") for a in proposal.allocations],
            unfilled=_json(proposal.unfilled),
        )
    await announce_supersessions(work, request, created[0].id if created else None)
    if wanted and not created:
        live = {p.status for p in await proposals_of(work.session, request.request_id, HOLDING_PROPOSALS)}
        request.state = state_when_nothing_more(committed=bool(request.committed), live=live)
        serving = request.state != RequestState.UNFILLED  # units or proposals of it are still live
        unfilled_event = RequestUnfilled(request_id=request.request_id, unfilled=unfilled, partially_filled=serving)
        publish_for(work, request, unfilled_event)
        await audit(work, "request.unfilled", request_id=request.request_id, unfilled=_json(unfilled))
    else:
        request.state = RequestState.PROPOSED
    work.session.add(request)


def _proposal_created(proposal: Proposal) -> ProposalCreated:
    return ProposalCreated(
        request_id=proposal.request_id,
        proposal_id=proposal.id,
        allocations=proposal.allocations,
        unfilled=proposal.unfilled,
        planner=proposal.planner,
        tier=proposal.tier,
    )
