"""UK local times in the console's forms: the clock changes are refused in words, never guessed."""

from typing import Any

import pytest

from services.console.pages.units import declaration, form_of
from services.console.uk_clock import NotAUkTime, field_value, shown_with_offset, to_utc


def test_a_summer_time_is_sent_as_utc() -> None:
    assert to_utc("2027-07-01T14:30") == "2027-07-01T13:30:00+00:00"


def test_a_time_the_clocks_skip_is_refused_in_words() -> None:
    with pytest.raises(NotAUkTime, match="01:30 on 28 March 2027 does not exist in the UK"):
        to_utc("2027-03-28T01:30")


@pytest.mark.parametrize("text", ["2027-10-31T01:30", "2026-10-25T01:30"])
def test_a_time_that_happens_twice_is_refused_asking_to_choose(text: str) -> None:
    with pytest.raises(NotAUkTime, match="happens twice"):
        to_utc(text)


def test_a_posted_offset_is_kept() -> None:
    assert to_utc("2027-10-31T01:30+00:00") == "2027-10-31T01:30:00+00:00"
    assert to_utc("2027-10-31T01:30+01:00") == "2027-10-31T00:30:00+00:00"


@pytest.mark.parametrize("stored", ["2027-10-31T00:30:00+00:00", "2027-10-31T01:30:00+00:00", "2027-03-28T01:30:00Z"])
def test_a_time_shown_in_a_form_and_saved_unchanged_stays_the_same_instant(stored: str) -> None:
    again = to_utc(field_value(stored), shown=shown_with_offset(stored))
    assert again == stored.replace("Z", "+00:00")


def test_a_changed_field_does_not_take_the_offset_shown_before() -> None:
    with pytest.raises(NotAUkTime):
        to_utc("2026-10-25T01:30", shown="2027-10-31T01:30+00:00")


def test_text_that_is_no_time_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="isoformat"):
        to_utc("soon")


def test_editing_a_unit_keeps_a_window_that_starts_at_the_second_0130() -> None:
    window = {"start": "2027-10-31T01:30:00+00:00", "end": "2027-11-05T00:00:00+00:00"}
    unit: dict[str, Any] = {
        "capability": "DOG",
        "base": {"lat": 52.3, "lon": -1.6, "description": "Leek Wootton"},
        "readiness_minutes": 30,
        "scope": "NATIONAL",
        "status": "AVAILABLE",
        "windows": [window],
        "available_from": window["start"],
        "available_until": window["end"],
        "version": 1,
    }
    form = {key: str(value) for key, value in form_of(unit).items()} | {"readiness_minutes": "31"}
    assert declaration(form, "warwickshire", windows=[window])["windows"] == [window]
