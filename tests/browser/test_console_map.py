"""The national picture and the request form's map, in a real browser against the real system."""

from datetime import datetime, timedelta

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from mutualaid.runner import Stack
from services.console.geo import UK
from shared.auth import Role
from tests.support.browser import TABLET, accessible, fits_its_width, screenshot, signed_in, uk_local
from tests.support.builders import bearer

pytestmark = pytest.mark.e2e

LEEDS = (53.80, -1.55)


async def click_on_the_map(page: Page, lat: float, lon: float) -> None:
    """Click the request form's map where the place is drawn (the map keeps the projection's proportions)."""
    await page.locator("#picker").scroll_into_view_if_needed()
    box = await page.locator("#picker").bounding_box()
    assert box is not None
    x, y = UK.to_xy(lat, lon)
    await page.mouse.click(box["x"] + x * box["width"] / UK.width, box["y"] + y * box["height"] / UK.height)


async def test_the_national_picture_follows_capacity_and_demand_live_and_an_operator_places_a_request_on_the_map(
    console: Stack, browser: Browser
) -> None:
    coordinator = await signed_in(browser, console, "national_coordinator", viewport=TABLET)
    await coordinator.get_by_role("link", name="National picture").click()
    await expect(coordinator.get_by_role("heading", name="National picture")).to_be_visible()
    west_midlands = coordinator.locator("#force-west-midlands")
    await expect(west_midlands.locator("td").nth(2)).to_have_text("5")  # the demo's five units, lendable
    await expect(coordinator.locator('[data-force="west-midlands"] text')).to_have_text("5")
    await accessible(coordinator)
    await fits_its_width(coordinator)
    picture = coordinator.url

    # A unit declared elsewhere reaches the open page: the table and the map, without a reload.
    async with httpx.AsyncClient() as client:
        unit = {
            "force": "cheshire",
            "capability": "PSU",
            "base": {"lat": 53.194, "lon": -2.518},
            "readiness_minutes": 60,
            "available_from": (datetime.now().astimezone() - timedelta(days=1)).isoformat(),
            "available_until": (datetime.now().astimezone() + timedelta(days=30)).isoformat(),
        }
        declared = await client.put(
            f"{console.url('availability')}/v1/units/cheshire-psu-1", json=unit, headers=bearer(Role.INTEGRATION)
        )
        assert declared.status_code == 201, declared.text
    await expect(coordinator.locator("#force-cheshire td").nth(2)).to_have_text("1", timeout=10_000)
    await expect(coordinator.locator('[data-force="cheshire"] text')).to_have_text("1")

    # An operator places a request by clicking Leeds on the map and asks for PSUs of another make-up.
    operator = await signed_in(browser, console, "operator", force="west-midlands", viewport=TABLET)
    await expect(operator.get_by_label("Composition of each unit")).to_contain_text("18 constable")
    await accessible(operator)
    await fits_its_width(operator)
    start = datetime.now().astimezone() + timedelta(hours=6)
    await operator.get_by_label("Operation").fill("Op Mapped")
    await operator.get_by_label("Place", exact=True).fill("Elland Road")
    await click_on_the_map(operator, *LEEDS)
    await expect(operator.get_by_label("Latitude")).not_to_have_value("52.4836")
    await operator.get_by_label("Composition of each unit").fill("1 inspector\n4 sergeant\n16 constable")
    await operator.get_by_label("How many").fill("2")
    await operator.get_by_label("Needed by (UK time)").fill(uk_local(start))
    await operator.get_by_label("Until (UK time)").fill(uk_local(start + timedelta(hours=12)))
    await screenshot(operator, "request-form", showing="#place")
    await operator.get_by_role("button", name="Raise request").click()
    await expect(operator.get_by_role("heading", name="Op Mapped")).to_be_visible()

    async with httpx.AsyncClient() as client:
        listed = await client.get(
            f"{console.url('requests')}/v1/requests", headers=bearer(Role.AUDITOR), params={"force": "west-midlands"}
        )
    held = listed.json()["items"][0]
    assert (held["operation"], held["location"]["description"]) == ("Op Mapped", "Elland Road")
    assert held["location"]["lat"] == pytest.approx(LEEDS[0], abs=0.05)
    assert held["location"]["lon"] == pytest.approx(LEEDS[1], abs=0.05)
    composition = [(line["count"], line["role"]) for line in held["needs"][0]["composition"]]
    assert composition == [(1, "inspector"), (4, "sergeant"), (16, "constable")]

    # The national picture, never reloaded, shows the region's new demand.
    assert coordinator.url == picture
    demand = coordinator.get_by_role("row", name="West Midlands")
    await expect(demand.locator("td").first).to_have_text("1", timeout=10_000)
    await expect(demand.locator("td").nth(1)).to_have_text("2")
    await expect(coordinator.locator("#national-map")).to_contain_text("West Midlands: 1 open")
    await screenshot(coordinator, "national-picture", showing="#map-heading")
