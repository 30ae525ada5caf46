"""An operator, two coordinators and the live picture, in a real browser against the real system."""

from datetime import datetime, timedelta

import httpx
import pytest
from playwright.async_api import Browser, expect

from mutualaid.runner import Stack
from shared.auth import Role
from tests.support.browser import UK, accessible, screenshot, signed_in, uk_local
from tests.support.builders import bearer

pytestmark = pytest.mark.e2e


async def test_an_operator_raises_a_request_and_coordinators_decide_it_live(console: Stack, browser: Browser) -> None:
    coordinator = await signed_in(browser, console, "coordinator", region="West Midlands")
    await expect(coordinator.get_by_role("heading", name="Proposals to decide in West Midlands")).to_be_visible()
    await accessible(coordinator)

    operator = await signed_in(browser, console, "operator", force="west-midlands")
    await expect(operator.get_by_role("heading", name="Raise a request")).to_be_visible()
    await accessible(operator)
    start = datetime.now(UK) + timedelta(hours=6)
    await operator.get_by_label("Operation").fill("Op Browser")
    await operator.get_by_label("Capability").select_option("PSU")
    await operator.get_by_label("How many").fill("2")
    await operator.get_by_label("Needed by (UK time)").fill(uk_local(start))
    await operator.get_by_label("Until (UK time)").fill(uk_local(start + timedelta(days=1)))
    await operator.get_by_role("button", name="Raise request").dblclick()  # a double click makes one request
    await expect(operator.get_by_role("heading", name="Op Browser")).to_be_visible()
    request_url = operator.url
    await operator.go_back()  # the browser restores the typed form: sending it again is the same request
    await operator.get_by_role("button", name="Raise request").click()
    await expect(operator.get_by_role("heading", name="Op Browser")).to_be_visible()
    assert operator.url == request_url

    # The coordinator's queue shows the proposal without a reload (server-sent events).
    link = coordinator.get_by_role("link", name="Op Browser")
    await expect(link).to_be_visible(timeout=20_000)
    await link.click()
    await expect(coordinator.get_by_role("heading", name="Why these units")).to_be_visible()
    await expect(coordinator.get_by_role("table", name="Chosen", exact=True)).to_be_visible()
    await accessible(coordinator)
    await screenshot(coordinator, "proposal")
    colleague = await signed_in(browser, console, "national_coordinator")  # has the same proposal open
    await colleague.goto(coordinator.url)
    await expect(colleague.get_by_role("button", name="Approve ticked units")).to_be_visible()
    boxes = coordinator.get_by_role("checkbox")
    await expect(boxes).to_have_count(2)
    await boxes.nth(1).uncheck()  # approve part: one unit only
    await coordinator.get_by_role("button", name="Approve ticked units").click()
    await expect(coordinator.get_by_role("heading", name="Op Browser")).to_be_visible()
    # The colleague's page, never reloaded, no longer offers to decide what is decided.
    await expect(colleague.locator("#why-not")).to_be_visible(timeout=20_000)
    await expect(colleague.get_by_role("button", name="Approve ticked units")).to_have_count(0)

    # A keyboard user on the operator's page keeps the focus while the live region changes around it.
    first_proposal = operator.locator("#request-detail a[href^='/proposals/']").first
    await expect(first_proposal).to_be_visible(timeout=20_000)
    focused_href = await first_proposal.get_attribute("href")
    await first_proposal.focus()
    await expect(operator.locator("#request-detail")).to_have_attribute("aria-live", "polite")

    # What the left-out unit would have covered is planned again; the coordinator approves the new proposal.
    await coordinator.goto(f"{console.url('console')}/proposals")
    await expect(link).to_be_visible(timeout=20_000)
    await link.click()
    await coordinator.get_by_role("button", name="Approve ticked units").click()

    # The operator's page, never reloaded, shows the request MOBILISED.
    assert operator.url == request_url
    await expect(operator.locator("#status")).to_have_text("MOBILISED", timeout=20_000)
    focused = await operator.evaluate("document.activeElement.getAttribute('href')")
    assert focused == focused_href  # the live updates kept the focus where the operator left it
    await accessible(operator)
    await screenshot(operator, "request")
    async with httpx.AsyncClient() as client:
        listed = await client.get(
            f"{console.url('requests')}/v1/requests", headers=bearer(Role.AUDITOR), params={"force": "west-midlands"}
        )
    assert [r["operation"] for r in listed.json()["items"]] == ["Op Browser"]  # the double click and Back made one


async def test_a_national_proposal_and_a_refused_request_are_explained_in_plain_words(
    console: Stack, browser: Browser
) -> None:
    async with httpx.AsyncClient() as client:
        unit = {
            "force": "greater-manchester",
            "capability": "MOUNTED",
            "base": {"lat": 53.48, "lon": -2.24},
            "readiness_minutes": 30,
            "available_from": (datetime.now(UK) - timedelta(days=1)).isoformat(),
            "available_until": (datetime.now(UK) + timedelta(days=30)).isoformat(),
        }
        declared = await client.put(
            f"{console.url('availability')}/v1/units/gmp-mounted-1", json=unit, headers=bearer(Role.INTEGRATION)
        )
        assert declared.status_code in (200, 201), declared.text
    operator = await signed_in(browser, console, "operator", force="west-midlands")
    start = datetime.now(UK) + timedelta(hours=8)
    await operator.get_by_label("Operation").fill("Op Horses")
    await operator.get_by_label("Capability").select_option("MOUNTED")
    await operator.get_by_label("Needed by (UK time)").fill(uk_local(start))
    await operator.get_by_label("Until (UK time)").fill(uk_local(start + timedelta(hours=12)))
    await operator.get_by_role("button", name="Raise request").click()
    await expect(operator.get_by_role("link", name="NATIONAL proposal, 1 unit(s)")).to_be_visible(timeout=20_000)
    await operator.get_by_role("link", name="NATIONAL proposal, 1 unit(s)").click()
    proposal_url = operator.url

    coordinator = await signed_in(browser, console, "coordinator", region="West Midlands")
    await coordinator.goto(proposal_url)
    await expect(coordinator.locator("#why-not")).to_contain_text("only a national coordinator")
    await expect(coordinator.get_by_role("button", name="Approve ticked units")).to_have_count(0)
    await accessible(coordinator)

    # A request whose period has ended is refused, in words, and what was typed is kept.
    await operator.goto(f"{console.url('console')}/requests")
    past = datetime.now(UK) - timedelta(days=3)
    await operator.get_by_label("Operation").fill("Op Too Late")
    await operator.get_by_label("Needed by (UK time)").fill(uk_local(past))
    await operator.get_by_label("Until (UK time)").fill(uk_local(past + timedelta(hours=2)))
    await operator.get_by_role("button", name="Raise request").click()
    alert = operator.get_by_role("alert")
    await expect(alert).to_contain_text("cannot be accepted")
    await expect(alert).to_contain_text("ended")
    await expect(operator.get_by_label("Operation")).to_have_value("Op Too Late")  # what was typed is kept
    await accessible(operator)
