"""Process logging: one JSON object a line (for a log collector) or one readable line (for a terminal).

Every line names the service and, inside an HTTP request or the handling of an event, its
correlation id and the current trace and span (when tracing is on). aiokafka repeats its connection
errors many times a second while a broker is away: each of its messages is shown at most once a
minute, with how many repeats were not shown.
"""

import logging
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO, Literal

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter

from shared import correlation

LogFormat = Literal["json", "text"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
NOISY_LIBRARY = "aiokafka"
QUIET_LIBRARIES = (NOISY_LIBRARY, "httpx")  # httpx logs each call at INFO; the service called logs it anyway
REPEAT_WINDOW_S = 60.0
JSON_FIELDS = ("time", "levelname", "name", "message", "service")


def configure(*, service: str, log_format: LogFormat, level: LogLevel) -> None:
    """Send every log record of the process to standard error in the given format, from level up.

    aiokafka and httpx log from WARNING up whatever the level (their INFO is every group join and
    rebalance, every call made).
    """
    root = logging.getLogger()
    root.handlers[:] = [handler(service=service, log_format=log_format, stream=sys.stderr)]
    root.setLevel(level)
    for library in QUIET_LIBRARIES:
        logging.getLogger(library).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    logging.captureWarnings(True)


def handler(*, service: str, log_format: LogFormat, stream: IO[str]) -> logging.Handler:
    """Writes each record to stream as one line of the format, with the service and the request's context."""
    writer = logging.StreamHandler(stream)
    writer.addFilter(Context(service))
    writer.addFilter(Repeats(NOISY_LIBRARY, window_s=REPEAT_WINDOW_S))
    writer.setFormatter(json_formatter() if log_format == "json" else TextFormatter())
    return writer


def json_formatter() -> logging.Formatter:
    """time (UTC, ISO 8601), level, logger, message, service, then whatever the record carries besides:
    correlation_id, trace_id and span_id when there are, the `extra` of the call, exc_info."""
    return JsonFormatter(list(JSON_FIELDS), rename_fields={"levelname": "level", "name": "logger"})


class TextFormatter(logging.Formatter):
    """`12:00:01.234 WARNING tasking shared.kafka: message [correlation abc]`, local time."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s.%(msecs)03d %(levelname)s %(service)s %(name)s: %(message)s", "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        if repeats := getattr(record, "repeats", 0):
            line += f" [{repeats} repeats since the last one not shown]"
        if correlation_id := getattr(record, "correlation_id", None):
            line += f" [correlation {correlation_id}]"
        return line


class Context(logging.Filter):
    """Adds to each record the time (UTC, ISO 8601), the service, and the correlation id and trace of the
    request or event being handled, when there is one."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.time = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        record.service = self._service
        correlation_id = correlation.current()
        if correlation_id is not None:
            record.correlation_id = correlation_id
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            record.trace_id = trace.format_trace_id(span.trace_id)
            record.span_id = trace.format_span_id(span.span_id)
        return True


class Repeats(logging.Filter):
    """Shows each message (by its template) of the loggers under `library` at most once per window; the next
    one shown carries `repeats`, how many were held back since the last one shown."""

    def __init__(self, library: str, *, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._library = library
        self._window_s = window_s
        self._clock = clock
        self._shown: dict[tuple[str, str], tuple[float, int]] = {}  # (logger, template) -> (shown at, held since)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name != self._library and not record.name.startswith(f"{self._library}."):
            return True
        key, now = (record.name, str(record.msg)), self._clock()
        shown_at, held = self._shown.get(key, (None, 0))
        if shown_at is not None and now - shown_at < self._window_s:
            self._shown[key] = (shown_at, held + 1)
            return False
        self._shown[key] = (now, 0)
        if held:
            record.repeats = held
        return True
