"""Bearer JWT authentication (PyJWT) and role checks as FastAPI dependencies."""

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from shared.errors import Forbidden, Unauthorized
from shared.vocabulary import Role

__all__ = ["CurrentPrincipal", "Principal", "Role", "authenticated", "decode_token", "issue_token", "require"]

ALGORITHM = "HS256"
ISSUER = "mutualaid"


class Principal(BaseModel):
    """Who is calling: a person or system, their role, and the force or region they act for."""

    sub: str
    role: Role
    force: str | None = None
    region: str | None = None

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
    except ValueError as error:
        raise Unauthorized("token claims are not a known role and scope") from error


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
