"""Log lines: one JSON object each (or one readable line), naming the service and the request's context;
aiokafka's repeated errors held back to one a minute."""

import io
import json
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from shared import logs
from shared.correlation import correlated


def logger_writing_to(stream: io.StringIO, log_format: logs.LogFormat = "json") -> logging.Logger:
    logger = logging.getLogger(f"test.logs.{uuid.uuid4().hex[:8]}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(logs.handler(service="tasking", log_format=log_format, stream=stream))
    return logger


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_line_is_one_json_object_with_the_time_in_utc_level_logger_message_and_service() -> None:
    stream = io.StringIO()
    logger = logger_writing_to(stream)
    logger.info("planned %d request(s)", 2, extra={"planner": "optimal"})
    [line] = json_lines(stream)
    assert {key: line[key] for key in ("level", "logger", "message", "service", "planner")} == {
        "level": "INFO",
        "logger": logger.name,
        "message": "planned 2 request(s)",
        "service": "tasking",
        "planner": "optimal",
    }
    assert datetime.fromisoformat(line["time"]).utcoffset() == timedelta(0)
    assert "correlation_id" not in line
    assert "trace_id" not in line


def test_inside_a_request_a_line_carries_its_correlation_id_and_its_trace() -> None:
    stream = io.StringIO()
    logger = logger_writing_to(stream)
    with correlated("incident-42"), TracerProvider().get_tracer("test").start_as_current_span("handling") as span:
        logger.warning("a unit was taken meanwhile")
    [line] = json_lines(stream)
    assert line["correlation_id"] == "incident-42"
    assert line["trace_id"] == trace.format_trace_id(span.get_span_context().trace_id)
    assert line["span_id"] == trace.format_span_id(span.get_span_context().span_id)


def test_an_exception_is_in_the_same_line() -> None:
    stream = io.StringIO()
    logger = logger_writing_to(stream)
    try:
        raise ValueError("no such unit")
    except ValueError:
        logger.exception("handler failed")
    [line] = json_lines(stream)
    assert line["level"] == "ERROR"
    assert "ValueError: no such unit" in line["exc_info"]


def test_a_text_line_reads_as_a_sentence_with_the_correlation_id_at_the_end() -> None:
    stream = io.StringIO()
    logger = logger_writing_to(stream, "text")
    with correlated("incident-42"):
        logger.warning("outbox relay cannot publish")
    line = stream.getvalue()
    assert line.endswith(f"WARNING tasking {logger.name}: outbox relay cannot publish [correlation incident-42]\n")


def record(name: str, msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args, None)


def test_a_storm_of_aiokafka_errors_shows_each_message_once_a_minute_with_how_many_were_held_back() -> None:
    now = [0.0]
    repeats = logs.Repeats("aiokafka", window_s=60, clock=lambda: now[0])
    storm = [record("aiokafka", "Unable connect to node with id %s: %s", 1, "refused") for _ in range(300)]
    shown = []
    for tick, line in enumerate(storm):
        now[0] = tick * 0.1  # ten a second for 30 seconds
        shown += [line] if repeats.filter(line) else []
    assert shown == [storm[0]]

    now[0] = 61.0
    later = record("aiokafka", "Unable connect to node with id %s: %s", 1, "refused")
    assert repeats.filter(later)
    assert getattr(later, "repeats", None) == 299

    assert repeats.filter(record("aiokafka.consumer.fetcher", "Failed fetch messages from %s: %s", 1, "gone"))
    assert all(repeats.filter(record("shared.kafka", "outbox relay cannot publish")) for _ in range(5))
