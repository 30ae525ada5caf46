"""Retention settings: an inbox never forgets an event before the outbox could send it again."""

import math

import pytest
from pydantic import ValidationError

from services.requests.config import RequestsSettings
from shared.settings import CommonSettings


def test_the_inbox_is_kept_at_least_as_long_as_the_outbox() -> None:
    with pytest.raises(ValidationError, match="MUTUALAID_INBOX_RETENTION_HOURS"):
        CommonSettings(outbox_retention_hours=48, inbox_retention_hours=24)
    settings = CommonSettings()
    assert settings.inbox_retention_hours >= settings.outbox_retention_hours
    assert CommonSettings(outbox_retention_hours=48, inbox_retention_hours=48).inbox_retention_hours == 48


@pytest.mark.parametrize("hours", [math.inf, 1e300])
def test_a_retention_longer_than_a_clock_can_count_is_refused_at_start(hours: float) -> None:
    with pytest.raises(ValidationError, match="less than or equal to 87600"):
        CommonSettings(outbox_retention_hours=hours, inbox_retention_hours=hours)
    with pytest.raises(ValidationError, match="less than or equal to 87600"):
        RequestsSettings(idempotency_key_retention_hours=hours)
