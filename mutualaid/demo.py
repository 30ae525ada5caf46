"""Demo units for the West Midlands region, declared through the availability API like any integration."""

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from shared.auth import Role, development_token
from shared.settings import CommonSettings

# (force, capability, count, base description, lat, lon, readiness minutes)
DEMO_UNITS = [
    ("staffordshire", "PSU", 3, "Stafford", 52.814, -2.092, 60),
    ("warwickshire", "PSU", 2, "Leek Wootton", 52.313, -1.582, 45),
    ("west-mercia", "PSU", 3, "Hindlip, Worcester", 52.215, -2.178, 60),
    ("west-midlands", "PSU", 4, "Birmingham", 52.4836, -1.8972, 30),
    ("staffordshire", "AFO", 1, "Stafford", 52.814, -2.092, 30),
    ("west-mercia", "CBRN_T2", 1, "Hindlip, Worcester", 52.215, -2.178, 120),
    ("west-midlands", "CTSFO", 1, "Birmingham", 52.4836, -1.8972, 15),
]


def demo_declarations(now: datetime | None = None) -> dict[str, dict[str, object]]:
    """Unit id to declaration body; every unit is available from today for 90 days."""
    start = (now or datetime.now(UTC)).replace(hour=0, minute=0, second=0, microsecond=0)
    declarations: dict[str, dict[str, object]] = {}
    for force, capability, count, place, lat, lon, readiness in DEMO_UNITS:
        for number in range(1, count + 1):
            declarations[f"{force}-{capability.lower()}-{number}"] = {
                "force": force,
                "capability": capability,
                "base": {"lat": lat, "lon": lon, "description": place},
                "readiness_minutes": readiness,
                "available_from": start.isoformat(),
                "available_until": (start + timedelta(days=90)).isoformat(),
            }
    return declarations


@dataclass(frozen=True)
class DemoSeeding:
    """What seeding did: units declared now, and units already there (left exactly as they are)."""

    declared: int
    already_there: int


class DemoSeedingFailed(Exception):
    """The demo units could not all be declared, or tasking did not see them; the message says which."""


async def declare_demo_units(availability_url: str, *, tasking_url: str | None = None) -> DemoSeeding:
    """Declare the demo units that are not declared yet; with tasking_url, wait until the planner has seen them all.

    Each declaration is sent with `If-None-Match: *`, so a unit left by an earlier run (committed,
    recalled or edited since) is never touched: availability answers 412 and it is counted as there.
    Raises DemoSeedingFailed when availability cannot be reached or refuses, or when tasking has not
    seen every unit within 30 s.
    """
    token = development_token(CommonSettings(), sub="demo-loader", role=Role.INTEGRATION)
    headers = {"Authorization": f"Bearer {token}"}
    declarations = demo_declarations()
    declared = 0
    try:
        async with httpx.AsyncClient(base_url=availability_url, headers=headers, timeout=10) as client:
            for unit_id, body in declarations.items():
                response = await client.put(f"/v1/units/{unit_id}", json=body, headers={"If-None-Match": "*"})
                if response.status_code != httpx.codes.PRECONDITION_FAILED:
                    response.raise_for_status()
                    declared += 1
    except httpx.HTTPStatusError as error:
        raise DemoSeedingFailed(
            f"availability refused demo unit {error.request.url.path.rsplit('/', 1)[-1]}: "
            f"{error.response.status_code} {error.response.text[:200]}"
        ) from None
    except httpx.HTTPError as error:
        raise DemoSeedingFailed(f"availability at {availability_url} did not answer: {error!r}") from None
    if tasking_url:
        await wait_until_planner_knows(tasking_url, set(declarations), headers=headers)
    return DemoSeeding(declared=declared, already_there=len(declarations) - declared)


async def wait_until_planner_knows(
    tasking_url: str, unit_ids: set[str], *, headers: dict[str, str], timeout: float = 30.0
) -> None:
    """Unit events and requests travel on different topics: wait until tasking's read model has the units.

    Raises DemoSeedingFailed naming how many tasking has when the timeout (seconds) passes.
    """
    known: set[str] = set()
    try:
        async with httpx.AsyncClient(base_url=tasking_url, headers=headers, timeout=10) as client:
            async with asyncio.timeout(timeout):
                while True:
                    known = {unit["unit_id"] for unit in (await client.get("/v1/units")).json()["items"]}
                    if unit_ids <= known:
                        return
                    await asyncio.sleep(0.05)
    except (TimeoutError, httpx.HTTPError):
        raise DemoSeedingFailed(
            f"the demo units are declared, but tasking has seen only {len(unit_ids & known)} of them "
            f"within {timeout:.0f} s"
        ) from None
