"""Bearer JWT authentication (PyJWT) and role checks as FastAPI dependencies."""

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Self

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field, ValidationError, model_validator

from shared.errors import Forbidden, Unauthorized, Unavailable
from shared.forces import forces, regions
from shared.settings import CommonSettings
from shared.vocabulary import NAME_LENGTH, NAME_PATTERN, Role

__all__ = [
    "CurrentPrincipal",
    "Principal",
    "Role",
    "TokenRules",
    "TokenVerifier",
    "authenticated",
    "decode_token",
    "issue_token",
    "require",
    "token_rules",
]

DEVELOPMENT_ALGORITHM = "HS256"  # the shared secret's; an identity provider's keys are RS256 or ES256
ISSUER = "mutualaid"  # the development issuer and audience (MUTUALAID_JWT_ISSUER, MUTUALAID_JWT_AUDIENCE)
AUDIENCE = "mutualaid"


FORCE_ROLES = frozenset({Role.OPERATOR, Role.RESOURCE_MANAGER})  # act for one force: the token names it


class Principal(BaseModel):
    """Who is calling: a person or system, their role, and the force or region they act for.

    Refused (ValueError) when the subject is blank, longer than 200 characters or holds a control character
    (it is stored and logged as who acted), the force or region is not in the reference data, an
    operator or resource manager names no force, or a coordinator no region: such a token reaches nothing.
    """

    sub: str = Field(min_length=1, max_length=NAME_LENGTH, pattern=NAME_PATTERN)
    role: Role
    force: str | None = None
    region: str | None = None

    @model_validator(mode="after")
    def _known_scope(self) -> "Principal":
        if self.force is not None and self.force not in forces():
            raise ValueError(f"unknown force {self.force!r}")
        if self.region is not None and self.region not in regions():
            raise ValueError(f"unknown region {self.region!r}")
        if self.role in FORCE_ROLES and self.force is None:
            raise ValueError(f"a {self.role.value} acts for a force: the token names none")
        if self.role is Role.COORDINATOR and self.region is None:
            raise ValueError("a coordinator coordinates a region: the token names none")
        return self

    def acts_for_force(self, force: str) -> bool:
        return self.role is Role.INTEGRATION or self.force == force


@dataclass(frozen=True)
class TokenRules:
    """What a token must carry besides a good signature: who issued it, for whom, and how far clocks may differ
    (leeway, applied to exp, nbf and iat)."""

    issuer: str = ISSUER
    audience: str = AUDIENCE
    leeway: timedelta = timedelta(seconds=30)


def issue_token(
    secret: str,
    *,
    sub: str,
    role: Role,
    force: str | None = None,
    region: str | None = None,
    ttl: timedelta = timedelta(hours=12),
    rules: TokenRules = TokenRules(),
) -> str:
    """A development token (HS256, signed with the shared secret) with the issuer and audience of the rules."""
    now = datetime.now(UTC)
    claims = {
        "sub": sub,
        "role": role.value,
        "iss": rules.issuer,
        "aud": rules.audience,
        "iat": now,
        "exp": now + ttl,
    }
    if force:
        claims["force"] = force
    if region:
        claims["region"] = region
    return jwt.encode(claims, secret, algorithm=DEVELOPMENT_ALGORITHM)


def development_token(
    settings: CommonSettings,
    *,
    sub: str,
    role: Role,
    force: str | None = None,
    region: str | None = None,
    ttl: timedelta = timedelta(hours=12),
) -> str:
    """A token the services configured by `settings` accept, signed with MUTUALAID_JWT_SECRET (`mutualaid token`,
    the console's development sign-in); ValueError when they check tokens against an identity provider's JWKS."""
    if settings.jwks_url is not None:
        raise ValueError(
            "MUTUALAID_JWKS_URL is set: tokens come from the identity provider, none can be minted with the secret"
        )
    secret = settings.jwt_secret.get_secret_value()
    return issue_token(secret, sub=sub, role=role, force=force, region=region, ttl=ttl, rules=token_rules(settings))


def decode_token(
    key: str | jwt.PyJWK, token: str, *, algorithm: str = DEVELOPMENT_ALGORITHM, rules: TokenRules = TokenRules()
) -> Principal:
    """The principal of a token signed with `key` under exactly `algorithm`, of the rules' issuer and audience,
    not expired (but for the leeway), with a subject, a role and a known force or region; Unauthorized (401)
    otherwise."""
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            issuer=rules.issuer,
            audience=rules.audience,
            leeway=rules.leeway,
            options={"require": ["sub", "role", "exp", "iss", "aud"]},
        )
    except jwt.PyJWTError as error:
        raise Unauthorized(f"invalid bearer token: {error}") from error
    try:
        return Principal.model_validate(claims)
    except ValidationError as error:
        reason = str(error.errors()[0]["msg"]).removeprefix("Value error, ")
        raise Unauthorized(f"token claims are not a known role and scope: {reason}") from error


class TokenVerifier:
    """Checks the bearer tokens of every /v1 route and of the console.

    Development: HS256 with the shared secret. Production with an identity provider: its public keys from
    the JWKS URL (PyJWKClient, cached for `jwks_lifespan`, fetched again for a key id it does not know),
    the algorithm pinned to the one configured (RS256 or ES256), so a token cannot choose how it is checked.
    """

    def __init__(
        self,
        *,
        rules: TokenRules,
        secret: str | None = None,
        jwks: jwt.PyJWKClient | None = None,
        algorithm: str = DEVELOPMENT_ALGORITHM,
    ) -> None:
        if (secret is None) == (jwks is None):
            raise ValueError("a token verifier takes a shared secret or a JWKS client, one of the two")
        self.rules, self.algorithm, self._secret, self._jwks = rules, algorithm, secret, jwks

    @classmethod
    def from_settings(cls, settings: CommonSettings, *, jwks_lifespan: timedelta = timedelta(minutes=5)) -> Self:
        """The verifier the settings describe (MUTUALAID_JWT_* and MUTUALAID_JWKS_URL)."""
        rules = token_rules(settings)
        if settings.jwks_url is None:
            return cls(rules=rules, secret=settings.jwt_secret.get_secret_value())
        client = jwt.PyJWKClient(str(settings.jwks_url), lifespan=int(jwks_lifespan.total_seconds()), timeout=5)
        return cls(rules=rules, jwks=client, algorithm=settings.jwt_algorithm)

    async def principal(self, token: str) -> Principal:
        """Who the token says is calling; Unauthorized (401) for any token that does not hold, Unavailable (503)
        when the identity provider's keys cannot be fetched."""
        return decode_token(await self._key_for(token), token, algorithm=self.algorithm, rules=self.rules)

    async def _key_for(self, token: str) -> str | jwt.PyJWK:
        if self._secret is not None:
            return self._secret
        assert self._jwks is not None
        try:
            # urllib underneath: off the event loop (a cached key set answers without a fetch)
            return await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
        except jwt.PyJWKClientConnectionError as error:
            raise Unavailable("the identity provider's signing keys cannot be fetched; try again") from error
        except jwt.PyJWTError as error:
            raise Unauthorized(f"invalid bearer token: {error}") from error


def token_rules(settings: CommonSettings) -> TokenRules:
    """The issuer, audience and leeway the settings give tokens."""
    return TokenRules(
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        leeway=timedelta(seconds=settings.jwt_leeway_s),
    )


_bearer = HTTPBearer(auto_error=False, description="A JWT from `mutualaid token` or your identity provider")


async def authenticated(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """Every /v1 route depends on this: no valid bearer token, no entry (401)."""
    if credentials is None:
        raise Unauthorized("send an Authorization: Bearer <token> header")
    verifier: TokenVerifier = request.app.state.tokens
    principal = await verifier.principal(credentials.credentials)
    request.state.principal = principal  # for whoever records a refusal after this point
    return principal


def require(*roles: Role) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    """A dependency that admits only the given roles (403 otherwise)."""

    async def check(principal: Annotated[Principal, Depends(authenticated)]) -> Principal:
        if principal.role not in roles:
            allowed = ", ".join(role.value for role in roles)
            raise Forbidden(f"role {principal.role.value} may not do this; needs one of: {allowed}")
        return principal

    return check


CurrentPrincipal = Annotated[Principal, Depends(authenticated)]
