"""Fault benchmark: the fault suite's run at size (1,000 requests, every service SIGKILLed three times, the
broker frozen for 20 s and SIGKILLed once) on PostgreSQL; prints what it did, lost (0), duplicated (0) and how
long the stack took to converge after the last fault.

Run with `.venv/bin/python benchmarks/fault.py [--requests 1000] [--seconds 100]`; see benchmarks/README.md.
Needs a PostgreSQL server on which it may create and drop databases (`--postgres`, default the local one).
The same run, smaller, is tests/fault/test_faults.py.
"""

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from tests.support.fault_run import Plan, run_faults
from tests.support.infra import LOCAL_POSTGRES
from tests.support.replay import databases_reconcile
from tests.support.stacks import stack_on_postgres


async def run(plan: Plan, postgres: str) -> int:
    """Run the plan on a fresh stack; returns the exit code (1 when anything was lost or duplicated)."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mutualaid-fault-") as workdir:
        async with stack_on_postgres(Path(workdir), postgres, None, {}) as stack:
            print(f"stack started in {time.monotonic() - started:.1f}s", flush=True)
            outcome = await run_faults(stack, plan)
            print(outcome.summary(), flush=True)
            availability, tasking = stack.database_url("availability"), stack.database_url("tasking")
            await databases_reconcile(availability=availability, tasking=tasking)
            print(
                f"reconcile clean; audit {outcome.audit or 'intact'}; forces below reserve {len(outcome.below_reserve)}"
            )
    print(f"total {time.monotonic() - started:.1f}s")
    clean = outcome.tally.findings == [] and outcome.converged_s is not None and not outcome.below_reserve
    return 0 if clean and not outcome.audit else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000, help="requests submitted (default 1000)")
    parser.add_argument("--seconds", type=float, default=100.0, help="over this many seconds (default 100)")
    parser.add_argument("--units-per-force", type=int, default=25, help="PSUs each of the 8 donors declares")
    parser.add_argument("--kills-per-service", type=int, default=3, help="SIGKILLs of each service (default 3)")
    parser.add_argument("--postgres", default=LOCAL_POSTGRES, help="a server where databases may be created")
    args = parser.parse_args()
    plan = Plan(
        requests=args.requests,
        seconds=args.seconds,
        units_per_force=args.units_per_force,
        kills_per_service=args.kills_per_service,
        gap_s=5.0,
        converge_within_s=600.0,
    )
    raise SystemExit(asyncio.run(run(plan, args.postgres)))


if __name__ == "__main__":
    main()
