"""What an integrator carries on a request (issue 13): an incident reference, its own external reference (unique
per requesting force, to find the request by), a contact and a cost recovery category; all optional."""

import asyncio
import uuid
from typing import Any

import pytest

from tests.support.builders import request_body
from tests.support.harness import Harness
from tests.support.steps import INTEGRATION, checked

CONTACT = {"name": "Insp. Rhian Jones", "phone": "01745 588900", "email": "rhian.jones@example.police.uk"}


async def submit(system: Harness, **fields: Any) -> Any:
    headers = INTEGRATION | {"Idempotency-Key": str(uuid.uuid4())}
    return await system.client("requests").post("/v1/requests", json=request_body(**fields), headers=headers)


async def test_the_references_contact_and_cost_recovery_are_kept_and_the_request_found_by_its_reference(
    system: Harness,
) -> None:
    fields = {
        "incident_reference": "NWP-20261201-0042",
        "external_reference": "STORM-99812",
        "contact": CONTACT,
        "cost_recovery": "SPONTANEOUS",
    }
    created = checked(await submit(system, **fields), 201)
    assert {name: created[name] for name in fields} == fields
    await submit(system)  # another request, without a reference
    found = await system.client("requests").get(
        "/v1/requests", params={"force": "west-midlands", "external_reference": "STORM-99812"}, headers=INTEGRATION
    )
    assert [item["id"] for item in checked(found, 200)["items"]] == [created["id"]]


async def test_a_request_without_them_is_as_before(system: Harness) -> None:
    created = checked(await submit(system), 201)
    assert (created["external_reference"], created["contact"], created["cost_recovery"]) == (None, None, None)


async def test_an_external_reference_used_by_the_force_is_a_conflict_naming_the_request(system: Harness) -> None:
    first = checked(await submit(system, external_reference="STORM-1"), 201)
    again = await submit(system, external_reference="STORM-1", operation="Op another")
    assert again.status_code == 409, again.text
    assert first["id"] in again.json()["detail"]
    elsewhere = await submit(system, external_reference="STORM-1", requesting_force="staffordshire")
    assert elsewhere.status_code == 201, "unique per requesting force, not across forces"


async def test_requests_racing_with_one_external_reference_make_one_request(system: Harness) -> None:
    answers = await asyncio.gather(*(submit(system, external_reference="STORM-RACE") for _ in range(6)))
    assert sorted(answer.status_code for answer in answers) == [201] + [409] * 5, [a.text for a in answers]
    listed = checked(await system.client("requests").get("/v1/requests", headers=INTEGRATION), 200)["items"]
    assert len(listed) == 1


@pytest.mark.parametrize(
    "fields",
    [
        {"cost_recovery": "FREE"},
        {"contact": {"name": " "}},
        {"contact": {"name": "x", "pager": "1"}},
        {"external_reference": "x" * 101},
    ],
)
async def test_bad_integrator_fields_are_refused(system: Harness, fields: dict[str, Any]) -> None:
    answer = await submit(system, **fields)
    assert answer.status_code == 422, answer.text
