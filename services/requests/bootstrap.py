"""Composition root of the requests service."""

from pathlib import Path

from fastapi import FastAPI

from services.requests.api import router
from services.requests.config import RequestsSettings
from services.requests.consumers import register_consumers
from shared.service import ServiceRuntime
from shared.web import install_operational_routes, install_problem_handlers

MIGRATIONS = Path(__file__).parent / "migrations"
Settings = RequestsSettings


def create_app(settings: RequestsSettings | None = None) -> FastAPI:
    settings = settings or RequestsSettings()
    runtime = ServiceRuntime(settings, migrations_dir=MIGRATIONS)
    register_consumers(runtime)
    app = FastAPI(
        title="Mutual aid requests",
        version="1.0.0",
        description="Control-room operators submit mutual aid requests and track them to mobilisation.",
        lifespan=runtime.lifespan,
    )
    app.state.runtime = runtime
    app.state.jwt_secret = settings.jwt_secret.get_secret_value()
    install_problem_handlers(app)
    install_operational_routes(app, service=settings.service_name, readiness=runtime.readiness)
    app.include_router(router)
    return app
