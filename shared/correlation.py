"""The correlation id: what ties together the logs and events of one HTTP request across the services.

An HTTP request takes it from its `X-Correlation-ID` header, or from the trace id of its W3C
`traceparent` header, or makes one; the events it causes carry it (CloudEvents extension
`correlationid`), and a consumer sets it again while it handles such an event.
"""

import contextlib
import re
import uuid
from collections.abc import Iterator
from contextvars import ContextVar

HEADER = "X-Correlation-ID"
ACCEPTED = re.compile(r"[A-Za-z0-9._:/=+-]{1,64}")  # fits every column that keeps one; no spaces or line breaks
TRACEPARENT = re.compile(r"[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}")
NO_TRACE = "0" * 32

_current: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def current() -> str | None:
    """The correlation id of the request or event being handled; None outside of one."""
    return _current.get()


@contextlib.contextmanager
def correlated(correlation_id: str | None) -> Iterator[None]:
    """Set the correlation id for the code inside (and the tasks it starts); the previous one after."""
    token = _current.set(correlation_id)
    try:
        yield
    finally:
        _current.reset(token)


def from_headers(correlation_header: str | None, traceparent: str | None) -> str:
    """The id an HTTP request goes by: its X-Correlation-ID when acceptable (1 to 64 of letters, digits and
    `._:/=+-`), else its traceparent's trace id (32 hex digits), else a new one (32 hex digits)."""
    if correlation_header and ACCEPTED.fullmatch(correlation_header):
        return correlation_header
    traced = TRACEPARENT.fullmatch(traceparent.strip().lower()) if traceparent else None
    if traced and traced.group(1) != NO_TRACE:
        return traced.group(1)
    return uuid.uuid4().hex
