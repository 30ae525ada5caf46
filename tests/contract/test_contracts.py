"""The checked-in contracts match the code, are valid, and promise what the product promises."""

import json
from typing import Any

import jsonschema  # no stubs in the dev dependencies
import pytest

from mutualaid.contracts import CONTRACTS_DIR, stale
from shared.cloudevents import registered
from shared.events import TOPICS, dead_letter_topic

REQUEST_SUBMITTED = "uk.police.mutualaid.request.submitted.v1"
HTTP_METHODS = {"get", "put", "post", "delete", "patch"}
PROMISED_PATHS = {
    "requests": {
        "/v1/requests": {"post", "get"},
        "/v1/requests/{request_id}": {"get"},
        "/v1/requests/{request_id}/cancel": {"post"},
    },
    "availability": {
        "/v1/units/{unit_id}": {"put", "get"},
        "/v1/units": {"get"},
        "/v1/units/{unit_id}/recall": {"post"},
        "/v1/capabilities": {"get"},
        "/v1/forces/{code}/units": {"put"},
        "/v1/forces/{code}/policy": {"put", "get"},
        "/v1/forces/{code}/capacity": {"get"},
        "/v1/capacity": {"get"},
    },
    "tasking": {
        "/v1/proposals": {"get"},
        "/v1/proposals/{proposal_id}": {"get"},
        "/v1/proposals/{proposal_id}/approve": {"post"},
        "/v1/proposals/{proposal_id}/reject": {"post"},
        "/v1/proposals/{proposal_id}/explanation": {"get"},
        "/v1/requests/{request_id}/stand-down": {"post"},
        "/v1/audit": {"get"},
        "/v1/audit/verify": {"get"},
    },
}


def load(path: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((CONTRACTS_DIR / path).read_text())
    return document


def event_schema_paths() -> list[str]:
    return sorted(path.relative_to(CONTRACTS_DIR).as_posix() for path in (CONTRACTS_DIR / "events").glob("*.json"))


def submitted_request() -> dict[str, Any]:
    return {
        "request_id": "req-0001",
        "requesting_force": "west-midlands",
        "requesting_region": "west-midlands-region",
        "operation": "Operation Harbour",
        "priority": "P2",
        "location": {"lat": 52.48, "lon": -1.90, "description": "Birmingham city centre"},
        "required_by": "2030-06-01T08:00:00Z",
        "end": "2030-06-01T20:00:00Z",
        "needs": [{"capability": "PSU", "quantity": 2}],
        "submitted_by": "operator@west-midlands",
    }


def v1_operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        if path.startswith("/v1/")
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def test_checked_in_contracts_match_the_code() -> None:
    drifted = stale()
    assert drifted == [], f"contracts/ drifted from the code: {', '.join(drifted)}; run `make contracts` and commit"


def test_every_registered_event_has_a_checked_in_schema() -> None:
    expected = {f"events/{kind}.json" for kind in registered()} | {"events/cloudevent-envelope.json"}
    assert set(event_schema_paths()) == expected


@pytest.mark.parametrize("path", event_schema_paths())
def test_every_event_schema_is_a_valid_json_schema(path: str) -> None:
    schema = load(path)
    jsonschema.validators.validator_for(schema).check_schema(schema)


def test_a_submitted_request_matches_its_schema() -> None:
    schema = load(f"events/{REQUEST_SUBMITTED}.json")
    jsonschema.validate(submitted_request(), schema)


def test_a_submitted_request_without_its_id_does_not_match_its_schema() -> None:
    schema = load(f"events/{REQUEST_SUBMITTED}.json")
    payload = submitted_request()
    del payload["request_id"]
    with pytest.raises(jsonschema.ValidationError, match="request_id"):
        jsonschema.validate(payload, schema)


def test_every_event_schema_names_its_topic() -> None:
    for kind, model in registered().items():
        assert load(f"events/{kind}.json")["x-topic"] == model.topic


def test_asyncapi_has_a_channel_for_each_topic_and_its_dead_letter_topic() -> None:
    document = load("asyncapi.json")
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert document["asyncapi"] == "3.0.0"
    assert set(TOPICS) <= addresses
    assert {dead_letter_topic(topic) for topic in TOPICS} <= addresses


def test_asyncapi_dead_letter_messages_document_why_they_were_dead_lettered() -> None:
    headers = load("asyncapi.json")["components"]["messages"]["dead-letter"]["headers"]["properties"]
    expected = {"dlq-reason", "dlq-original-topic", "dlq-original-partition", "dlq-original-offset", "dlq-consumer"}
    assert expected <= set(headers)


def test_asyncapi_lists_every_registered_event_type_on_its_topic() -> None:
    document = load("asyncapi.json")
    by_address = {channel["address"]: channel for channel in document["channels"].values()}
    messages = document["components"]["messages"]
    for model in registered().values():
        assert model.event_type in messages, f"{model.cloudevent_type()} is not in the AsyncAPI document"
        assert model.event_type in by_address[model.topic]["messages"]


def test_asyncapi_operations_send_each_topic_from_its_producing_service() -> None:
    operations = load("asyncapi.json")["operations"]
    sent = {
        (operation_id.split(".")[0], operation["channel"]["$ref"]) for operation_id, operation in operations.items()
    }
    assert all(operation["action"] == "send" for operation in operations.values())
    assert sent == {
        ("requests", "#/channels/mutualaid.requests.v1"),
        ("availability", "#/channels/mutualaid.availability.v1"),
        ("tasking", "#/channels/mutualaid.tasking.v1"),
        ("tasking", "#/channels/mutualaid.audit.v1"),
    }


@pytest.mark.parametrize("service", sorted(PROMISED_PATHS))
def test_openapi_has_the_promised_v1_paths(service: str) -> None:
    paths = load(f"openapi/{service}.json")["paths"]
    for path, methods in PROMISED_PATHS[service].items():
        assert path in paths, f"{service} does not offer {path}"
        assert methods <= set(paths[path]), f"{service} {path} offers only {sorted(paths[path])}"


@pytest.mark.parametrize("service", sorted(PROMISED_PATHS))
def test_every_v1_operation_requires_a_bearer_token(service: str) -> None:
    document = load(f"openapi/{service}.json")
    schemes = document["components"]["securitySchemes"]
    for path, method, operation in v1_operations(document):
        assert operation.get("security"), f"{method.upper()} {path} declares no security"
        for requirement in operation["security"]:
            for name in requirement:
                assert (schemes[name]["type"], schemes[name]["scheme"]) == ("http", "bearer"), f"{name} is not bearer"


# beyond 400, 401, 403, 422, 500, 503 on every operation, 404 with a path parameter, 413 and 429 on writes
DECLARED_PROBLEMS = {
    ("requests", "post", "/v1/requests"): {409},
    ("requests", "post", "/v1/requests/{request_id}/cancel"): {409},
    ("availability", "put", "/v1/units/{unit_id}"): {409, 412},
    ("tasking", "post", "/v1/proposals/{proposal_id}/approve"): {409},
    ("tasking", "get", "/v1/proposals/{proposal_id}/explanation"): {410},
    ("availability", "get", "/v1/units"): {404},  # a page after an item no longer in the list
    ("tasking", "get", "/v1/units"): {404},
    ("tasking", "get", "/v1/proposals"): {404},
}


@pytest.mark.parametrize("service", sorted(PROMISED_PATHS))
def test_every_v1_operation_documents_its_problems_as_problem_json(service: str) -> None:
    document = load(f"openapi/{service}.json")
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "code"} <= set(problem["required"])
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, method, operation in v1_operations(document):
        expected = {400, 401, 403, 422, 500, 503}
        expected |= {404} if "{" in path else set()
        expected |= {413, 429} if method in ("post", "put") else set()
        expected |= DECLARED_PROBLEMS.get((service, method, path), set())
        errors = {int(status): answer for status, answer in operation["responses"].items() if int(status) >= 400}
        assert expected <= set(errors), f"{method.upper()} {path} lists only {sorted(errors)}"
        for status, answer in errors.items():
            assert answer["content"] == {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            }, f"{method.upper()} {path} {status}"
