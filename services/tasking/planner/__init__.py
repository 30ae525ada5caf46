"""The planner: pure matching of demands to units (problem, greedy baseline, optimiser, decision records).

Nothing here does I/O or knows the database, the broker or HTTP: a planning run (services.tasking.planning)
loads a PlanningProblem, hands it to a Planner and stores what comes back.
"""

from services.tasking.planner.greedy import GreedyPlanner
from services.tasking.planner.problem import Planner


def planner_named(name: str) -> Planner:
    """The planner a setting ("optimal", "greedy") or a recorded run ("optimal-flow", "greedy-nearest") names."""
    if name in ("greedy", GreedyPlanner.name):
        return GreedyPlanner()
    from services.tasking.planner.optimal import OptimalPlanner  # OR-Tools loads only when asked for

    planner: Planner = OptimalPlanner()
    return planner
