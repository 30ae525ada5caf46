"""A coordinator's decision as the console sends it: the units ticked, the reason typed, nothing invented."""

from typing import Any

import pytest

from services.console.backend import Refused
from services.console.pages.proposals import decision
from shared.vocabulary import Role
from tests.support.console_fake import FakeServices, console

PROPOSAL: dict[str, Any] = {
    "id": "p-1",
    "request_id": "r-1",
    "allocations": [{"unit_id": "u-1"}, {"unit_id": "u-2"}],
    "passed_over": [],
    "status": "PENDING",
    "tier": "REGIONAL",
    "unfilled": [],
}
REQUEST: dict[str, Any] = {
    "id": "r-1",
    "operation": "Op",
    "requesting_force": "west-midlands",
    "requesting_region": "West Midlands",
    "needs": [],
    "required_by": None,
    "end": None,
    "status": "PROPOSED",
    "location": {"lat": 52.48, "lon": -1.89},
    "submitted_by": "op",
    "notes": "",
}
EXPLANATION: dict[str, Any] = {
    "planned_at": None,
    "planner": "nearest",
    "units_considered": 2,
    "chosen": [],
    "excluded": [],
}


def test_approving_with_no_unit_ticked_is_refused_in_words() -> None:
    with pytest.raises(Refused, match="tick at least one unit"):
        decision("approve", "", None, PROPOSAL)


def test_only_approve_all_approves_every_unit() -> None:
    assert decision("approve_all", "", None, PROPOSAL) == {"reason": ""}


def test_approving_some_units_sends_them_and_the_typed_reason_only() -> None:
    assert decision("approve", " cover ", ["u-1"], PROPOSAL) == {"reason": "cover", "unit_ids": ["u-1"]}
    assert decision("approve", "", ["u-2", "u-1"], PROPOSAL) == {"reason": ""}


def test_a_rejection_needs_a_reason() -> None:
    with pytest.raises(Refused, match="reason is required"):
        decision("reject", "  ", ["u-1", "u-2"], PROPOSAL)


def test_the_console_never_approves_all_when_the_form_ticks_none() -> None:
    services = FakeServices().on("GET", "/v1/proposals/p-1", PROPOSAL)
    services.on("GET", "/v1/requests/r-1", REQUEST)
    services.on("GET", "/v1/proposals/p-1/explanation", EXPLANATION)
    client = console(services, role=Role.NATIONAL_COORDINATOR)
    answer = client.post("/proposals/p-1/decide", data={"verb": "approve", "reason": ""})
    assert answer.status_code == 422
    assert "tick at least one unit" in answer.text
    assert not [sent for sent in services.sent if sent.method == "POST"]


@pytest.mark.parametrize("blank", ["", "   ", "\u200b\u00a0", "\t\u2060"])
def test_a_rejection_whose_reason_shows_nothing_is_refused(blank: str) -> None:
    with pytest.raises(Refused, match="reason is required"):
        decision("reject", blank, ["u-1"], PROPOSAL)


def test_a_rejection_with_no_unit_ticked_says_to_tick_the_units_rejected() -> None:
    with pytest.raises(Refused, match="tick the units you reject"):
        decision("reject", "not trained for tonight", None, PROPOSAL)
