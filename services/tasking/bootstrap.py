"""Composition root of the tasking service."""

from pathlib import Path

from fastapi import FastAPI, Request

from services.tasking.api import router
from services.tasking.config import TaskingSettings
from services.tasking.consumers import register_consumers
from services.tasking.domain import GreatCircleTravel
from services.tasking.handlers import Deps, record_refusal
from shared.errors import Forbidden
from shared.service import ServiceRuntime, build_app

MIGRATIONS = Path(__file__).parent / "migrations"
Settings = TaskingSettings


def create_app(settings: TaskingSettings | None = None) -> FastAPI:
    settings = settings or TaskingSettings()
    runtime = ServiceRuntime(settings, migrations_dir=MIGRATIONS)
    travel = GreatCircleTravel(road_factor=settings.road_factor, convoy_speed_kmh=settings.convoy_speed_kmh)
    deps = Deps(uow=runtime.uow, travel=travel)
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
