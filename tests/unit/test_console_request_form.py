"""The operator's request form as the console sends it: the first need with its composition, and the
further needs of the "Also needed" rows."""

import json

from shared.vocabulary import Role
from tests.support.console_fake import FakeServices, console

FORM = {
    "operation": "Op Harbour",
    "priority": "P1",
    "capability": "PSU",
    "quantity": "3",
    "required_by": "2027-01-10T18:00",
    "end": "2027-01-11T06:00",
    "idempotency_key": "6f0c6a3e-5b1e-4d0e-9a57-0d3c1f1f6f11",
    "hq": "west-midlands",
    "composition": "",
    "composition_of": "PSU",
}


def raised(form: dict[str, str]) -> dict[str, object]:
    services = (
        FakeServices()
        .on("GET", "/v1/capabilities", {"items": []})
        .on("GET", "/v1/requests", {"items": []})
        .on("POST", "/v1/requests", {"id": "r-1"}, status=201)
    )
    answer = console(services, role=Role.OPERATOR, force="west-midlands").post("/requests", data=form)
    assert answer.status_code == 303, answer.text
    [sent] = [call for call in services.sent if call.method == "POST"]
    body: dict[str, object] = json.loads(sent.content)
    return body


def test_a_request_asks_for_several_capabilities_at_once() -> None:
    body = raised(FORM | {"also_capability_1": "POM", "also_quantity_1": "2", "also_capability_2": ""})
    assert body["needs"] == [{"capability": "PSU", "quantity": 3}, {"capability": "POM", "quantity": 2}]


def test_rows_left_at_nothing_more_ask_for_nothing() -> None:
    assert raised(FORM)["needs"] == [{"capability": "PSU", "quantity": 3}]
