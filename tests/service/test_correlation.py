"""The correlation id an HTTP request goes by is echoed to the caller and carried by every event it causes,
on SQLite and PostgreSQL."""

import uuid

from tests.support.builders import request_body
from tests.support.harness import Harness
from tests.support.steps import checked, coordinator, decide, declare, operator, pending

ONE_PSU = [{"capability": "PSU", "quantity": 1}]


def correlation_ids(system: Harness, event_type: str) -> set[str | None]:
    return {event.correlationid for event, data in system.delivered if data.event_type == event_type}


async def test_a_submission_and_the_planning_it_causes_carry_the_callers_correlation_id(system: Harness) -> None:
    await declare(system, "staffordshire")
    given = f"incident-{uuid.uuid4().hex[:12]}"
    headers = operator("west-midlands") | {"X-Correlation-ID": given}
    response = await system.client("requests").post("/v1/requests", json=request_body(needs=ONE_PSU), headers=headers)
    checked(response, 201)
    assert response.headers["X-Correlation-ID"] == given

    await system.deliver()
    await system.plan()
    await system.deliver()
    for caused in ("request.submitted", "matching.started", "proposal.created"):
        assert correlation_ids(system, caused) == {given}, caused


async def test_a_decision_goes_by_its_own_correlation_id_through_the_services_it_moves(system: Harness) -> None:
    await declare(system, "staffordshire")
    checked(
        await system.client("requests").post(
            "/v1/requests", json=request_body(needs=ONE_PSU), headers=operator("west-midlands")
        ),
        201,
    )
    await system.deliver()
    await system.plan()
    await system.deliver()
    [(submitted, data)] = [(e, d) for e, d in system.delivered if d.event_type == "request.submitted"]
    proposal = await pending(system, data.subject())

    decision = f"decision-{uuid.uuid4().hex[:12]}"
    headers = coordinator("West Midlands") | {"X-Correlation-ID": decision}
    checked(await decide(system, "approve", proposal["id"], headers), 200)
    await system.deliver()
    assert correlation_ids(system, "tasking.approved") == {decision}
    assert correlation_ids(system, "units.committed") == {decision}  # availability's answer to the approval
    assert len(submitted.correlationid or "") == 32  # none given: the service made one (and kept it for the request)
    assert correlation_ids(system, "proposal.created") == {submitted.correlationid}


async def test_an_unusable_correlation_id_is_replaced_and_the_new_one_echoed(system: Harness) -> None:
    headers = operator("west-midlands") | {"X-Correlation-ID": "two words"}
    response = await system.client("requests").post("/v1/requests", json=request_body(needs=ONE_PSU), headers=headers)
    checked(response, 201)
    made = response.headers["X-Correlation-ID"]
    assert made != "two words"
    await system.deliver()
    assert correlation_ids(system, "request.submitted") == {made}
