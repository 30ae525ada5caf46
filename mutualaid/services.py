"""Find a service's composition root by name (for the CLI, the runner, contracts and tests)."""

import importlib
from types import ModuleType
from typing import Any

from fastapi import FastAPI

from shared.settings import ServiceSettings

SERVICES = ("requests", "availability", "tasking")


def bootstrap(service: str) -> ModuleType:
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}; one of: {', '.join(SERVICES)}")
    return importlib.import_module(f"services.{service}.bootstrap")


def settings_for(service: str, **overrides: Any) -> ServiceSettings:
    """The service's settings from the environment, with overrides (by field name) on top."""
    settings: ServiceSettings = bootstrap(service).Settings(**overrides)
    return settings


def create_app(service: str, settings: ServiceSettings | None = None) -> FastAPI:
    app: FastAPI = bootstrap(service).create_app(settings or settings_for(service))
    return app
