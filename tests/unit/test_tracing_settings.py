"""Traces are on only when the standard OTEL_* variables name an OTLP endpoint; what is not installed is refused."""

import pytest

from shared.tracing import wanted

ENDPOINT = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"OTEL_SERVICE_NAME": "requests"},
        ENDPOINT | {"OTEL_SDK_DISABLED": "true"},
        ENDPOINT | {"OTEL_TRACES_EXPORTER": "none"},
        {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},  # no endpoint: off, whatever the protocol
    ],
)
def test_without_an_endpoint_or_when_disabled_traces_are_off(environ: dict[str, str]) -> None:
    assert not wanted(environ)


@pytest.mark.parametrize(
    "environ",
    [ENDPOINT, {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}],
)
def test_an_otlp_endpoint_turns_traces_on(environ: dict[str, str]) -> None:
    assert wanted(environ)


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        (ENDPOINT | {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "OTEL_EXPORTER_OTLP_PROTOCOL=grpc"),
        (ENDPOINT | {"OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER=zipkin"),
    ],
)
def test_an_exporter_or_protocol_not_installed_is_refused_by_name(environ: dict[str, str], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        wanted(environ)
