"""The fault suite (issue 11, point 7): the whole stack on PostgreSQL under a load of declarations, requests and
approvals while every service is SIGKILLed twice and the broker is frozen for 20 s and then SIGKILLed (it
comes back empty), each restarted by the supervisor of `mutualaid run`. Nothing may be lost or had twice.
What "lost" and "duplicated" count: tests/support/fault_checks.py and docs/decisions/0012.
"""

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from mutualaid.runner import Stack
from tests.support.fault_run import Plan, run_faults
from tests.support.replay import databases_reconcile
from tests.support.stacks import stack_on_postgres

pytestmark = [pytest.mark.fault, pytest.mark.timeout(420)]


@pytest.fixture
async def stack(tmp_path: Path, postgres_server: str) -> AsyncIterator[Stack]:
    async with stack_on_postgres(tmp_path, postgres_server, None, {}) as stack:  # its own broker, to kill
        yield stack


async def test_crashes_and_a_broker_outage_lose_and_duplicate_nothing(
    stack: Stack, record_property: Callable[[str, object], None]
) -> None:
    outcome = await run_faults(stack, Plan())
    record_property("fault run", outcome.summary())  # printed at the end of the run (tests/conftest.py)

    assert outcome.faults.kills.total() >= 7, outcome.faults.kills
    assert outcome.faults.pauses == [20.0]
    assert outcome.tally.findings == [], outcome.tally.findings
    assert (outcome.tally.lost, outcome.tally.duplicated) == (0, 0)
    assert outcome.converged_s is not None, outcome.summary()
    assert outcome.below_reserve == []
    assert outcome.audit == ""
    await databases_reconcile(availability=stack.database_url("availability"), tasking=stack.database_url("tasking"))
