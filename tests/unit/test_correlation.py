"""Which correlation id an HTTP request goes by, from its headers."""

import pytest

from shared.correlation import from_headers

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_the_callers_correlation_id_is_kept() -> None:
    assert from_headers("incident-2026-07-14:bravo", TRACEPARENT) == "incident-2026-07-14:bravo"


@pytest.mark.parametrize("unusable", ["", "two words", "line\nbreak", "x" * 65, 'quote"d'])
def test_without_a_usable_correlation_id_the_trace_id_of_the_traceparent_is_taken(unusable: str) -> None:
    assert from_headers(unusable, TRACEPARENT) == "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.mark.parametrize("traceparent", [None, "garbage", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"])
def test_with_neither_a_new_one_is_made_each_time(traceparent: str | None) -> None:
    made = {from_headers(None, traceparent) for _ in range(3)}
    assert len(made) == 3
    assert all(len(one) == 32 and int(one, 16) >= 0 for one in made)
