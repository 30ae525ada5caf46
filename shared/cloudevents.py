"""CloudEvents 1.0 envelope (structured JSON mode) and the registry of typed event data."""

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared import correlation

TYPE_PREFIX = "uk.police.mutualaid."
CONTENT_TYPE = "application/cloudevents+json"


class EventData(BaseModel):
    """Base of every event's data; subclasses name their short type and the topic they go to."""

    event_type: ClassVar[str]
    topic: ClassVar[str]
    schema_version: ClassVar[int] = 1

    @classmethod
    def cloudevent_type(cls) -> str:
        return f"{TYPE_PREFIX}{cls.event_type}.v{cls.schema_version}"

    def subject(self) -> str:
        """The entity the event is about; also the Kafka key, so its events keep their order."""
        raise NotImplementedError


class CloudEvent(BaseModel):
    """The structured-mode CloudEvents 1.0 envelope; correlation and causation are extensions, and so are
    traceparent and tracestate (the distributed tracing extension: the W3C trace context the event was
    written in, when tracing is on)."""

    model_config = ConfigDict(extra="allow")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    subject: str | None = None
    time: datetime
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str | None = None
    correlationid: str | None = None
    causationid: str | None = None
    traceparent: str | None = Field(None, description="W3C traceparent of the trace the event was written in")
    tracestate: str | None = Field(None, description="W3C tracestate that goes with traceparent")
    data: dict[str, Any]


class InvalidEvent(ValueError):
    """A message that is not a valid event of a known type: it belongs on the dead-letter topic."""


_REGISTRY: dict[str, type[EventData]] = {}


def register(model: type[EventData]) -> type[EventData]:
    """Class decorator: make an event data model known to parse() and to the contracts."""
    _REGISTRY[model.cloudevent_type()] = model
    return model


def registered() -> dict[str, type[EventData]]:
    return dict(_REGISTRY)


def new_event(
    data: EventData, *, source: str, correlation_id: str | None = None, causation_id: str | None = None
) -> CloudEvent:
    """Wrap event data in a new envelope with a fresh id.

    Its correlation id is the one given, else that of the HTTP request or event being handled, else its
    own id. (The outbox adds the trace context: UnitOfWork.publish.)"""
    event_id = str(uuid.uuid4())
    return CloudEvent(
        id=event_id,
        source=source,
        type=data.cloudevent_type(),
        subject=data.subject(),
        time=datetime.now(UTC),
        dataschema=f"contracts/events/{data.cloudevent_type()}.json",
        correlationid=correlation_id or correlation.current() or event_id,
        causationid=causation_id,
        data=data.model_dump(mode="json"),
    )


def follow_up(data: EventData, *, source: str, cause: CloudEvent) -> CloudEvent:
    """An event caused by another: same correlation id, causation is the cause's id."""
    return new_event(data, source=source, correlation_id=cause.correlationid, causation_id=cause.id)


def encode(event: CloudEvent) -> bytes:
    return event.model_dump_json(exclude_none=True).encode()


def parse(raw: bytes | None) -> tuple[CloudEvent, EventData | None]:
    """Parse and validate a message; data is None for a well-formed event of a type we do not know."""
    if not raw:
        raise InvalidEvent("empty message")
    try:
        event = CloudEvent.model_validate_json(raw)
    except ValidationError as error:
        raise InvalidEvent(f"not a CloudEvents 1.0 JSON envelope: {_first_error(error)}") from error
    model = _REGISTRY.get(event.type)
    if model is None:
        return event, None
    try:
        return event, model.model_validate(event.data)
    except ValidationError as error:
        raise InvalidEvent(f"data does not match {event.type}: {_first_error(error)}") from error


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "message"
    return f"{where}: {first['msg']} ({error.error_count()} error(s))"
