"""Composition root of the tasking service."""

from functools import partial
from pathlib import Path

from fastapi import FastAPI, Request

from services.tasking.api import router
from services.tasking.commands import record_refusal
from services.tasking.config import TaskingSettings
from services.tasking.consumers import register_consumers
from services.tasking.domain import GreatCircleTravel
from services.tasking.handlers import Deps, plan
from services.tasking.planning import planner_named
from services.tasking.scheduler import PlanningScheduler
from shared.errors import Forbidden
from shared.service import ServiceRuntime, build_app

MIGRATIONS = Path(__file__).parent / "migrations"
Settings = TaskingSettings


def create_app(settings: TaskingSettings | None = None) -> FastAPI:
    settings = settings or TaskingSettings()
    runtime = ServiceRuntime(settings, migrations_dir=MIGRATIONS)
    travel = GreatCircleTravel(road_factor=settings.road_factor, convoy_speed_kmh=settings.convoy_speed_kmh)
    scheduler: PlanningScheduler | None = None
    deps = Deps(
        uow=runtime.uow,
        travel=travel,
        planner=planner_named(settings.planner),
        wake_planning=lambda: scheduler.wake() if scheduler else None,
    )
    scheduler = PlanningScheduler(partial(plan, deps), window_s=settings.batch_window_ms / 1000)
    runtime.background(scheduler.run)
    runtime.extras["deps"] = deps
    register_consumers(runtime, deps)

    async def on_refused(request: Request, error: Forbidden) -> None:
        await record_refusal(
            principal=getattr(request.state, "principal", None),
            method=request.method,
            path=request.url.path,
            reason=error.detail,
            proposal_id=request.path_params.get("proposal_id"),
            deps=deps,
        )

    return build_app(
        runtime,
        title="Mutual aid tasking",
        description="Matches requests to units across forces; coordinators approve; tasking orders go out.",
        routers=[router],
        on_refused=on_refused,
    )
