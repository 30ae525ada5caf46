"""Settings of the requests service (environment prefix REQUESTS_)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import MAX_RETENTION_HOURS, ServiceSettings


class RequestsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REQUESTS_", extra="ignore", populate_by_name=True)

    service_name: str = "requests"
    database_url: str = "sqlite+aiosqlite:///var/requests.db"
    port: int = Field(8001, ge=1, le=65535)
    max_deployment_days: int = Field(
        56,
        ge=1,
        le=366,
        description="Longest period a request may cover; beyond 8 weeks a loan is a secondment, not mutual aid "
        "(College of Policing APP, mobilisation)",
    )
    idempotency_key_retention_hours: float = Field(
        168,
        ge=24,
        le=MAX_RETENTION_HOURS,
        description="How long an Idempotency-Key is remembered: a retry with the same key within it returns the "
        "request it created; after it, the key is forgotten and the same body makes a new request",
    )
