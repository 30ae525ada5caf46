"""Driving the console as a person would: sign in, check a page with axe-core, fill UK local times."""

import os
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, ViewportSize

from mutualaid.runner import Stack

UK = ZoneInfo("Europe/London")
SERIOUS = ("serious", "critical")
DESKTOP = ViewportSize(width=1280, height=800)
TABLET = ViewportSize(width=768, height=1024)
SCREENSHOTS = os.environ.get("CONSOLE_SCREENSHOTS", "")  # a folder: `make screenshots` fills docs/screenshots


async def signed_in(
    browser: Browser, stack: Stack, role: str, *, force: str = "", region: str = "", viewport: ViewportSize = DESKTOP
) -> Page:
    page = await (await browser.new_context(viewport=viewport)).new_page()
    await page.goto(f"{stack.url('console')}/sign-in")
    await page.get_by_label("Your name or collar number").fill(f"{role}-in-a-test")
    await page.get_by_label("Role").select_option(role)
    if force:
        await page.get_by_label("Force (operators and resource managers)").select_option(force)
    if region:
        await page.get_by_label("Region (regional coordinators)").select_option(region)
    await page.get_by_role("button", name="Sign in").click()
    return page


async def accessible(page: Page) -> None:
    """axe-core finds no serious or critical violation on the page."""
    results = await Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in SERIOUS]
    assert not serious, [(v["id"], v["help"], [n["target"] for n in v["nodes"]]) for v in serious]


async def fits_its_width(page: Page) -> None:
    """Nothing on the page is wider than the window: no sideways scrolling (a tablet held upright)."""
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the window"


def uk_local(moment: datetime) -> str:
    return moment.astimezone(UK).strftime("%Y-%m-%dT%H:%M")


async def screenshot(page: Page, name: str, showing: str = "h1") -> None:
    """The window at desktop size, from `showing` down, as <name>.png in CONSOLE_SCREENSHOTS if it names a folder."""
    if not SCREENSHOTS:
        return
    size = page.viewport_size
    await page.set_viewport_size(DESKTOP)
    await page.locator(showing).first.evaluate("found => found.scrollIntoView({block: 'start'})")
    await page.screenshot(path=Path(SCREENSHOTS) / f"{name}.png")
    if size is not None:
        await page.set_viewport_size(size)
