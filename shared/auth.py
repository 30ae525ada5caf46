"""Bearer JWT authentication (PyJWT) and role checks as FastAPI dependencies."""

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field, ValidationError, model_validator

from shared.errors import Forbidden, Unauthorized
from shared.forces import forces, regions
from shared.vocabulary import Role

__all__ = ["CurrentPrincipal", "Principal", "Role", "authenticated", "decode_token", "issue_token", "require"]

ALGORITHM = "HS256"
ISSUER = "mutualaid"


FORCE_ROLES = frozenset({Role.OPERATOR, Role.RESOURCE_MANAGER})  # act for one force: the token names it


class Principal(BaseModel):
    """Who is calling: a person or system, their role, and the force or region they act for.

    Refused (ValueError) when the subject is blank, the force or region is not in the reference data, an
    operator or resource manager names no force, or a coordinator no region: such a token reaches nothing.
    """

    sub: str = Field(min_length=1, pattern=r"\S")
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


def issue_token(
    secret: str,
    *,
    sub: str,
    role: Role,
    force: str | None = None,
    region: str | None = None,
    ttl: timedelta = timedelta(hours=12),
) -> str:
    now = datetime.now(UTC)
    claims = {"sub": sub, "role": role.value, "iss": ISSUER, "iat": now, "exp": now + ttl}
    if force:
        claims["force"] = force
    if region:
        claims["region"] = region
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_token(secret: str, token: str) -> Principal:
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], issuer=ISSUER, options={"require": ["sub", "role", "exp"]}
        )
    except jwt.PyJWTError as error:
        raise Unauthorized(f"invalid bearer token: {error}") from error
    try:
        return Principal.model_validate(claims)
    except ValidationError as error:
        reason = str(error.errors()[0]["msg"]).removeprefix("Value error, ")
        raise Unauthorized(f"token claims are not a known role and scope: {reason}") from error


_bearer = HTTPBearer(auto_error=False, description="A JWT from `mutualaid token` or your identity provider")


async def authenticated(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """Every /v1 route depends on this: no valid bearer token, no entry (401)."""
    if credentials is None:
        raise Unauthorized("send an Authorization: Bearer <token> header")
    secret: str = request.app.state.jwt_secret
    principal = decode_token(secret, credentials.credentials)
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
