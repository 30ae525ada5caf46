"""A request's period: it must not have ended, and mutual aid lasts at most 8 weeks (then it is a secondment)."""

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.support.builders import SOON, request_body
from tests.support.harness import Harness
from tests.support.steps import operator


@pytest.mark.parametrize(
    ("required_by", "end", "detail"),
    [
        (datetime(2026, 4, 8, 8, tzinfo=UTC), datetime(2026, 4, 9, 20, tzinfo=UTC), "period ended at 2026-04-09"),
        (SOON, SOON + timedelta(days=3652), "covers 3652 days; mutual aid lasts at most 56 days"),
        (SOON, SOON + timedelta(days=56, minutes=1), "covers more than 56 days; mutual aid lasts at most 56 days"),
        (datetime(2099, 12, 30, tzinfo=UTC), datetime(2099, 12, 31, 23, tzinfo=UTC), "more than 730 days ahead"),
        (datetime(9999, 12, 31, tzinfo=UTC), datetime(9999, 12, 31, 23, tzinfo=UTC), "and 2100-01-01T00:00:00Z"),
        (  # UTC of this is beyond the last representable time: outside the range accepted
            datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))),
            datetime(9999, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-5))),
            "must be between 2000-01-01T00:00:00Z and 2100-01-01T00:00:00Z (UTC)",
        ),
    ],
)
async def test_a_past_or_too_long_request_is_refused_with_a_clear_problem(
    system: Harness, required_by: datetime, end: datetime, detail: str
) -> None:
    body = request_body(required_by=required_by.isoformat(), end=end.isoformat())
    headers = operator("west-midlands") | {"Idempotency-Key": str(uuid.uuid4())}
    refused = await system.client("requests").post("/v1/requests", json=body, headers=headers)
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert detail in refused.json()["detail"]
    assert await system.deliver() == 0  # nothing was recorded, nothing announced


async def test_times_are_answered_in_utc_whatever_offset_the_operator_wrote(system: Harness) -> None:
    summer = timezone(timedelta(hours=1))
    required_by = (SOON + timedelta(days=1)).astimezone(summer)
    body = request_body(required_by=required_by.isoformat(), end=(required_by + timedelta(hours=8)).isoformat())
    headers = operator("west-midlands") | {"Idempotency-Key": str(uuid.uuid4())}
    created = await system.client("requests").post("/v1/requests", json=body, headers=headers)
    assert created.status_code == 201, created.text
    path = f"/v1/requests/{created.json()['id']}"
    read = await system.client("requests").get(path, headers=operator("west-midlands"))
    assert created.json()["required_by"] == read.json()["required_by"]
    assert datetime.fromisoformat(created.json()["required_by"]) == required_by
    assert datetime.fromisoformat(created.json()["required_by"]).utcoffset() == timedelta(0)
