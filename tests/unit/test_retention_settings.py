"""Retention settings: an inbox never forgets an event before the outbox could send it again."""

import pytest
from pydantic import ValidationError

from shared.settings import CommonSettings


def test_the_inbox_is_kept_at_least_as_long_as_the_outbox() -> None:
    with pytest.raises(ValidationError, match="MUTUALAID_INBOX_RETENTION_HOURS"):
        CommonSettings(outbox_retention_hours=48, inbox_retention_hours=24)
    settings = CommonSettings()
    assert settings.inbox_retention_hours >= settings.outbox_retention_hours
    assert CommonSettings(outbox_retention_hours=48, inbox_retention_hours=48).inbox_retention_hours == 48
