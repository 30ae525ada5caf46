"""A force's resource manager and an auditor at their own pages, at tablet width, against the real system."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from mutualaid.runner import Stack
from shared.auth import Role
from tests.support.browser import TABLET, accessible, fits_its_width, screenshot, signed_in, uk_local
from tests.support.builders import bearer, request_body

pytestmark = pytest.mark.e2e

HEADER = "unit_id,capability,base_lat,base_lon,base_description,readiness_minutes,available_from,available_until"


def duty_file(*rows: str) -> dict[str, object]:
    """A duty system's export, as the file input takes it."""
    return {"name": "cheshire.csv", "mimeType": "text/csv", "buffer": "\n".join([HEADER, *rows, ""]).encode()}


async def refused_in_words(page: Page, path: str, stack: Stack) -> None:
    await page.goto(f"{stack.url('console')}{path}")
    await expect(page.get_by_role("alert")).to_contain_text("You are not allowed to do this")


async def test_a_resource_manager_keeps_the_force_s_units_and_an_auditor_finds_a_trail_intact(
    console: Stack, browser: Browser
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    until = start + timedelta(days=30)
    async with httpx.AsyncClient() as client:
        older = {
            "force": "cheshire",
            "capability": "PSU",
            "base": {"lat": 53.194, "lon": -2.518, "description": "Winsford"},
            "readiness_minutes": 60,
            "available_from": start.isoformat(),
            "available_until": until.isoformat(),
        }
        declared = await client.put(
            f"{console.url('availability')}/v1/units/cheshire-psu-9", json=older, headers=bearer(Role.INTEGRATION)
        )
        assert declared.status_code == 201, declared.text
        raised = await client.post(
            f"{console.url('requests')}/v1/requests",
            json=request_body(operation="Op Audited"),
            headers=bearer(Role.OPERATOR, force="west-midlands"),
        )
        assert raised.status_code == 201, raised.text

    manager = await signed_in(browser, console, "resource_manager", force="cheshire", viewport=TABLET)
    await expect(manager.get_by_role("heading", name="Units of cheshire")).to_be_visible()
    await expect(manager.get_by_role("link", name="cheshire-psu-9")).to_be_visible()
    await expect(manager.get_by_role("link", name="west-midlands-psu-1")).to_have_count(0)  # not another force's
    await accessible(manager)
    await fits_its_width(manager)

    # Declare a unit, then edit it.
    await manager.get_by_label("Unit id (your force's own)").fill("cheshire-dog-1")
    await manager.get_by_label("Capability").select_option("DOG")
    await manager.get_by_label("Available from (UK time)").fill(uk_local(start))
    await manager.get_by_label("Available until (UK time)").fill(uk_local(until))
    await manager.get_by_role("button", name="Declare unit").click()
    await expect(manager.get_by_role("heading", name="Unit cheshire-dog-1")).to_be_visible()
    await expect(manager.locator("#unit-status")).to_have_text("AVAILABLE")
    await manager.get_by_label("Ready to leave in (minutes)").fill("45")
    await manager.get_by_role("button", name="Save unit").click()
    await expect(manager.locator("#unit-detail")).to_contain_text("45 minutes")
    await expect(manager.locator("#unit-detail")).to_contain_text("version 2")
    await accessible(manager)
    await fits_its_width(manager)

    # The service refuses a base outside the UK: in words, what was typed kept.
    await manager.get_by_label("Base latitude").fill("40")
    await manager.get_by_role("button", name="Save unit").click()
    await expect(manager.get_by_role("alert")).to_contain_text("cannot be accepted: base lat:")
    await expect(manager.get_by_label("Base latitude")).to_have_value("40")

    # Keep one dog unit at home.
    await manager.get_by_role("link", name="Reserve and commitment").click()
    await manager.get_by_label("Reserve of DOG").fill("1")
    await manager.get_by_role("button", name="Save reserve and commitment").click()
    await expect(manager.get_by_text("Last set by resource_manager-in-a-test")).to_be_visible()
    await expect(manager.get_by_label("Reserve of DOG")).to_have_value("1")
    await accessible(manager)
    await fits_its_width(manager)

    # A file that cannot be read changes nothing and says where it is wrong.
    window = f"{start.isoformat()},{until.isoformat()}"
    await manager.get_by_role("link", name="Duty-system import").click()
    await manager.get_by_label("Duty-system export (CSV)").set_input_files(
        duty_file(f"cheshire-psu-1,UNICORN,53.194,-2.518,Winsford,60,{window}")  # type: ignore[arg-type]
    )
    await manager.get_by_role("button", name="Dry run: show what would change").click()
    await expect(manager.get_by_role("alert")).to_contain_text("line 2, column capability")
    await accessible(manager)

    # The dry run: two units added, the dog unit updated, the unit left out withdrawn; then applied.
    await manager.get_by_label("Duty-system export (CSV)").set_input_files(
        duty_file(  # type: ignore[arg-type]
            f"cheshire-psu-1,PSU,53.194,-2.518,Winsford,60,{window}",
            f"cheshire-psu-2,PSU,53.194,-2.518,Winsford,60,{window}",
            f"cheshire-dog-1,DOG,53.194,-2.518,Winsford,30,{window}",
        )
    )
    await manager.get_by_role("button", name="Dry run: show what would change").click()
    counts = manager.locator("#counts")
    await expect(counts).to_contain_text("2 to add")
    await expect(counts).to_contain_text("1 to update")
    await expect(counts).to_contain_text("1 to withdraw")
    await accessible(manager)
    await fits_its_width(manager)
    await screenshot(manager, "duty-import")
    await manager.get_by_role("button", name="Apply these changes").click()
    await expect(manager.locator("#applied")).to_contain_text("declared 2, updated 1, left 0 unchanged and withdrew 1")
    await manager.get_by_role("link", name="See the units of cheshire").click()
    await expect(manager.get_by_role("row", name="cheshire-psu-9")).to_contain_text("WITHDRAWN")

    # Each role keeps to its own pages.
    await refused_in_words(manager, "/audit", console)
    operator = await signed_in(browser, console, "operator", force="west-midlands")
    await refused_in_words(operator, "/units", console)
    await refused_in_words(operator, "/proposals", console)

    auditor = await signed_in(browser, console, "auditor", viewport=TABLET)
    await expect(auditor.get_by_role("heading", name="Audit trail", exact=True)).to_be_visible()
    await auditor.get_by_role("link", name="Op Audited").click()
    await expect(auditor.get_by_role("heading", name="Audit trail of Op Audited")).to_be_visible()
    await expect(auditor.locator("#trail")).to_contain_text("proposal.created", timeout=20_000)  # live
    await expect(auditor.locator("#verdict")).to_contain_text("the audit trail is intact")
    await screenshot(auditor, "audit-trail")
    await accessible(auditor)
    await fits_its_width(auditor)
    await refused_in_words(auditor, "/units", console)
