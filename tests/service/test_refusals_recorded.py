"""A refused call is audited once per principal and resource, and a bounded number of times per principal:
refusals cannot flood the audit trail (issue 12)."""

import uuid
from collections import Counter
from typing import Any

from shared.auth import Role
from shared.refusals import PER_PRINCIPAL
from tests.support.builders import bearer
from tests.support.harness import Harness
from tests.support.steps import AUDITOR, checked, decide, declare, pending, submit


async def refused_entries(system: Harness) -> list[dict[str, Any]]:
    trail = checked(await system.client("tasking").get("/v1/audit", headers=AUDITOR), 200)["items"]
    return [entry for entry in trail if entry["action"] == "refused"]


async def test_two_hundred_refused_approvals_by_an_operator_add_one_entry(system: Harness) -> None:
    await declare(system, "staffordshire")
    request_id = await submit(system, "west-midlands")
    await system.plan()
    proposal = await pending(system, request_id)
    operator = bearer(Role.OPERATOR, force="west-midlands")
    answers = Counter([(await decide(system, "approve", proposal["id"], operator)).status_code for _ in range(200)])
    assert set(answers) <= {403, 429}, answers  # past the write limit (per principal) 429, before any check
    assert answers[403] >= 50, answers
    [entry] = await refused_entries(system)
    assert (entry["role"], entry["proposal_id"]) == ("operator", proposal["id"])


async def test_refusals_on_ever_new_resources_add_a_bounded_number_of_entries(system: Harness) -> None:
    operator = bearer(Role.OPERATOR, force="avon-and-somerset")
    for _ in range(60):
        assert (await decide(system, "approve", str(uuid.uuid4()), operator)).status_code == 403
    entries = await refused_entries(system)
    assert len(entries) == PER_PRINCIPAL
    assert {entry["actor"] for entry in entries} == {entries[0]["actor"]}
