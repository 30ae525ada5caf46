"""Find a service's composition root by name (for the CLI, the runner, contracts and tests)."""

import importlib
from types import ModuleType
from typing import Any

from fastapi import FastAPI

from shared.settings import CommonSettings, ServiceSettings

SERVICES = ("requests", "availability", "tasking")
CONSOLE = "console"  # the web console: pages over the three services' APIs, no database of its own
APPS = (*SERVICES, CONSOLE)


def bootstrap(service: str) -> ModuleType:
    if service not in APPS:
        raise ValueError(f"unknown service {service!r}; one of: {', '.join(APPS)}")
    return importlib.import_module(f"services.{service}.bootstrap")


def settings_for(service: str, **overrides: Any) -> ServiceSettings:
    """The service's settings from the environment, with overrides (by field name) on top."""
    settings: ServiceSettings = bootstrap(service).Settings(**overrides)
    return settings


def create_app(service: str, settings: CommonSettings | None = None) -> FastAPI:
    app: FastAPI = bootstrap(service).create_app(settings or settings_for(service))
    return app
