"""The CloudEvents envelope: what parses, what is dead-letter material."""

import json

import pytest

from shared.cloudevents import InvalidEvent, encode, follow_up, new_event, parse
from shared.events import MatchingStarted, RequestUnfilled


def test_an_event_survives_the_wire() -> None:
    data = MatchingStarted(request_id="r1")
    event = new_event(data, source="/test")
    parsed, parsed_data = parse(encode(event))
    assert parsed == event
    assert parsed_data == data
    assert event.type == "uk.police.mutualaid.matching.started.v1"
    assert event.subject == "r1"


def test_a_follow_up_keeps_the_correlation_and_names_its_cause() -> None:
    cause = new_event(MatchingStarted(request_id="r1"), source="/test")
    effect = follow_up(RequestUnfilled(request_id="r1", unfilled=[]), source="/test", cause=cause)
    assert (effect.correlationid, effect.causationid) == (cause.correlationid, cause.id)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty message"),
        (b"{oops", "not a CloudEvents 1.0 JSON envelope"),
        (json.dumps({"specversion": "0.3", "id": "1"}).encode(), "not a CloudEvents 1.0 JSON envelope"),
    ],
)
def test_what_is_not_an_envelope_is_refused_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(InvalidEvent, match=reason):
        parse(raw)


def test_a_known_type_with_bad_data_is_refused() -> None:
    event = new_event(MatchingStarted(request_id="r1"), source="/test").model_dump(mode="json")
    event["data"] = {"request": "r1"}
    with pytest.raises(InvalidEvent, match=r"data does not match .*matching.started.v1: request_id"):
        parse(json.dumps(event).encode())


def test_an_unknown_type_parses_without_data_so_consumers_can_skip_it() -> None:
    event = new_event(MatchingStarted(request_id="r1"), source="/test").model_dump(mode="json")
    event["type"] = "org.example.something.v1"
    parsed, data = parse(json.dumps(event).encode())
    assert (parsed.type, data) == ("org.example.something.v1", None)
