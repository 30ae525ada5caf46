"""The optimal planner: every demand of a batch planned together, as one transportation problem. No I/O.

Planning request by request lets the first request take the unit the second one needed. This planner
sends units to needs through one network and optimises, in this order:

1. on time: the most allocations that arrive by `required_by` (`arrives_late` false);
2. filled: the most units allocated; a late unit only where no on-time one can be had, flagged late;
2b. the fewest units taken from pending proposals of lower priorities (a higher priority takes one only
   when it could otherwise not be on time or filled: materially better, not merely nearer);
3. the least total arrival time (readiness plus travel);
4. the fewest lending forces, counted per request (each force lending to a request is one more
   liaison for it) and summed over the batch;
5. load spread in proportion to what forces can lend: the least sum over (force, capability) of
   load^2 / lendable, which for a fixed total load is the chi-square distance from proportional shares;
6. ties broken the same way every time.

How. Units of one force and capability that reach the same needs at the same costs are interchangeable
and form a class. The network is source -> (force, capability) pool, capacity its lendable count ->
class, capacity its size -> need, cost the arrival time, and each need takes its quantity; a bypass
source -> need at a high cost carries what stays unfilled. Costs are integers: arrival times in whole
seconds (rounding to minutes would make arrival times 59 s apart tie), plus, on the arc of a unit a
lower priority holds, a penalty larger than any change (3) can make, plus, on a late arc, a penalty
larger than any change (2), (2b) and (3) can make; the bypass costs that penalty plus one larger than any
change (3) can make. One min-cost flow (OR-Tools SimpleMinCostFlow) then solves (1)-(3) exactly.

(4) and (5) choose among the optima of (1)-(3). Shortest distances in the residual network of the optimal
flow are optimal potentials: an arc whose reduced cost is not zero carries the same flow in every
optimum, and so does an arc on no cycle of zero reduced cost (its ends lie in different strongly
connected components). When no arc can move the flow is the only optimum. Otherwise a CP-SAT model
over the arcs that can move, everything else held at its flow, is exactly the set of optima of
(1)-(3); it minimises (4), then (5) with (4) held, starting from the flow as a hint.

(6): demands are sorted by request id and units by unit id before anything is built, CP-SAT runs with
one worker, a fixed seed and a deterministic time limit (work counted, not seconds), and the units of a
class go lowest unit id first to the first request id. The same problem gives the same plans whatever
the order of its lists, the hash seed or the speed of the machine.

Approximations. Arrival times are compared to the second: two that round to the same second tie, and
(4)-(6) decide between them. (5) uses integer weights lcm/lendable, rounded when that lcm passes 10**9.
CP-SAT is a safety net with a small deterministic budget per objective: ties met in practice (units at
their HQ with readiness in quarter hours) are solved exactly in a few milliseconds, but a degenerate tie
(hundreds of units of many forces at one place, many requests at another) may exhaust it. Then the best
solution found for (4) is kept, (5) is not tried, and the plan is still optimal on (1)-(3), reproducible.

Speed: 1,200 units and 50 requests plan in about 120 ms on two cores (benchmarks/planning.py). Which
units can serve each need is worked out for every unit of a capability at once (planner/fleet.py), and
travel times for every (unit, demand) pair, sea crossings included, come from the travel model in one
array; most of what is left is building the classes and arcs and the residual network in Python, and the
min-cost flow itself solves in a few milliseconds.
"""

import math
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from numpy.typing import NDArray
from ortools.graph.python import min_cost_flow
from ortools.sat.python import cp_model

from services.tasking.planner.fleet import Fleet, Mask
from services.tasking.planner.problem import (
    Candidate,
    Demand,
    Plan,
    PlanningProblem,
    TravelModel,
    allocate,
    arrives_late,
    free_around,
)
from services.tasking.planner.travel import Minutes
from shared.events import Shortfall
from shared.vocabulary import Capability, Need

SECONDS_PER_MINUTE = 60
SOLVER_SEED = 20261
SOLVER_DETERMINISTIC_TIME = 0.02  # per CP-SAT solve (60-120 ms on 2 cores); realistic ties need under 0.001
EXACT_WEIGHT_LIMIT = 10**9
SOURCE = 0

Reach = tuple[int, int, bool]  # unit or slot, arrival seconds, late
Edges = list[list[tuple[int, int]]]
Hint = dict[cp_model.IntVar, int]
PoolLoad = tuple[cp_model.LinearExprT, int, int]  # a pool's load, and the least and most it can be


def arrival_costs(eta_minutes: Minutes) -> NDArray[np.int64]:
    """The integer cost of each arrival time, in whole seconds: the scale on which totals are compared
    (halves to even, as `round` does)."""
    seconds: NDArray[np.int64] = np.rint(eta_minutes * SECONDS_PER_MINUTE).astype(np.int64)
    return seconds


def arrival_cost(eta_minutes: float) -> int:
    """arrival_costs of one arrival time."""
    return int(arrival_costs(np.array([eta_minutes]))[0])


class OptimalPlanner:
    """Plans a batch jointly: on time, then filled, then least arrival time, fewest forces, spread load."""

    name = "optimal-flow"
    parameters = {
        "arrival_cost_unit": "second",
        "cp_sat_seed": SOLVER_SEED,
        "cp_sat_workers": 1,
        "cp_sat_deterministic_time": SOLVER_DETERMINISTIC_TIME,
    }

    def plan(self, problem: PlanningProblem, travel: TravelModel) -> dict[str, Plan]:
        """The optimal plans of every demand of the batch, by request id."""
        net = _network(problem, travel)
        flow = _refine(net, _min_cost_flow(net)) if net.arc_class else _flow(net, [])
        plans = _plans(net, flow, travel, problem.now)
        return {demand.request_id: plans.get(demand.request_id, Plan(allocations=[])) for demand in problem.demands}


# --- the network ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Slot:
    """One need of one demand; `reachable` and `punctual` count the eligible units whose force can lend."""

    demand: Demand
    need: Need
    eligible: list[int]
    reachable: int
    punctual: int


@dataclass(frozen=True)
class _Network:
    """The batch as a flow network. Nodes: the source, then pools, slots and classes."""

    units: list[Candidate]
    unit_pool: list[int]
    slots: list[_Slot]
    lendable: list[int]
    classes: list[list[int]]
    class_pool: list[int]
    arc_class: list[int]
    arc_slot: list[int]
    arc_cost: list[int]
    arc_capacity: list[int]
    bypass_cost: int

    @property
    def first_slot(self) -> int:
        return 1 + len(self.lendable)

    @property
    def first_class(self) -> int:
        return 1 + len(self.lendable) + len(self.slots)


def _network(problem: PlanningProblem, travel: TravelModel) -> _Network:
    fleet = Fleet(sorted(problem.units, key=lambda unit: unit.unit_id))
    units = fleet.units
    pools = sorted({(u.force, u.capability) for u in units if problem.lendable.get((u.force, u.capability), 0) > 0})
    pool_index = {pool: index for index, pool in enumerate(pools)}
    unit_pool = [pool_index.get((u.force, u.capability), -1) for u in units]
    lending = np.array(unit_pool, dtype=np.intp) >= 0
    slots: list[_Slot] = []
    reaches: list[list[Reach]] = [[] for _ in units]
    demands = sorted(problem.demands, key=lambda demand: demand.request_id)
    minutes = travel.minutes_between([unit.base for unit in units], [demand.location for demand in demands])
    for demand, travel_minutes in zip(demands, minutes, strict=True):
        for slot, costs in _slots(demand, fleet, lending, travel_minutes, problem.now):
            for index, seconds, late in costs:
                reaches[index].append((len(slots), seconds, late))
            slots.append(slot)
    return _classes(units, unit_pool, slots, [problem.lendable[pool] for pool in pools], reaches)


def _slots(
    demand: Demand, fleet: Fleet, lending: Mask, travel_minutes: Minutes, now: datetime
) -> list[tuple[_Slot, list[Reach]]]:
    """A slot per need of a demand, with the units that can fill it (worked out once per capability).

    lending: whether each unit's force can lend it at all; travel_minutes: each unit's journey to the demand.
    """
    reach: dict[Capability, tuple[list[int], list[Reach]]] = {}
    slots = []
    for need in demand.needs:
        if need.capability not in reach:
            reach[need.capability] = _reach(demand, need.capability, fleet, lending, travel_minutes, now)
        eligible, costs = reach[need.capability]
        punctual = sum(1 for _, _, late in costs if not late)
        slots.append((_Slot(demand, need, eligible, len(costs), punctual), costs))
    return slots


def _reach(
    demand: Demand, capability: Capability, fleet: Fleet, lending: Mask, travel_minutes: Minutes, now: datetime
) -> tuple[list[int], list[Reach]]:
    """The units eligible for a need, and arrival seconds and lateness of those whose force can lend."""
    eligible = fleet.eligible(demand, capability)
    lent = eligible[lending[eligible]]
    eta = fleet.readiness[lent] + travel_minutes[lent]
    reachable = np.isfinite(eta)
    for at in np.flatnonzero(reachable & fleet.has_bookings[lent]).tolist():
        reachable[at] = free_around(fleet.units[lent[at]], demand, float(eta[at]))  # another booking leaves time?
    lent, eta = lent[reachable], eta[reachable]
    slack = (demand.required_by - now) / timedelta(minutes=1)
    late = eta > slack
    for at in np.flatnonzero(np.abs(eta - slack) <= 1e-6).tolist():  # exact except within the microsecond
        late[at] = arrives_late(demand, float(eta[at]), now=now)  # arrives_late rounds to: ask it there
    costs = list(zip(lent.tolist(), arrival_costs(eta).tolist(), late.tolist(), strict=True))
    return eligible.tolist(), costs


def _classes(
    units: list[Candidate], unit_pool: list[int], slots: list[_Slot], lendable: list[int], reaches: list[list[Reach]]
) -> _Network:
    """Interchangeable units in classes, and the arcs' integer costs with their penalties."""
    members: dict[tuple[int, bool, tuple[Reach, ...]], list[int]] = {}
    for unit, reach in enumerate(reaches):
        if reach:
            key = (unit_pool[unit], units[unit].preemptible, tuple(reach))
            members.setdefault(key, []).append(unit)
    longest = max((seconds for reach in reaches for _, seconds, _ in reach), default=0) + 1
    most = min(sum(slot.need.quantity for slot in slots), sum(len(group) for group in members.values()))
    preempt_penalty = most * longest + 1
    unfilled_penalty = most * (preempt_penalty + longest) + 1
    late_penalty = most * (unfilled_penalty + preempt_penalty + longest) + 1
    preempts = [units[group[0]].preemptible for group in members.values()]
    arcs = [
        (c, slot, s + preempt_penalty * preempts[c] + late_penalty * late, len(group))
        for c, ((_, _, reach), group) in enumerate(members.items())
        for slot, s, late in reach
    ]
    return _Network(
        units=units,
        unit_pool=unit_pool,
        slots=slots,
        lendable=lendable,
        classes=list(members.values()),
        class_pool=[pool for pool, _, _ in members],
        arc_class=[cls for cls, _, _, _ in arcs],
        arc_slot=[slot for _, slot, _, _ in arcs],
        arc_cost=[cost for _, _, cost, _ in arcs],
        arc_capacity=[min(size, slots[slot].need.quantity) for _, slot, _, size in arcs],
        bypass_cost=late_penalty + unfilled_penalty,
    )


# --- (1)-(3): the min-cost flow -------------------------------------------------------------------


@dataclass(frozen=True)
class _Flow:
    """Units sent along each class -> slot arc, what each slot leaves unfilled, the load of classes and pools."""

    arcs: list[int]
    unfilled: list[int]
    class_load: list[int]
    pool_load: list[int]


def _flow(net: _Network, arcs: list[int]) -> _Flow:
    filled, class_load, pool_load = [0] * len(net.slots), [0] * len(net.classes), [0] * len(net.lendable)
    for arc in (arc for arc, sent in enumerate(arcs) if sent):
        filled[net.arc_slot[arc]] += arcs[arc]
        class_load[net.arc_class[arc]] += arcs[arc]
    for cls, load in enumerate(class_load):
        pool_load[net.class_pool[cls]] += load
    unfilled = [slot.need.quantity - n for slot, n in zip(net.slots, filled, strict=True)]
    return _Flow(arcs, unfilled, class_load, pool_load)


def _min_cost_flow(net: _Network) -> _Flow:
    pools, classes, slots = range(len(net.lendable)), range(len(net.classes)), range(len(net.slots))
    first_class, first_slot = net.first_class, net.first_slot
    tails = [SOURCE for _ in pools] + [1 + pool for pool in net.class_pool]
    tails += [first_class + cls for cls in net.arc_class] + [SOURCE for _ in slots]
    heads = [1 + pool for pool in pools] + [first_class + cls for cls in classes]
    heads += [first_slot + slot for slot in net.arc_slot] + [first_slot + slot for slot in slots]
    capacities = net.lendable + [len(group) for group in net.classes] + net.arc_capacity
    capacities += [slot.need.quantity for slot in net.slots]
    costs = [0] * (len(net.lendable) + len(net.classes)) + net.arc_cost + [net.bypass_cost for _ in slots]
    solver = min_cost_flow.SimpleMinCostFlow()
    solver.add_arcs_with_capacity_and_unit_cost(tails, heads, capacities, costs)
    solver.set_node_supply(SOURCE, sum(slot.need.quantity for slot in net.slots))
    for slot in slots:
        solver.set_node_supply(net.first_slot + slot, -net.slots[slot].need.quantity)
    status = solver.solve()
    if status != solver.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed: {status}")
    first_arc = len(net.lendable) + len(net.classes)
    sent = solver.flows(list(range(first_arc, first_arc + len(net.arc_class)))).tolist()
    return _flow(net, [int(units) for units in sent])


# --- (4)-(5): which arcs can move among the optima of (1)-(3) -------------------------------------


def _residual(net: _Network, flow: _Flow) -> Edges:
    """The residual network, each unused class folded into its pool (a node with the same potential)."""
    first_slot, first_class = net.first_slot, net.first_class
    edges: Edges = [[] for _ in range(first_class + len(net.classes))]
    for pool, lendable in enumerate(net.lendable):
        _both_ways(edges, SOURCE, 1 + pool, 0, flow.pool_load[pool], lendable)
    for cls, load in enumerate(flow.class_load):
        if load:
            _both_ways(edges, 1 + net.class_pool[cls], first_class + cls, 0, load, len(net.classes[cls]))
    folded: dict[int, int] = {}  # pool node * slots + slot -> least cost
    arcs = zip(net.arc_class, net.arc_slot, net.arc_cost, flow.arcs, net.arc_capacity, strict=True)
    for cls, slot, cost, sent, capacity in arcs:
        if flow.class_load[cls]:
            _both_ways(edges, first_class + cls, first_slot + slot, cost, sent, capacity)
        elif folded.get(key := (1 + net.class_pool[cls]) * len(net.slots) + slot, cost) >= cost:
            folded[key] = cost
    for key, cost in folded.items():
        edges[key // len(net.slots)].append((first_slot + key % len(net.slots), cost))
    for slot, unfilled in enumerate(flow.unfilled):
        quantity = net.slots[slot].need.quantity
        _both_ways(edges, SOURCE, first_slot + slot, net.bypass_cost, unfilled, quantity)
    return edges


def _both_ways(edges: Edges, tail: int, head: int, cost: int, sent: int, capacity: int) -> None:
    if sent < capacity:
        edges[tail].append((head, cost))
    if sent > 0:
        edges[head].append((tail, -cost))


def _distances(edges: Edges) -> list[int]:
    """Shortest distances from a root joined to every node at cost 0 (Bellman-Ford with a queue)."""
    distance = [0] * len(edges)
    queue, queued = deque(range(len(edges))), [True] * len(edges)
    while queue:
        tail = queue.popleft()
        queued[tail] = False
        for head, cost in edges[tail]:
            if distance[tail] + cost < distance[head]:
                distance[head] = distance[tail] + cost
                if not queued[head]:
                    queued[head] = True
                    queue.append(head)
    return distance


def _components(edges: list[list[int]]) -> list[int]:
    """The strongly connected component of every node (Tarjan's algorithm, without recursion)."""
    order, low, component = [-1] * len(edges), [0] * len(edges), [-1] * len(edges)
    stack: list[int] = []
    counter = found = 0
    for root in range(len(edges)):
        if order[root] >= 0:
            continue
        order[root] = low[root] = counter = counter + 1
        stack.append(root)
        work = [(root, 0)]
        while work:
            node, next_edge = work[-1]
            if next_edge < len(edges[node]):
                work[-1] = (node, next_edge + 1)
                head = edges[node][next_edge]
                if order[head] < 0:
                    order[head] = low[head] = counter = counter + 1
                    stack.append(head)
                    work.append((head, 0))
                elif component[head] < 0:
                    low[node] = min(low[node], order[head])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == order[node]:
                while component[node] < 0:
                    component[stack.pop()] = found
                found += 1
    return component


@dataclass(frozen=True)
class _Face:
    """What may change among the optima of (1)-(3): arcs, and the loads of classes, pools and slots."""

    arcs: list[int]
    classes: set[int]
    pools: set[int]
    slots: set[int]


def _face(net: _Network, flow: _Flow) -> _Face:
    edges = _residual(net, flow)
    potential = _distances(edges)
    tight = [
        [head for head, cost in out if cost + potential[tail] == potential[head]] for tail, out in enumerate(edges)
    ]
    component = _components(tight)

    def free(tail: int, head: int, cost: int) -> bool:
        return cost + potential[tail] == potential[head] and component[tail] == component[head]

    first_class, first_slot = net.first_class, net.first_slot
    tail = [first_class + c if load else 1 + net.class_pool[c] for c, load in enumerate(flow.class_load)]
    slot_node = [first_slot + slot for slot in net.arc_slot]
    arcs = [a for a, c in enumerate(net.arc_class) if free(tail[c], slot_node[a], net.arc_cost[a])]
    classes = {c for c in range(len(net.classes)) if free(1 + net.class_pool[c], tail[c], 0)}
    pools = {p for p in range(len(net.lendable)) if free(SOURCE, 1 + p, 0)}
    slots = {s for s in range(len(net.slots)) if free(SOURCE, first_slot + s, net.bypass_cost)}
    return _Face(arcs, classes, pools, slots)


# --- (4)-(5): CP-SAT over the arcs that can move --------------------------------------------------


def _refine(net: _Network, flow: _Flow) -> _Flow:
    """Among the optima of (1)-(3), the fewest lending forces per request, then the best spread."""
    face = _face(net, flow)
    if not face.arcs:
        return flow
    model = cp_model.CpModel()
    sent = {arc: model.new_int_var(0, net.arc_capacity[arc], f"arc{arc}") for arc in face.arcs}
    hint: Hint = {var: flow.arcs[arc] for arc, var in sent.items()}
    loads = _constrain(net, flow, face, model, sent)
    objectives = [_forces_used(net, flow, model, sent, hint), _spread(net, flow, model, loads, hint)]
    solver = _solver()
    for objective in (objective for objective in objectives if not isinstance(objective, int)):
        model.clear_hints()  # type: ignore[no-untyped-call]
        for var, value in hint.items():
            model.add_hint(var, value)
        model.minimize(objective)
        status = solver.solve(model)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            model.add(objective <= round(solver.objective_value))
            hint = {var: solver.value(var) for var in hint}
        if status != cp_model.OPTIMAL:
            break  # out of time: keep the best found, optimal on (1)-(3), and spend no more
    moved = {arc: hint[var] for arc, var in sent.items()}
    return _flow(net, [moved.get(arc, units) for arc, units in enumerate(flow.arcs)])


def _solver() -> cp_model.CpSolver:
    """One worker, a fixed seed and a deterministic time limit: the same model always gives the same answer."""
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = SOLVER_SEED
    solver.parameters.max_deterministic_time = SOLVER_DETERMINISTIC_TIME
    # presolve would spend the whole budget on a large tie before trying the hint; these models are simple
    solver.parameters.cp_model_presolve = False
    return solver


def _constrain(
    net: _Network, flow: _Flow, face: _Face, model: cp_model.CpModel, sent: dict[int, cp_model.IntVar]
) -> dict[int, PoolLoad]:
    """Capacities on what moves, what does not held; returns the load and its range for pools that may move."""
    by_class, by_slot, by_pool = defaultdict(list), defaultdict(list), defaultdict(list)
    for arc in face.arcs:
        by_class[net.arc_class[arc]].append(arc)
        by_slot[net.arc_slot[arc]].append(arc)
        by_pool[net.class_pool[net.arc_class[arc]]].append(arc)

    def load(now: int, arcs: list[int]) -> cp_model.LinearExprT:
        return now - sum(flow.arcs[arc] for arc in arcs) + sum(sent[arc] for arc in arcs)

    def bound(expression: cp_model.LinearExprT, now: int, capacity: int, free: bool) -> None:
        model.add(expression <= capacity if free else expression == now)

    for cls, arcs in by_class.items():
        bound(load(flow.class_load[cls], arcs), flow.class_load[cls], len(net.classes[cls]), cls in face.classes)
    for slot, arcs in by_slot.items():
        filled = net.slots[slot].need.quantity - flow.unfilled[slot]
        bound(load(filled, arcs), filled, net.slots[slot].need.quantity, slot in face.slots)
    loads: dict[int, PoolLoad] = {}
    for pool, arcs in sorted(by_pool.items()):
        expression = load(flow.pool_load[pool], arcs)
        bound(expression, flow.pool_load[pool], net.lendable[pool], pool in face.pools)
        fixed = flow.pool_load[pool] - sum(flow.arcs[arc] for arc in arcs)
        most = min(net.lendable[pool], fixed + sum(net.arc_capacity[arc] for arc in arcs))
        if pool in face.pools and most > fixed:
            loads[pool] = (expression, fixed, most)
    return loads


def _forces_used(
    net: _Network, flow: _Flow, model: cp_model.CpModel, sent: dict[int, cp_model.IntVar], hint: Hint
) -> cp_model.LinearExprT:
    """(4): the (request, force) pairs the moving arcs may add; pairs that fixed arcs use are sunk."""

    def pair(arc: int) -> tuple[str, str]:
        return net.slots[net.arc_slot[arc]].demand.request_id, net.units[net.classes[net.arc_class[arc]][0]].force

    sunk = {pair(arc) for arc, units in enumerate(flow.arcs) if units and arc not in sent}
    moving: dict[tuple[str, str], list[int]] = defaultdict(list)
    for arc in sent:
        if pair(arc) not in sunk:
            moving[pair(arc)].append(arc)
    used = []
    for (request, force), arcs in sorted(moving.items()):
        lends = model.new_bool_var(f"{force} lends to {request}")
        for arc in arcs:
            model.add(sent[arc] <= net.arc_capacity[arc] * lends)
        hint[lends] = int(any(flow.arcs[arc] for arc in arcs))
        used.append(lends)
    return sum(used)


def _spread(
    net: _Network, flow: _Flow, model: cp_model.CpModel, loads: dict[int, PoolLoad], hint: Hint
) -> cp_model.LinearExprT:
    """(5): the sum of load^2 / lendable over the pools whose load may move, scaled to integers."""
    scale = math.lcm(*(net.lendable[pool] for pool in loads)) if loads else 1
    terms = []
    for pool, (load, least, most) in loads.items():
        square = model.new_int_var(least * least, most * most, f"pool{pool}^2")
        for k in range(least, most):  # chords of load^2 between k and k + 1: exact on integers, convex for the LP
            model.add(square >= (2 * k + 1) * load - k * (k + 1))
        hint[square] = flow.pool_load[pool] ** 2
        lendable = net.lendable[pool]
        terms.append((scale // lendable if scale <= EXACT_WEIGHT_LIMIT else EXACT_WEIGHT_LIMIT // lendable) * square)
    return sum(terms)


# --- the plans ------------------------------------------------------------------------------------


def _plans(net: _Network, flow: _Flow, travel: TravelModel, now: datetime) -> dict[str, Plan]:
    """Each slot's units, nearest first, and its shortfall with the reason."""
    taken = _hand_out(net, flow)
    by_slot: dict[int, list[int]] = defaultdict(list)
    for unit, index in taken.items():
        by_slot[index].append(unit)
    exhausted = {pool for pool, load in enumerate(flow.pool_load) if load >= net.lendable[pool]}
    plans: dict[str, Plan] = {}
    for index, slot in enumerate(net.slots):
        plan = plans.setdefault(slot.demand.request_id, Plan(allocations=[], unfilled=[]))
        sent = (allocate(net.units[unit], slot.demand, travel, now) for unit in by_slot[index])
        ranked = sorted(reachable for reachable in sent if reachable is not None)  # all are: only reachable arcs
        plan.allocations.extend(allocation for _, _, allocation in ranked)
        if flow.unfilled[index]:
            reason = _why(net, index, taken, exhausted)
            plan.unfilled.append(
                Shortfall(capability=slot.need.capability, quantity=flow.unfilled[index], reason=reason)
            )
    return plans


def _hand_out(net: _Network, flow: _Flow) -> dict[int, int]:
    """The slot of every unit sent: a class's units go lowest unit id first to the first slots."""
    given = [0] * len(net.classes)
    taken: dict[int, int] = {}
    used = sorted((net.arc_slot[arc], net.arc_class[arc], units) for arc, units in enumerate(flow.arcs) if units)
    for slot, cls, units in used:
        for unit in net.classes[cls][given[cls] : given[cls] + units]:
            taken[unit] = slot
        given[cls] += units
    return taken


def _why(net: _Network, index: int, taken: dict[int, int], exhausted: set[int]) -> str:
    """Why a need stays short: too few units, none on time, taken by other needs, reserves."""
    slot = net.slots[index]
    capability = slot.need.capability.value
    if not slot.eligible:
        return f"no lendable {capability} free for the whole period"
    reasons = [f"only {len(slot.eligible)} lendable {capability} free for the whole period"]
    if slot.reachable and not slot.punctual:
        reasons.append(f"none can arrive by {slot.demand.required_by.astimezone(UTC):%H:%M} UTC")
    elsewhere = [taken[unit] for unit in slot.eligible if taken.get(unit, index) != index]
    if elsewhere:
        requests = sorted({net.slots[other].demand.request_id for other in elsewhere})
        reasons.append(f"{len(elsewhere)} planned for {', '.join(requests)}")
    held = {net.units[u].force for u in slot.eligible if u not in taken and net.unit_pool[u] in exhausted | {-1}}
    if held:
        reasons.append("reserve would be breached in " + ", ".join(sorted(held)))
    return "; ".join(reasons)
