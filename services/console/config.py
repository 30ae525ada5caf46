"""Settings of the web console (environment prefix CONSOLE_)."""

from typing import Literal, Self

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import CommonSettings


class ConsoleSettings(CommonSettings):
    """Where the console listens, where the three services are, and how people sign in.

    auth: "development" offers a sign-in form that mints a token for the chosen role and force or
    region (the claims of `mutualaid token`); "bearer" takes the token an OIDC proxy in front of the
    console puts in the Authorization header, and offers no form.
    """

    model_config = SettingsConfigDict(env_prefix="CONSOLE_", extra="ignore", populate_by_name=True)

    port: int = Field(8000, ge=1, le=65535)
    requests_url: str = "http://127.0.0.1:8001"
    availability_url: str = "http://127.0.0.1:8002"
    tasking_url: str = "http://127.0.0.1:8003"
    auth: Literal["development", "bearer"] = "development"
    live_limit: int = Field(200, ge=1, description="Pages that may follow live updates at once, per process")

    @model_validator(mode="after")
    def _no_development_sign_in_in_production(self) -> Self:
        if self.environment == "production" and self.auth == "development":
            raise ValueError("CONSOLE_AUTH=development lets anyone sign in as any role: use bearer in production")
        if self.jwks_url is not None and self.auth == "development":
            raise ValueError(
                "CONSOLE_AUTH=development signs tokens with MUTUALAID_JWT_SECRET, which MUTUALAID_JWKS_URL replaces: "
                "use bearer with an identity provider"
            )
        return self
