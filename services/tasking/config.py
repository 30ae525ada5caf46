"""Settings of the tasking service (environment prefix TASKING_)."""

from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class TaskingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TASKING_", extra="ignore", populate_by_name=True)

    service_name: str = "tasking"
    database_url: str = "sqlite+aiosqlite:///var/tasking.db"
    port: int = Field(8003, ge=1, le=65535)
    road_factor: float = Field(1.3, ge=1.0, description="Road distance over great-circle distance")
    convoy_speed_kmh: float = Field(80.0, gt=0, description="Average speed of a convoy of carriers")
    batch_window_ms: int = Field(
        200, ge=0, le=60000, description="Requests of one priority arriving within this window are planned together"
    )
    planner: Literal["optimal", "greedy"] = Field("optimal", description="optimal (OR-Tools) or the greedy baseline")
    planning_sweep_s: float = Field(
        2.0,
        gt=0,
        le=300,
        description="Seconds between checks for open requests that no event woke this replica for "
        "(taken in by a replica that died, or left by a failed run)",
    )
    ferry_boarding_minutes: float = Field(
        60.0, ge=0, le=600, description="Minutes a convoy needs at a port before and after a sailing (unverified)"
    )
    tour_hours: float = Field(
        72,
        gt=0,
        le=24 * 56,
        description="Relief: a request longer than this may be served by successive units, one tour each (unverified)",
    )
    planning_inputs_retention_days: int = Field(
        0,
        ge=0,
        le=36500,
        description="Days a planning run's inputs are kept; then they are emptied, the run and its digest kept, "
        "and its proposals can no longer be explained or replayed. 0 keeps them (docs/decisions/0008)",
    )
