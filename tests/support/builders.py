"""Builders for test data: bodies, tokens and events with sensible defaults and random ids."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.auth import Role, issue_token
from shared.settings import DEVELOPMENT_JWT_SECRET

SOON = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)


def token(role: Role, *, force: str | None = None, region: str | None = None, sub: str | None = None) -> str:
    return issue_token(
        DEVELOPMENT_JWT_SECRET, sub=sub or f"{role.value}-{uuid.uuid4().hex[:6]}", role=role, force=force, region=region
    )


def bearer(role: Role, *, force: str | None = None, region: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(role, force=force, region=region)}"}


def request_body(**overrides: Any) -> dict[str, Any]:
    """A valid POST /v1/requests body: West Midlands asks for 2 PSUs at Villa Park."""
    body: dict[str, Any] = {
        "requesting_force": "west-midlands",
        "operation": f"Op {uuid.uuid4().hex[:6]}",
        "priority": "P2",
        "location": {"lat": 52.509, "lon": -1.885, "description": "Villa Park"},
        "required_by": SOON.isoformat(),
        "end": (SOON + timedelta(days=3)).isoformat(),
        "needs": [{"capability": "PSU", "quantity": 2}],
        "notes": "Derby fixture",
    }
    return body | overrides


def unit_body(**overrides: Any) -> dict[str, Any]:
    """A valid PUT /v1/units/{id} body: a Staffordshire PSU at Stafford, free for a month."""
    body: dict[str, Any] = {
        "force": "staffordshire",
        "capability": "PSU",
        "base": {"lat": 52.814, "lon": -2.092, "description": "Stafford"},
        "readiness_minutes": 60,
        "available_from": (SOON - timedelta(days=7)).isoformat(),
        "available_until": (SOON + timedelta(days=30)).isoformat(),
    }
    return body | overrides


def unit_id(prefix: str = "unit") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
