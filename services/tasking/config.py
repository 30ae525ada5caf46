"""Settings of the tasking service (environment prefix TASKING_)."""

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from services.tasking.audit import UNKEYED, Keyring
from shared.settings import ServiceSettings

DEVELOPMENT_AUDIT_KEY = "mutualaid-development-audit-key-not-for-production"


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
    audit_keys: dict[int, SecretStr] = Field(
        default_factory=lambda: {1: SecretStr(DEVELOPMENT_AUDIT_KEY)},
        description='The audit trail\'s keys by version, as JSON ({"1": "..."}), at least 32 characters each; '
        "keep every version whose entries are still to be verified (docs/decisions/0015)",
    )
    audit_archive: Path | None = Field(
        None,
        description="A file this process appends each checkpoint it reads from the audit topic to, outside the "
        "database (`mutualaid run` keeps one in its state directory; docs/decisions/0015)",
    )
    audit_key_version: int | None = Field(
        None, description="The key version new audit entries are sealed with; the highest version when unset"
    )

    def audit_keyring(self) -> Keyring:
        """The audit keys as a keyring, sealing with the configured version."""
        keys = {version: secret.get_secret_value().encode() for version, secret in self.audit_keys.items()}
        return Keyring(keys=keys, current=self.audit_key_version or max(keys))

    @model_validator(mode="after")
    def _check_audit_keys(self) -> "TaskingSettings":
        if not self.audit_keys:
            raise ValueError("TASKING_AUDIT_KEYS must hold at least one key")
        if UNKEYED in self.audit_keys:
            raise ValueError(f"TASKING_AUDIT_KEYS: version {UNKEYED} is reserved for entries written before keys")
        if any(len(secret.get_secret_value()) < 32 for secret in self.audit_keys.values()):
            raise ValueError("TASKING_AUDIT_KEYS: every key must be at least 32 characters")
        if self.audit_key_version is not None and self.audit_key_version not in self.audit_keys:
            raise ValueError(f"TASKING_AUDIT_KEY_VERSION {self.audit_key_version} is not in TASKING_AUDIT_KEYS")
        development = any(secret.get_secret_value() == DEVELOPMENT_AUDIT_KEY for secret in self.audit_keys.values())
        if self.environment != "development" and development:  # as the development JWT secret is refused
            raise ValueError(f"TASKING_AUDIT_KEYS must hold real keys in {self.environment}, not the development key")
        return self
