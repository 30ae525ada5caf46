"""Settings of the availability service (environment prefix AVAILABILITY_)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class AvailabilitySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AVAILABILITY_", extra="ignore", populate_by_name=True)

    service_name: str = "availability"
    database_url: str = "sqlite+aiosqlite:///var/availability.db"
    port: int = Field(8002, ge=1, le=65535)
