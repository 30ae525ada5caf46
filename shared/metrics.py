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
CONSUMER_LAG = Gauge(
    "mutualaid_consumer_lag",
    "Events on a partition this consumer has not read yet (its high-water mark less its next offset)",
    ["service", "consumer", "topic", "partition"],
)
PLANNING_SECONDS = Histogram(
    "mutualaid_planning_run_seconds",
    "Duration of a tasking planning run, from taking the planning lock to commit",
    ["service"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
PROPOSALS_PENDING = Gauge(
    "mutualaid_proposals_pending",
    "Proposals waiting for a coordinator's decision, after the last planning run",
    ["service"],
)
REFUSALS = Counter(
    "mutualaid_refusals_total",
    "Calls refused (403), by the caller's role and whether the refusal was recorded (audited or logged) or only "
    "counted: a principal's repeats on one resource, and its refusals past the hourly budget, are only counted",
    ["service", "role", "recorded"],
)
