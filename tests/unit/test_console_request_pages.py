"""A request's page and its proposals' pages say where, from whom and why, escaped, and follow live."""

from typing import Any

from shared.vocabulary import Role
from tests.support.console_fake import FakeServices, console

REQUEST: dict[str, Any] = {
    "id": "r-1",
    "operation": "Op Facts",
    "priority": "P2",
    "status": "PROPOSED",
    "requesting_force": "west-midlands",
    "requesting_region": "West Midlands",
    "location": {"lat": 52.4862, "lon": -1.8904, "description": "Villa Park <b>gate 3</b>"},
    "needs": [{"capability": "PSU", "quantity": 2, "composition": [{"role": "constable", "count": 12}]}],
    "notes": "Bring <script>alert(1)</script> radios",
    "submitted_by": "op-smith",
    "required_by": "2027-01-21T10:00:00Z",
    "end": "2027-01-21T18:00:00Z",
    "timeline": [],
}
PROPOSAL: dict[str, Any] = {
    "id": "p-1",
    "request_id": "r-1",
    "tier": "REGIONAL",
    "status": "PENDING",
    "allocations": [],
    "passed_over": [],
    "unfilled": [],
}
EXPLANATION: dict[str, Any] = {"planned_at": None, "planner": "nearest", "units_considered": 0}


def services() -> FakeServices:
    fake = FakeServices().on("GET", "/v1/requests/r-1", REQUEST).on("GET", "/v1/proposals", {"items": [PROPOSAL]})
    return fake.on("GET", "/v1/proposals/p-1", PROPOSAL).on("GET", "/v1/proposals/p-1/explanation", EXPLANATION)


def shows_the_facts_escaped(html: str) -> None:
    assert "Villa Park &lt;b&gt;gate 3&lt;/b&gt;, 52.4862, -1.8904" in html
    assert "Bring &lt;script&gt;alert(1)&lt;/script&gt; radios" in html
    assert "op-smith" in html
    assert "each unit: 12 constable; not the catalogue" in html


def test_a_request_page_shows_place_notes_composition_and_who_raised_it() -> None:
    shows_the_facts_escaped(console(services(), role=Role.AUDITOR).get("/requests/r-1").text)


def test_a_proposal_page_shows_them_too_and_its_status_follows_live() -> None:
    html = console(services(), role=Role.NATIONAL_COORDINATOR).get("/proposals/p-1").text
    shows_the_facts_escaped(html)
    summary = html.split('id="proposal-summary"', 1)[1].split("</div>", 1)[0]
    assert "data-live" in summary
    assert 'id="status">PENDING<' in summary
