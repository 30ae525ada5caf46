"""Every force that takes part in mutual aid, Home Office or not, is listed and can lend and ask."""

from tests.support.harness import Harness
from tests.support.steps import AUDITOR, NATIONAL, checked, decide, declare, pending, submit

NATIONAL_TIER = {"btp", "civil-nuclear", "mod-police", "police-scotland", "psni"}


async def test_the_forces_are_listed_with_region_and_headquarters(system: Harness) -> None:
    listed = checked(await system.client("availability").get("/v1/forces", headers=AUDITOR), 200)["items"]
    by_code = {force["code"]: force for force in listed}
    assert set(by_code) >= NATIONAL_TIER
    assert len(by_code) == 48
    assert by_code["psni"]["region"] == "Northern Ireland (outside England and Wales)"
    assert by_code["mod-police"]["region"] == "national"
    assert by_code["civil-nuclear"]["headquarters"]["lat"] > 51


async def test_an_unknown_force_points_at_the_list(system: Harness) -> None:
    missing = await system.client("availability").get("/v1/forces/gotham/capacity", headers=AUDITOR)
    assert missing.status_code == 404
    assert "GET /v1/forces" in missing.json()["detail"]


async def test_forces_outside_the_home_office_regions_lend_and_ask_at_the_national_tier(system: Harness) -> None:
    await declare(system, "police-scotland", "PSU")
    await declare(system, "mod-police", "AFO")
    request_id = await submit(system, "psni", "PSU")
    await system.plan()
    await system.deliver()
    proposal = await pending(system, request_id)
    assert (proposal["tier"], proposal["allocations"][0]["force"]) == ("NATIONAL", "police-scotland")
    checked(await decide(system, "approve", proposal["id"], NATIONAL), 200)
    asked = await submit(system, "civil-nuclear", "AFO")
    await system.plan()
    assert (await pending(system, asked))["allocations"][0]["force"] == "mod-police"


async def test_a_national_force_s_request_is_planned_nationally_and_gets_the_nearest_unit(system: Harness) -> None:
    await declare(system, "civil-nuclear", "PSU")  # another force of the "national" region, 80 km away
    await declare(system, "metropolitan", "PSU")  # a few kilometres from King's Cross
    request_id = await submit(system, "btp", "PSU")
    await system.plan()
    proposal = await pending(system, request_id)
    assert (proposal["tier"], proposal["allocations"][0]["force"]) == ("NATIONAL", "metropolitan")


async def test_a_belfast_request_is_offered_units_with_the_ferry_in_their_arrival_time(system: Harness) -> None:
    await declare(system, "police-scotland", "PSU", base={"lat": 55.864, "lon": -4.252, "description": "Glasgow"})
    await declare(system, "north-wales", "PSU", base={"lat": 53.309, "lon": -4.633, "description": "Holyhead"})
    request_id = await submit(system, "psni", "PSU", quantity=2)
    await system.plan()
    allocations = (await pending(system, request_id))["allocations"]
    assert {a["force"] for a in allocations} == {"police-scotland", "north-wales"}
    for allocation in allocations:
        assert allocation["via"][0].startswith("Cairnryan-"), allocation
        assert allocation["eta_minutes"] > 30 + 120 + 60 + 120  # readiness, road to port, boarding, sailing
