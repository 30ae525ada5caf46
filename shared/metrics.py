"""Prometheus metrics, defined once per process and labelled by service."""

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "mutualaid_http_requests_total", "HTTP requests answered", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "mutualaid_http_request_duration_seconds", "HTTP request duration", ["service", "method", "route"]
)
EVENTS_PUBLISHED = Counter("mutualaid_events_published_total", "Outbox events acked by the broker", ["service"])
EVENTS_CONSUMED = Counter(
    "mutualaid_events_consumed_total",
    "Events consumed, by outcome (applied, duplicate, ignored, dead_lettered)",
    ["service", "consumer", "outcome"],
)
OUTBOX_PENDING = Gauge("mutualaid_outbox_pending", "Outbox rows not yet acked by the broker", ["service"])
ROWS_PURGED = Counter(
    "mutualaid_rows_purged_total",
    "Rows past their retention deleted (or emptied of their bulky columns), by kind",
    ["service", "kind"],
)
