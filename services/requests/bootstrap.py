"""Composition root of the requests service."""

from pathlib import Path

from fastapi import FastAPI

from services.requests.api import router
from services.requests.config import RequestsSettings
from services.requests.consumers import register_consumers
from shared.service import ServiceRuntime, build_app

MIGRATIONS = Path(__file__).parent / "migrations"
Settings = RequestsSettings


def create_app(settings: RequestsSettings | None = None) -> FastAPI:
    runtime = ServiceRuntime(settings or RequestsSettings(), migrations_dir=MIGRATIONS)
    register_consumers(runtime)
    return build_app(
        runtime,
        title="Mutual aid requests",
        description="Control-room operators submit mutual aid requests and track them to mobilisation.",
        routers=[router],
    )
