"""Bearer tokens, roles and the settings that guard the signing key."""

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from shared.auth import Role, decode_token, issue_token
from shared.errors import Unauthorized
from shared.settings import DEVELOPMENT_JWT_SECRET, CommonSettings

SECRET = "a-test-signing-key-that-is-long-enough-for-hs256"


def test_a_token_carries_role_force_and_region() -> None:
    token = issue_token(SECRET, sub="op1", role=Role.OPERATOR, force="west-midlands")
    principal = decode_token(SECRET, token)
    assert (principal.sub, principal.role, principal.force, principal.region) == (
        "op1",
        Role.OPERATOR,
        "west-midlands",
        None,
    )
    assert principal.acts_for_force("west-midlands")
    assert not principal.acts_for_force("staffordshire")


def test_an_integration_acts_for_any_force() -> None:
    principal = decode_token(SECRET, issue_token(SECRET, sub="duty-system", role=Role.INTEGRATION))
    assert principal.acts_for_force("staffordshire")


@pytest.mark.parametrize(
    "token",
    [
        issue_token("another-key-that-is-also-long-enough-xx", sub="x", role=Role.OPERATOR),
        issue_token(SECRET, sub="x", role=Role.OPERATOR, ttl=timedelta(seconds=-1)),
        "not-a-jwt",
    ],
)
def test_forged_expired_or_garbled_tokens_are_refused(token: str) -> None:
    with pytest.raises(Unauthorized):
        decode_token(SECRET, token)


def test_production_refuses_the_development_signing_key() -> None:
    with pytest.raises(ValidationError, match="MUTUALAID_JWT_SECRET"):
        CommonSettings(environment="production")
    assert CommonSettings(environment="production", jwt_secret=SECRET).environment == "production"
    assert CommonSettings().jwt_secret.get_secret_value() == DEVELOPMENT_JWT_SECRET


@pytest.mark.parametrize(
    "claims",
    [
        {"role": Role.OPERATOR, "force": "gotham"},
        {"role": Role.COORDINATOR, "region": "Narnia"},
        {"role": Role.AUDITOR, "force": "gotham"},
        {"role": Role.OPERATOR},
        {"role": Role.RESOURCE_MANAGER},
        {"role": Role.COORDINATOR},
    ],
)
def test_a_token_for_an_unknown_force_or_region_or_naming_none_is_refused_at_the_door(claims: dict[str, Any]) -> None:
    with pytest.raises(Unauthorized, match="not a known role and scope"):
        decode_token(SECRET, issue_token(SECRET, sub="someone", **claims))


def test_a_token_with_a_blank_subject_is_refused() -> None:
    with pytest.raises(Unauthorized):
        decode_token(SECRET, issue_token(SECRET, sub="  ", role=Role.AUDITOR))
