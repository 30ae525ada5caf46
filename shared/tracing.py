"""OpenTelemetry traces across the HTTP and Kafka hops; off (and free) unless an OTLP endpoint is configured.

Turned on by the standard variables: `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`) sends
spans over OTLP/HTTP (protobuf); `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER`,
`OTEL_BSP_*` and the other `OTEL_EXPORTER_OTLP_*` variables work as the SDK documents them;
`OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none` keeps it off.

Events go through an outbox and are sent later by a relay, so the context cannot ride on the call
stack: an event records the trace it was written in (the CloudEvents distributed tracing extension,
`traceparent` and `tracestate`), the relay sends it in that trace, and a consumer handles it in the
trace of the record (its Kafka headers, else the event's own fields). One trace so goes from
POST /v1/requests through each outbox and Kafka hop to the handlers downstream.
"""

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry import context, propagate, trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

FIELDS = ("traceparent", "tracestate")  # the CloudEvents distributed tracing extension's attributes
NAMESPACE = "mutualaid"

_W3C = TraceContextTextMapPropagator()
_provider: "TracerProvider | None" = None
_tracer: trace.Tracer = trace.NoOpTracer()


class NotInstalled(ValueError):
    """The OTEL_* variables ask for an exporter or protocol that is not installed; the message names the variable."""


def wanted(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the OTEL_* variables ask for traces; raises NotInstalled for an exporter or protocol not installed."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower()
    if exporter not in ("otlp", "none"):
        raise NotInstalled(f"OTEL_TRACES_EXPORTER={exporter}: only otlp (or none) is installed")
    endpoint = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if exporter == "none" or not endpoint:
        return False
    for name in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        if environ.get(name, "http/protobuf").strip().lower() != "http/protobuf":
            raise NotInstalled(f"{name}={environ[name]}: only http/protobuf is installed")
    return True


def configure(service: str, *, exporter: "SpanExporter | None" = None) -> bool:
    """Turn tracing on for this process when wanted() (spans batched to OTLP), or to exporter when given
    (each span handed over as it ends: tests use the SDK's in-memory exporter); returns whether it is on.

    Instruments httpx and aiokafka for the whole process; apps built afterwards are instrumented by
    instrument(). reset() turns it off again.
    """
    global _provider, _tracer
    if _provider is not None or (exporter is None and not wanted()):
        return _provider is not None
    from opentelemetry.instrumentation.aiokafka import AIOKafkaInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.sdk.resources import OTELResourceDetector, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    ours = Resource.create({"service.name": service, "service.namespace": NAMESPACE})
    provider = TracerProvider(resource=ours.merge(OTELResourceDetector().detect()))  # OTEL_* variables win
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    AIOKafkaInstrumentor().instrument(tracer_provider=provider)
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    _provider, _tracer = provider, provider.get_tracer("mutualaid")
    return True


def reset() -> None:
    """Tracing off: httpx and aiokafka uninstrumented, pending spans flushed (apps already instrumented stay so)."""
    global _provider, _tracer
    if _provider is None:
        return
    from opentelemetry.instrumentation.aiokafka import AIOKafkaInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    AIOKafkaInstrumentor().uninstrument()
    HTTPXClientInstrumentor().uninstrument()
    _provider.shutdown()
    _provider, _tracer = None, trace.NoOpTracer()


def enabled() -> bool:
    return _provider is not None


def instrument(app: "FastAPI", *, untraced: Iterable[str] = ()) -> None:
    """A server span for each HTTP request to app but those of the untraced paths (probes and scrapes: many, and
    of no interest in a trace), continuing the caller's traceparent."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    excluded = ",".join(untraced) or None
    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=_provider, excluded_urls=excluded, exclude_spans=["receive", "send"]
    )


def fields() -> dict[str, str]:
    """The current trace context as W3C fields (`traceparent`, and `tracestate` when there is one) to keep
    in an event; empty when tracing is off or nothing is traced."""
    carrier: dict[str, str] = {}
    if _provider is not None:
        _W3C.inject(carrier)
    return carrier


@contextlib.contextmanager
def resumed(carrier: Mapping[str, str]) -> Iterator[None]:
    """Inside, the trace context of carrier (what fields() gave when the event was written) is current."""
    if _provider is None or not carrier.get("traceparent"):
        yield
        return
    token = context.attach(_W3C.extract(carrier))
    try:
        yield
    finally:
        context.detach(token)


@contextlib.contextmanager
def span(name: str, attributes: Mapping[str, str | int] | None = None) -> Iterator[None]:
    """An internal span around the code inside (nothing when tracing is off)."""
    if _provider is None:
        yield
        return
    with _tracer.start_as_current_span(name, attributes=attributes):
        yield


@contextlib.contextmanager
def consuming(
    topic: str, *, headers: Mapping[str, str], carrier: Mapping[str, Any], attributes: Mapping[str, str | int]
) -> Iterator[None]:
    """A CONSUMER span `<topic> process` around handling one message, in the trace of its Kafka headers
    (the producer's send span) or, when they carry none, of the event's own trace fields (carrier)."""
    if _provider is None:
        yield
        return
    parent = propagate.extract(headers)
    if not trace.get_current_span(parent).get_span_context().is_valid:
        parent = _W3C.extract({name: str(carrier[name]) for name in FIELDS if carrier.get(name)})
    kind = trace.SpanKind.CONSUMER
    with _tracer.start_as_current_span(f"{topic} process", context=parent, kind=kind, attributes=attributes):
        yield
