"""One input policy on every service: a bad input is a 422 (or 400) problem+json naming it, never a 500 and
never silently stored; a valid request accepted before stays accepted."""

import json
import uuid
from typing import Any

import httpx
import pytest

from shared.auth import Role
from tests.support.builders import request_body, token, unit_body, unit_id
from tests.support.harness import Harness
from tests.support.steps import INTEGRATION, NATIONAL, checked, operator

SOME_REQUEST = "5ed3c6fb-0000-4000-8000-000000000001"
SUBMITTER = operator("west-midlands")


def _location(**extra: Any) -> dict[str, Any]:
    return {"lat": 52.509, "lon": -1.885, "description": "Villa Park", **extra}


async def _submit(system: Harness, body: dict[str, Any]) -> httpx.Response:
    headers = SUBMITTER | {"Idempotency-Key": str(uuid.uuid4())}
    return await system.client("requests").post("/v1/requests", json=body, headers=headers)


async def _declare(system: Harness, body: dict[str, Any]) -> httpx.Response:
    return await system.client("availability").put(f"/v1/units/{unit_id()}", json=body, headers=INTEGRATION)


def _refused(response: httpx.Response, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize(
    ("service", "method", "path", "body"),
    [
        ("requests", "POST", "/v1/requests", request_body(notes="a\u0000b")),
        ("requests", "POST", "/v1/requests", request_body(operation="Op \u0007 bell")),
        ("requests", "POST", "/v1/requests", request_body(notes="lone \ud800 surrogate")),
        ("requests", "POST", "/v1/requests", request_body(location=_location(description="\u001b[31m"))),
        ("requests", "GET", "/v1/requests?force=a%00b", None),
        ("requests", "GET", "/v1/requests?force=a%1Fb", None),
        ("requests", "GET", "/v1/requests/a%07b", None),
        ("availability", "PUT", "/v1/units/u-1", unit_body(base=_location(description="a\u0000b"))),
        ("availability", "GET", "/v1/units?force=%7F", None),
        ("availability", "POST", "/v1/units/u-1/recall", {"reason": "\u0008"}),
        ("tasking", "POST", f"/v1/proposals/{SOME_REQUEST}/reject", {"reason": "x\u0001"}),
        ("tasking", "GET", "/v1/proposals?request_id=%0B", None),
        ("tasking", "POST", f"/v1/requests/{SOME_REQUEST}/stand-down", {"reason": "\udfff"}),
    ],
)
async def test_nul_control_characters_and_lone_surrogates_are_refused_everywhere(
    system: Harness, service: str, method: str, path: str, body: object
) -> None:
    content = None if body is None else json.dumps(body).encode()  # ASCII: \ud800 as an escape
    headers = INTEGRATION | {"Content-Type": "application/json"}
    problem = _refused(await system.client(service).request(method, path, content=content, headers=headers))
    assert "control character" in problem["detail"] or "surrogate" in problem["detail"], problem


async def test_newlines_and_tabs_stay_accepted_in_text(system: Harness) -> None:
    checked(await _submit(system, request_body(notes="line one\nline two\ttabbed\r\n")), 201)


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ("required_by", "0001-01-01T00:00:00+14:00"),
        ("end", "9999-12-31T23:59:59-12:00"),
        ("required_by", "1999-12-31T23:59:59Z"),
        ("end", "2100-01-01T00:00:01Z"),
    ],
)
async def test_a_datetime_outside_2000_to_2100_is_refused(system: Harness, where: str, value: str) -> None:
    problem = _refused(await _submit(system, request_body(**{where: value})))
    assert "between 2000-01-01T00:00:00Z and 2100-01-01T00:00:00Z" in problem["detail"], problem


@pytest.mark.parametrize(
    "body",
    [
        unit_body(available_from="0001-01-01T00:00:00+14:00"),
        unit_body(available_until="9999-12-31T23:59:59-12:00"),
        unit_body(available_from=None, available_until=None, windows=[{"start": 0, "end": 10**12}]),
    ],
)
async def test_a_unit_window_outside_the_range_is_refused_not_stored(system: Harness, body: dict[str, Any]) -> None:
    _refused(await _declare(system, body))


async def test_a_capacity_period_outside_the_range_is_refused(system: Harness) -> None:
    path = "/v1/forces/staffordshire/capacity?from=0001-01-01T00:00:00%2B14:00"
    _refused(await system.client("availability").get(path, headers=INTEGRATION))


@pytest.mark.parametrize(
    "overrides",
    [
        {"needs": [{"capability": "PSU", "quantity": 2, "colour": "blue"}]},
        {"needs": [{"capability": "PSU", "quantity": 1, "composition": [{"role": "pc", "count": 1, "x": 1}]}]},
        {"location": _location(altitude=100)},
        {"needs": [{"capability": "PSU", "quantity": "2"}]},
        {"needs": [{"capability": "PSU", "quantity": True}]},
        {"needs": [{"capability": "PSU", "quantity": 1.5}]},
        {"location": {"lat": "52.5", "lon": -1.885}},
        {"required_by": 0},
        {"end": 1893456000},
        {"operation": "   "},
        {"operation": ""},
        {"requesting_force": 7},
    ],
)
async def test_a_loose_request_is_refused(system: Harness, overrides: dict[str, Any]) -> None:
    _refused(await _submit(system, request_body(**overrides)))
    assert await system.deliver() == 0


@pytest.mark.parametrize(
    "overrides",
    [
        {"base": _location(floor=3)},
        {"readiness_minutes": "30"},
        {"readiness_minutes": False},
        {
            "available_from": None,
            "available_until": None,
            "windows": [{"start": "2030-01-01T00:00:00Z", "end": "2030-02-01T00:00:00Z", "x": 1}],
        },
        {"version": "1"},
    ],
)
async def test_a_loose_declaration_is_refused(system: Harness, overrides: dict[str, Any]) -> None:
    _refused(await _declare(system, unit_body(**overrides)))


@pytest.mark.parametrize(
    "body",
    [
        {"reserve": {"PSU": 10**30}},
        {"national_commitment": {"PSU": 100_001}},
        {"reserve": {"PSU": "2"}},
        {"reserve": {"PSU": True}},
    ],
)
async def test_policy_counts_are_whole_numbers_within_bounds(system: Harness, body: dict[str, Any]) -> None:
    answer = await system.client("availability").put("/v1/forces/staffordshire/policy", json=body, headers=INTEGRATION)
    _refused(answer)


async def test_a_reason_of_only_spaces_is_refused_and_text_is_trimmed(system: Harness) -> None:
    created = checked(await _submit(system, request_body(operation="  Op Trimmed  ")), 201)
    assert created["operation"] == "Op Trimmed"
    path = f"/v1/requests/{created['id']}/cancel"
    _refused(await system.client("requests").post(path, json={"reason": "  \t "}, headers=SUBMITTER))
    _refused(
        await system.client("availability").post("/v1/units/u-1/recall", json={"reason": "   "}, headers=INTEGRATION)
    )


async def test_a_boolean_flag_takes_only_true_or_false(system: Harness) -> None:
    body = {"reason": "no", "end_request": "yes"}
    _refused(await system.client("tasking").post(f"/v1/proposals/{SOME_REQUEST}/reject", json=body, headers=NATIONAL))


@pytest.mark.parametrize(
    ("service", "path"),
    [
        ("requests", "/v1/requests?external_ref=OP-1"),
        ("requests", "/v1/requests?force=west-midlands&forse=x"),
        ("availability", "/v1/units?colour=blue"),
        ("availability", "/v1/capacity?regoin=x"),
        ("tasking", "/v1/proposals?request=x"),
        ("tasking", "/v1/audit?requestid=x"),
    ],
)
async def test_an_unknown_query_parameter_is_refused_with_400(system: Harness, service: str, path: str) -> None:
    problem = _refused(await system.client(service).get(path, headers=NATIONAL | INTEGRATION), 400)
    assert "unknown query parameter" in problem["detail"], problem


@pytest.mark.parametrize(
    ("service", "path"),
    [
        ("requests", "/v1/requests?force=west-midlands&force=staffordshire"),
        ("availability", "/v1/capacity?region=London&region=Wales"),
        ("tasking", "/v1/audit?request_id=a&request_id=b"),
    ],
)
async def test_a_query_parameter_given_twice_is_refused_with_400(system: Harness, service: str, path: str) -> None:
    problem = _refused(await system.client(service).get(path, headers=INTEGRATION), 400)
    assert "given more than once" in problem["detail"], problem


async def test_the_documented_query_parameters_stay_accepted(system: Harness) -> None:
    checked(
        await system.client("requests").get(
            "/v1/requests?force=west-midlands&status=PROPOSED&limit=5", headers=INTEGRATION
        ),
        200,
    )
    checked(await system.client("availability").get("/v1/capacity?from=2030-01-01T00:00:00Z", headers=INTEGRATION), 200)


async def test_today_s_valid_bodies_stay_accepted(system: Harness) -> None:
    composition = [{"role": "sergeant", "count": 1}, {"role": "constable", "count": 6}]
    body = request_body(needs=[{"capability": "PSU", "quantity": 2.0, "composition": composition}])
    checked(await _submit(system, body), 201)
    checked(await _declare(system, unit_body(readiness_minutes=30, base={"lat": 52, "lon": -2})), 201)


@pytest.mark.parametrize("sub", ["a" * 201, "op\u0000erator", "op\u0001erator", "op\nFORGED log line", " "])
async def test_a_token_whose_subject_cannot_be_kept_or_logged_is_refused_at_the_door(system: Harness, sub: str) -> None:
    """The subject is stored (submitted_by, the audit trail's actor: 200 characters) and logged as who acted."""
    who = {"Authorization": f"Bearer {token(Role.OPERATOR, sub=sub, force='west-midlands')}"}
    submitted = await _submit_as(system, who)
    refused = await system.client("tasking").get("/v1/audit", headers=who)  # a refusal is audited with its actor
    for answer in (submitted, refused):
        _refused(answer, 401)


async def _submit_as(system: Harness, who: dict[str, str]) -> httpx.Response:
    headers = who | {"Idempotency-Key": str(uuid.uuid4())}
    return await system.client("requests").post("/v1/requests", json=request_body(), headers=headers)


@pytest.mark.parametrize("seconds", ["1796404764", "1796404764.5", "1.8e9", " 1796404764 "])
async def test_a_time_written_as_seconds_since_1970_in_a_string_is_refused(system: Harness, seconds: str) -> None:
    body = request_body(required_by=seconds)
    problem = _refused(await _submit(system, body))
    assert "not a number" in problem["detail"]
    capacity = await system.client("availability").get("/v1/capacity", params={"from": seconds}, headers=INTEGRATION)
    _refused(capacity)
