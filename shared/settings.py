"""Settings every service shares; each service extends them with its own prefix."""

import re
from typing import Annotated, Literal

from limits import parse_many
from pydantic import BeforeValidator, Field, HttpUrl, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.logs import LogFormat, LogLevel

DEVELOPMENT_JWT_SECRET = "mutualaid-development-signing-key-not-for-production"  # noqa: S105
MAX_RETENTION_HOURS = 24 * 365 * 10  # ten years: beyond it a retention is a mistake (and infinity overflows timedelta)


class CommonSettings(BaseSettings):
    """Kafka, auth and runtime settings read from unprefixed environment variables."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    environment: Literal["development", "test", "production"] = Field("development", validation_alias="MUTUALAID_ENV")
    kafka_bootstrap_servers: str = Field("127.0.0.1:9092", validation_alias="KAFKA_BOOTSTRAP_SERVERS")
    kafka_topic_partitions: int = Field(3, ge=1, validation_alias="KAFKA_TOPIC_PARTITIONS")
    kafka_session_timeout_ms: int = Field(6000, ge=1000, validation_alias="KAFKA_SESSION_TIMEOUT_MS")
    kafka_heartbeat_interval_ms: int = Field(500, ge=100, validation_alias="KAFKA_HEARTBEAT_INTERVAL_MS")
    kafka_fetch_max_wait_ms: int = Field(
        100,
        ge=0,
        validation_alias="KAFKA_FETCH_MAX_WAIT_MS",
        description="Longest a consumer's fetch waits for data; bounds the latency of each event hop",
    )
    kafka_namespace: str = Field(
        "",
        pattern=r"^[A-Za-z0-9._-]*$",
        validation_alias="KAFKA_NAMESPACE",
        description="Prefix for topic and consumer-group names, so environments can share a cluster",
    )
    jwt_secret: SecretStr = Field(SecretStr(DEVELOPMENT_JWT_SECRET), validation_alias="MUTUALAID_JWT_SECRET")
    jwks_url: HttpUrl | None = Field(
        None,
        validation_alias="MUTUALAID_JWKS_URL",
        description="The identity provider's JWKS (OIDC jwks_uri): tokens are checked against its public keys "
        "instead of MUTUALAID_JWT_SECRET",
    )
    jwt_algorithm: Literal["HS256", "RS256", "ES256"] = Field(
        "HS256",
        validation_alias="MUTUALAID_JWT_ALGORITHM",
        description="The one algorithm tokens are checked with: HS256 with the shared secret, RS256 or ES256 with "
        "a JWKS",
    )
    jwt_issuer: str = Field("mutualaid", min_length=1, max_length=500, validation_alias="MUTUALAID_JWT_ISSUER")
    jwt_audience: str = Field("mutualaid", min_length=1, max_length=500, validation_alias="MUTUALAID_JWT_AUDIENCE")
    jwt_leeway_s: int = Field(
        30,
        ge=0,
        le=300,
        validation_alias="MUTUALAID_JWT_LEEWAY_S",
        description="Clock skew allowed between the token's issuer and this service, on exp, nbf and iat",
    )
    outbox_poll_interval_s: float = Field(1.0, gt=0, le=3600, validation_alias="MUTUALAID_OUTBOX_POLL_INTERVAL_S")
    outbox_retention_hours: float = Field(
        168,
        ge=1,
        le=MAX_RETENTION_HOURS,
        validation_alias="MUTUALAID_OUTBOX_RETENTION_HOURS",
        description="How long sent outbox rows are kept: all a relay can send again to a broker that came back empty",
    )
    inbox_retention_hours: float = Field(
        336,
        ge=1,
        le=MAX_RETENTION_HOURS,
        validation_alias="MUTUALAID_INBOX_RETENTION_HOURS",
        description="How long a consumer remembers the events it applied: at least the outbox retention, or an "
        "event sent again would be applied twice",
    )
    log_format: Annotated[LogFormat, BeforeValidator(str.lower)] = Field(
        "json",
        validation_alias="MUTUALAID_LOG_FORMAT",
        description="json: one JSON object a line, for a log collector; text: a readable line, for a terminal",
    )
    log_level: Annotated[LogLevel, BeforeValidator(str.upper)] = Field("INFO", validation_alias="MUTUALAID_LOG_LEVEL")
    purge_interval_s: float = Field(300, gt=0, le=86400, validation_alias="MUTUALAID_PURGE_INTERVAL_S")
    purge_batch_size: int = Field(500, ge=1, le=10000, validation_alias="MUTUALAID_PURGE_BATCH_SIZE")
    purge_pause_ms: int = Field(
        50, ge=0, le=60000, validation_alias="MUTUALAID_PURGE_PAUSE_MS", description="Pause between two purge batches"
    )

    max_body_bytes: int = Field(
        4 * 1024 * 1024,
        ge=1024,
        le=100 * 1024 * 1024,
        validation_alias="MUTUALAID_MAX_BODY_BYTES",
        description="Longest request body accepted (413 beyond)",
    )
    write_rate_limit: str = Field(
        "100/second;3000/minute",
        validation_alias="MUTUALAID_WRITE_RATE_LIMIT",
        description="Writes per principal and replica, in the limits notation (429 beyond); empty: none",
    )
    cors_allowed_origins: str = Field(
        "",
        validation_alias="MUTUALAID_CORS_ALLOWED_ORIGINS",
        description="Comma-separated origins a browser may call the API from (https://console.example); "
        "empty: none (CORS closed)",
    )

    def cors_origins(self) -> list[str]:
        """The CORS allow-list, one origin each."""
        return [origin.strip() for origin in self.cors_allowed_origins.split(",") if origin.strip()]

    def namespaced(self, name: str) -> str:
        """A topic or consumer-group name as it is on the broker, with this environment's namespace."""
        return f"{self.kafka_namespace}{name}"

    @model_validator(mode="after")
    def _refuse_development_secret_in_production(self) -> "CommonSettings":
        signs = self.jwks_url is None  # with a JWKS the secret checks no token
        if signs and self.environment != "development" and self.jwt_secret.get_secret_value() == DEVELOPMENT_JWT_SECRET:
            raise ValueError(f"MUTUALAID_JWT_SECRET must be set to a real secret in {self.environment}")
        if len(self.jwt_secret.get_secret_value()) < 32:
            raise ValueError("MUTUALAID_JWT_SECRET must be at least 32 characters")
        self._check_token_keys()
        if self.inbox_retention_hours < self.outbox_retention_hours:
            raise ValueError(
                "MUTUALAID_INBOX_RETENTION_HOURS must be at least MUTUALAID_OUTBOX_RETENTION_HOURS: an event "
                "sent again from the outbox after its inbox mark was purged would be applied twice"
            )
        self._check_http_limits()
        if self.kafka_heartbeat_interval_ms >= self.kafka_session_timeout_ms:
            raise ValueError(
                "KAFKA_HEARTBEAT_INTERVAL_MS must be below KAFKA_SESSION_TIMEOUT_MS (a third of it is usual): "
                "a consumer that beats less often than its session lasts is dropped from its group again and again"
            )
        return self

    def _check_token_keys(self) -> None:
        if self.jwks_url is not None and self.jwt_algorithm == "HS256":
            raise ValueError(
                "MUTUALAID_JWT_ALGORITHM must be RS256 or ES256 with MUTUALAID_JWKS_URL: a JWKS holds public keys"
            )
        if self.jwks_url is None and self.jwt_algorithm != "HS256":
            raise ValueError(
                f"MUTUALAID_JWKS_URL must be set with MUTUALAID_JWT_ALGORITHM={self.jwt_algorithm}: the identity "
                "provider's public keys come from it"
            )
        if self.environment == "production" and self.jwks_url is not None and self.jwks_url.scheme != "https":
            raise ValueError("MUTUALAID_JWKS_URL must be https in production: the keys decide who may do anything")

    def _check_http_limits(self) -> None:
        try:
            parse_many(self.write_rate_limit) if self.write_rate_limit.strip() else None
        except ValueError:
            raise ValueError(
                f"MUTUALAID_WRITE_RATE_LIMIT {self.write_rate_limit!r} is not a rate such as 100/second;3000/minute"
            ) from None
        for origin in self.cors_origins():
            if origin == "*" or not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?", origin):
                raise ValueError(
                    f"MUTUALAID_CORS_ALLOWED_ORIGINS: {origin!r} is not an origin such as https://console.example "
                    "(no wildcard, path or trailing slash)"
                )


class ServiceSettings(CommonSettings):
    """What differs per service: its name, its database and its port."""

    service_name: str
    database_url: str
    port: int = Field(ge=1, le=65535)
