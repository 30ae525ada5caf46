"""Composition root of the tasking service."""

from datetime import timedelta
from functools import partial
from pathlib import Path

from fastapi import FastAPI, Request

from services.tasking.api import router
from services.tasking.audit_archive import CheckpointArchive, archive_checkpoints
from services.tasking.audit_store import carry_keyring
from services.tasking.commands import record_refusal
from services.tasking.config import TaskingSettings
from services.tasking.consumers import register_consumers
from services.tasking.deps import TaskingDeps
from services.tasking.models import PlanningRun
from services.tasking.planner import planner_named
from services.tasking.planner.travel import Crossing, FerryAwareTravel, GreatCircleTravel, Landmass, Place
from services.tasking.planning import run_planning
from services.tasking.scheduler import PlanningScheduler
from shared.errors import Forbidden
from shared.ferries import ferry_routes, landmasses
from shared.retention import Retention
from shared.service import ServiceRuntime, build_app

MIGRATIONS = Path(__file__).parent / "migrations"
Settings = TaskingSettings


def travel_model(settings: TaskingSettings) -> FerryAwareTravel:
    """Road travel at the configured factor and speed, and the ferry crossings of the reference data."""
    return FerryAwareTravel(
        road=GreatCircleTravel(road_factor=settings.road_factor, convoy_speed_kmh=settings.convoy_speed_kmh),
        crossings=tuple(
            Crossing(
                name=route.name,
                one_end=Place(route.from_lat, route.from_lon),
                other_end=Place(route.to_lat, route.to_lon),
                minutes=route.crossing_minutes,
            )
            for route in ferry_routes()
        ),
        landmasses=tuple(Landmass(name=name, corners=tuple(corners)) for name, corners in landmasses().items()),
        boarding_minutes=settings.ferry_boarding_minutes,
    )


def create_app(settings: TaskingSettings | None = None) -> FastAPI:
    settings = settings or TaskingSettings()
    runtime = ServiceRuntime(settings, migrations_dir=MIGRATIONS)
    carry_keyring(runtime.sessions, settings.audit_keyring())
    scheduler = PlanningScheduler(window_s=settings.batch_window_ms / 1000, sweep_s=settings.planning_sweep_s)
    deps = TaskingDeps(
        uow=runtime.uow,
        sessions=runtime.sessions,
        travel=travel_model(settings),
        planner=planner_named(settings.planner),
        wake_planning=scheduler.wake,
        tour_length=timedelta(hours=settings.tour_hours),
        audit_archive=settings.audit_archive,
    )
    runtime.background("planning", partial(scheduler.run, partial(run_planning, deps)))
    register_consumers(runtime, deps)
    if settings.audit_archive is not None:
        archive = CheckpointArchive(settings.audit_archive)
        runtime.background("audit-archive", partial(archive_checkpoints, settings, archive))
    if settings.planning_inputs_retention_days:
        runtime.retain(planning_inputs_retention(timedelta(days=settings.planning_inputs_retention_days)))

    async def on_refused(request: Request, error: Forbidden) -> None:
        await record_refusal(
            principal=getattr(request.state, "principal", None),
            method=request.method,
            path=request.url.path,
            reason=error.detail,
            proposal_id=request.path_params.get("proposal_id"),
            request_id=request.path_params.get("request_id"),
            deps=deps,
        )

    app = build_app(
        runtime,
        title="Mutual aid tasking",
        description="Matches requests to units across forces; coordinators approve; tasking orders go out.",
        routers=[router],
        on_refused=on_refused,
    )
    app.state.deps = deps
    return app


def planning_inputs_retention(keep: timedelta) -> Retention:
    """A planning run's inputs are emptied once past their time; the run, its settings and digest stay."""
    return Retention(
        kind="planning_inputs",
        table=PlanningRun.__table__,  # type: ignore[attr-defined]
        since=PlanningRun.created_at,  # type: ignore[arg-type]
        keep=keep,
        where=(PlanningRun.inputs_purged_at.is_(None),),  # type: ignore[union-attr]
        clear=lambda now: {"inputs": {}, "inputs_purged_at": now},
    )
