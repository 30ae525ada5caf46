"""Tokens: issuer, audience, expiry with a bounded leeway, the algorithm pinned, keys from a JWKS or the
development secret; `mutualaid token` mints development tokens only."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from typer.testing import CliRunner

from mutualaid.cli import app
from shared.auth import TokenRules, TokenVerifier, issue_token
from shared.errors import Unauthorized
from shared.settings import CommonSettings
from shared.vocabulary import Role

SECRET = "a-test-signing-key-that-is-long-enough-for-hs256"
RULES = TokenRules(issuer="https://idp.example", audience="mutualaid-api", leeway=timedelta(seconds=30))
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def claims(**overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    found = {
        "sub": "sam",
        "role": "auditor",
        "iss": RULES.issuer,
        "aud": RULES.audience,
        "exp": now + timedelta(hours=1),
    }
    return {key: value for key, value in (found | overrides).items() if value is not None}


def jwks_verifier(algorithm: str = "RS256") -> TokenVerifier:
    """A verifier whose JWKS client answers with the test keys instead of fetching them."""
    client = jwt.PyJWKClient("https://idp.example/jwks")
    rsa_jwk = RSAAlgorithm.to_jwk(RSA_KEY.public_key(), as_dict=True) | {"kid": "rsa-1", "use": "sig"}
    ec_jwk = ECAlgorithm.to_jwk(EC_KEY.public_key(), as_dict=True) | {"kid": "ec-1", "use": "sig"}
    client.fetch_data = lambda: {"keys": [rsa_jwk, ec_jwk]}  # type: ignore[method-assign]
    return TokenVerifier(rules=RULES, jwks=client, algorithm=algorithm)


def rs256(**overrides: Any) -> str:
    return jwt.encode(claims(**overrides), RSA_KEY, algorithm="RS256", headers={"kid": "rsa-1"})


def check(verifier: TokenVerifier, token: str) -> str:
    return asyncio.run(verifier.principal(token)).sub


def test_a_token_signed_by_the_identity_provider_is_checked_against_its_jwks() -> None:
    assert check(jwks_verifier(), rs256()) == "sam"
    es256 = jwt.encode(claims(), EC_KEY, algorithm="ES256", headers={"kid": "ec-1"})
    assert check(jwks_verifier("ES256"), es256) == "sam"


@pytest.mark.parametrize(
    ("token", "why"),
    [
        (jwt.encode(claims(), EC_KEY, algorithm="ES256", headers={"kid": "ec-1"}), "alg value"),
        (jwt.encode(claims(), SECRET, algorithm="HS256", headers={"kid": "rsa-1"}), "alg value"),
        (rs256(iss="https://elsewhere.example"), "Invalid issuer"),
        (rs256(aud="another-api"), "Audience"),
        (rs256(aud=None), '"aud"'),
        (rs256(sub=None), '"sub"'),
        (rs256(exp=datetime.now(UTC) - timedelta(seconds=90)), "expired"),
        (jwt.encode(claims(), RSA_KEY, algorithm="RS256", headers={"kid": "unknown"}), "signing key"),
    ],
)
def test_a_token_of_another_algorithm_issuer_or_audience_expired_or_without_subject_is_refused(
    token: str, why: str
) -> None:
    with pytest.raises(Unauthorized, match="invalid bearer token") as refused:
        check(jwks_verifier("RS256"), token)
    assert why in refused.value.detail


def test_clocks_may_differ_by_the_leeway_and_no_more() -> None:
    verifier = jwks_verifier()
    assert check(verifier, rs256(exp=datetime.now(UTC) - timedelta(seconds=10))) == "sam"
    assert check(verifier, rs256(nbf=datetime.now(UTC) + timedelta(seconds=10))) == "sam"
    with pytest.raises(Unauthorized):
        check(verifier, rs256(nbf=datetime.now(UTC) + timedelta(seconds=90)))


def test_development_keeps_the_shared_secret_with_the_configured_issuer_and_audience() -> None:
    settings = CommonSettings(jwt_issuer="https://idp.example", jwt_audience="mutualaid-api")
    verifier = TokenVerifier.from_settings(settings)
    secret = settings.jwt_secret.get_secret_value()
    assert check(verifier, issue_token(secret, sub="sam", role=Role.AUDITOR, rules=RULES)) == "sam"
    with pytest.raises(Unauthorized, match="issuer"):
        check(verifier, issue_token(secret, sub="sam", role=Role.AUDITOR))  # the default issuer and audience


def test_mutualaid_token_mints_a_development_token_the_services_accept() -> None:
    result = CliRunner().invoke(app, ["token", "--role", "operator", "--force", "west-midlands"])
    assert result.exit_code == 0, result.output
    principal = asyncio.run(TokenVerifier.from_settings(CommonSettings()).principal(result.output.strip()))
    assert (principal.role, principal.force) == (Role.OPERATOR, "west-midlands")


def test_mutualaid_token_refuses_in_one_line_when_keys_come_from_an_identity_provider(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MUTUALAID_JWKS_URL", "https://idp.example/jwks")
    monkeypatch.setenv("MUTUALAID_JWT_ALGORITHM", "RS256")
    result = CliRunner().invoke(app, ["token", "--role", "auditor"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "mutualaid token: MUTUALAID_JWKS_URL is set: tokens come from the identity provider, none can be minted "
        "with the secret"
    ]


@pytest.mark.parametrize(("role", "option"), [("operator", "--force"), ("coordinator", "--region")])
def test_mutualaid_token_refuses_a_role_without_the_force_or_region_it_acts_for(role: str, option: str) -> None:
    result = CliRunner().invoke(app, ["token", "--role", role])
    assert result.exit_code == 2
    assert option in result.output
