"""The checked-in contracts: OpenAPI per service, a JSON Schema per event, one AsyncAPI document."""

import inspect
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from mutualaid.services import SERVICES, bootstrap, create_app
from shared.cloudevents import CONTENT_TYPE, CloudEvent, EventData, registered
from shared.events import (
    AUDIT_TOPIC,
    AVAILABILITY_TOPIC,
    REQUESTS_TOPIC,
    TASKING_TOPIC,
    TOPICS,
    UnitState,
    dead_letter_topic,
)
from shared.settings import ServiceSettings

CONTRACTS_DIR = Path(__file__).parent.parent / "contracts"
SCHEMA_BASE = "https://mutualaid.police.uk/contracts/"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
ENVELOPE = "cloudevent-envelope"
KAFKA_BINDING_VERSION = "0.5.0"
PRODUCERS = {
    REQUESTS_TOPIC: "requests",
    AVAILABILITY_TOPIC: "availability",
    TASKING_TOPIC: "tasking",
    AUDIT_TOPIC: "tasking",
}
OPERATIONS = {topic: f"{producer}.send" for topic, producer in PRODUCERS.items()} | {AUDIT_TOPIC: "tasking.checkpoint"}
TOPIC_DESCRIPTIONS = {
    REQUESTS_TOPIC: "Mutual aid requests as operators submit them.",
    AVAILABILITY_TOPIC: "Units forces declare they can lend, their changes, and their commitment to approved taskings.",
    TASKING_TOPIC: "Planning of each request: proposals, coordinators' decisions, and requests nobody can fill.",
    AUDIT_TOPIC: "Signed checkpoints of the tasking audit trail, one per decision: its anchor outside the database.",
}
DLQ_HEADERS = {
    "dlq-reason": "Why the consumer could not process the message.",
    "dlq-original-topic": "The topic the message was consumed from.",
    "dlq-original-partition": "The partition it was consumed from (a decimal integer).",
    "dlq-original-offset": "Its offset in that partition (a decimal integer).",
    "dlq-consumer": "The consumer group that dead-lettered it.",
}


def render() -> dict[str, str]:
    """Every contract file's text by its path under contracts/."""
    documents: dict[str, Any] = {f"openapi/{service}.json": openapi(service) for service in SERVICES}
    documents |= {f"events/{kind}.json": event_schema(model) for kind, model in _events().items()}
    documents[f"events/{ENVELOPE}.json"] = envelope_schema()
    documents["asyncapi.json"] = asyncapi()
    return {path: _dump(document) for path, document in sorted(documents.items())}


def stale() -> list[str]:
    """Paths under contracts/ that differ from render(), are missing, or that render() no longer makes."""
    expected = render()
    drifted = [path for path, text in expected.items() if _read(CONTRACTS_DIR / path) != text]
    leftover = [path for path in _checked_in() if path not in expected]
    return sorted(drifted + leftover)


def openapi(service: str) -> dict[str, Any]:
    """The service's OpenAPI document, built from the code's default settings, not this environment."""
    # model_construct skips the environment; an in-memory database keeps create_app from touching disk.
    settings: ServiceSettings = bootstrap(service).Settings.model_construct(database_url="sqlite+aiosqlite://")
    return create_app(service, settings).openapi()


def event_schema(model: type[EventData]) -> dict[str, Any]:
    """The standalone JSON Schema of one event type's data."""
    return {
        **model.model_json_schema(),
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"{SCHEMA_BASE}events/{model.cloudevent_type()}.json",
        "title": model.__name__,
        "description": _doc(model),
        "x-topic": model.topic,
    }


def envelope_schema() -> dict[str, Any]:
    """The JSON Schema of the CloudEvents 1.0 envelope every event travels in."""
    return {
        **CloudEvent.model_json_schema(),
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"{SCHEMA_BASE}events/{ENVELOPE}.json",
        "title": "CloudEvent",
        "description": _doc(CloudEvent),
    }


def asyncapi() -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document of the Kafka topics, their events and dead-letter topics."""
    events = _events()
    schemas = _component_schemas(events)
    messages = {model.event_type: _message(model) for model in events.values()}
    messages["dead-letter"] = _dead_letter_message()
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Mutual aid events",
            "version": "1.0.0",
            "description": (
                "Events the requests, availability and tasking services exchange over Kafka. Every message is a "
                "CloudEvents 1.0 envelope in structured JSON mode; its Kafka key is the event's subject, so the "
                "events about one request or one unit keep their order. A consumer that cannot process a message "
                "moves it, unchanged, to the topic's dead-letter topic (`<topic>.dlq`) with headers saying why."
            ),
        },
        "defaultContentType": CONTENT_TYPE,
        "channels": _channels(events),
        "operations": _operations(events),
        "components": {"messages": messages, "schemas": schemas},
    }


def _events() -> dict[str, type[EventData]]:
    return dict(sorted(registered().items()))


def _by_topic(events: dict[str, type[EventData]], topic: str) -> list[type[EventData]]:
    return sorted((model for model in events.values() if model.topic == topic), key=lambda model: model.event_type)


def _channels(events: dict[str, type[EventData]]) -> dict[str, Any]:
    channels: dict[str, Any] = {}
    for topic in TOPICS:
        channels[topic] = {
            "address": topic,
            "title": topic,
            "description": f"{TOPIC_DESCRIPTIONS[topic]} Published by the {PRODUCERS[topic]} service.",
            "messages": {
                model.event_type: _ref("components", "messages", model.event_type) for model in _by_topic(events, topic)
            },
        }
        dlq = dead_letter_topic(topic)
        channels[dlq] = {
            "address": dlq,
            "title": dlq,
            "description": f"Messages of {topic} that a consumer could not process, with the reason in headers.",
            "messages": {"dead-letter": _ref("components", "messages", "dead-letter")},
        }
    return channels


def _operations(events: dict[str, type[EventData]]) -> dict[str, Any]:
    return {
        OPERATIONS[topic]: {
            "action": "send",
            "channel": _ref("channels", topic),
            "title": f"The {PRODUCERS[topic]} service publishes to {topic}",
            "summary": "Written in the same transaction as the state change, then relayed by the outbox.",
            "messages": [_ref("channels", topic, "messages", model.event_type) for model in _by_topic(events, topic)],
        }
        for topic in TOPICS
    }


def _message(model: type[EventData]) -> dict[str, Any]:
    kind = model.cloudevent_type()
    return {
        "name": model.event_type,
        "title": model.event_type.replace(".", " ").capitalize(),
        "summary": _doc(model),
        "contentType": CONTENT_TYPE,
        "headers": {
            "type": "object",
            "properties": {
                "content-type": {"type": "string", "const": CONTENT_TYPE},
                "ce_type": {"type": "string", "const": kind},
            },
        },
        "payload": {
            "allOf": [
                _ref("components", "schemas", "CloudEvent"),
                {
                    "type": "object",
                    "properties": {"type": {"const": kind}, "data": _ref("components", "schemas", model.__name__)},
                },
            ]
        },
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": f"The event's subject, `{_key_path(model)}`."},
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }


def _dead_letter_message() -> dict[str, Any]:
    return {
        "name": "dead-letter",
        "title": "Dead letter",
        "summary": "A message a consumer could not process: its original key, value and headers, plus why.",
        "description": "The value is the original bytes, unchanged; it may not be a valid CloudEvent or even JSON.",
        "headers": {
            "type": "object",
            "required": sorted(DLQ_HEADERS),
            "properties": {name: {"type": "string", "description": text} for name, text in DLQ_HEADERS.items()},
        },
        "payload": {},
    }


def _component_schemas(events: dict[str, type[EventData]]) -> dict[str, Any]:
    """The envelope, every event's data and the types they share, each once, referred to by name."""
    schemas: dict[str, Any] = {}
    models: list[type[BaseModel]] = [CloudEvent, *events.values()]
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in {**schema.pop("$defs", {}), model.__name__: schema}.items():
            if schemas.setdefault(name, definition) != definition:
                raise ValueError(f"two different schemas are both named {name!r}")
    return schemas


def _key_path(model: type[EventData]) -> str:
    """Where the Kafka key comes from in the data: ask a probe of the model for its subject."""
    unit: dict[str, Any] = {"unit_id": "data.unit.unit_id"}
    fields: dict[str, Any] = {
        "request_id": "data.request_id",
        "force": "data.force",
        "unit": UnitState.model_construct(**unit),
    }
    return model.model_construct(**fields).subject()


def _ref(*parts: str) -> dict[str, str]:
    return {"$ref": "#/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)}


def _doc(model: type[Any]) -> str:
    return inspect.getdoc(model) or ""


def _dump(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def _read(path: Path) -> str | None:
    return path.read_text() if path.is_file() else None


def _checked_in() -> list[str]:
    return sorted(
        path.relative_to(CONTRACTS_DIR).as_posix()
        for folder in ("openapi", "events")
        for path in (CONTRACTS_DIR / folder).rglob("*")
        if path.is_file() and path.name != "README.md"
    )
