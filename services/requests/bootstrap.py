"""Composition root of the requests service."""

from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI

from services.requests.api import router
from services.requests.config import RequestsSettings
from services.requests.consumers import register_consumers
from services.requests.domain import RequestRules
from services.requests.models import IdempotencyRecord
from shared.retention import Retention
from shared.service import ServiceRuntime, build_app

MIGRATIONS = Path(__file__).parent / "migrations"
Settings = RequestsSettings


def create_app(settings: RequestsSettings | None = None) -> FastAPI:
    settings = settings or RequestsSettings()
    runtime = ServiceRuntime(settings, migrations_dir=MIGRATIONS)
    register_consumers(runtime)
    runtime.retain(idempotency_retention(timedelta(hours=settings.idempotency_key_retention_hours)))
    app = build_app(
        runtime,
        title="Mutual aid requests",
        description="Control-room operators submit mutual aid requests and track them to mobilisation.",
        routers=[router],
    )
    app.state.rules = RequestRules(longest=timedelta(days=settings.max_deployment_days))
    return app


def idempotency_retention(keep: timedelta) -> Retention:
    """Idempotency keys are deleted once past the window a client may retry in."""
    return Retention(
        kind="idempotency_key",
        table=IdempotencyRecord.__table__,  # type: ignore[attr-defined]
        since=IdempotencyRecord.created_at,  # type: ignore[arg-type]
        keep=keep,
    )
