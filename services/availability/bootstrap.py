"""Composition root of the availability service."""

from pathlib import Path

from fastapi import FastAPI

from services.availability.api import router
from services.availability.config import AvailabilitySettings
from services.availability.consumers import register_consumers
from shared.service import ServiceRuntime, build_app

MIGRATIONS = Path(__file__).parent / "migrations"
Settings = AvailabilitySettings


def create_app(settings: AvailabilitySettings | None = None) -> FastAPI:
    runtime = ServiceRuntime(settings or AvailabilitySettings(), migrations_dir=MIGRATIONS)
    register_consumers(runtime)
    return build_app(
        runtime,
        title="Mutual aid availability",
        description="Forces declare the units they can lend; approved taskings commit them, all or none.",
        routers=[router],
    )
