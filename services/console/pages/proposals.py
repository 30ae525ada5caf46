"""Proposals: coordinators work through the pending ones in their scope and decide them."""

import asyncio
import unicodedata
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.console.backend import Refused, path
from services.console.web import COORDINATORS, Coordinator, Me, Person, page
from shared.auth import Principal
from shared.vocabulary import Role

router = APIRouter()


@router.get("/proposals", response_class=HTMLResponse)
async def queue(request: Request, me: Coordinator) -> Response:
    """Coordinators: the pending proposals in their scope (a regional coordinator's own region; national: all)."""
    principal, backend = me.principal, me.backend
    pending = (await backend.get("tasking", "/v1/proposals", status="PENDING"))["items"]
    asked = await asyncio.gather(*(backend.get("requests", path("/v1/requests", p["request_id"])) for p in pending))
    rows = [
        {"proposal": proposal, "request": req}
        for proposal, req in zip(pending, asked, strict=True)
        if principal.role != Role.COORDINATOR or req["requesting_region"] == principal.region
    ]
    return page(request, "queue.html", principal, rows=rows)


@router.get("/proposals/{proposal_id}", response_class=HTMLResponse)
async def proposal_detail(request: Request, proposal_id: str, me: Me) -> Response:
    """A proposal: its units, arrival times, lateness, what is unfilled, the planner's explanation, and the
    decision form (or, when the coordinator may not decide it, why)."""
    return await _proposal_page(request, proposal_id, me)


async def _proposal_page(
    request: Request, proposal_id: str, me: Person, error: str = "", status_code: int = 200
) -> Response:
    proposal = await me.backend.get("tasking", path("/v1/proposals", proposal_id))
    detail, explanation = await asyncio.gather(
        me.backend.get("requests", path("/v1/requests", proposal["request_id"])),
        me.backend.get("tasking", path("/v1/proposals", proposal_id, "explanation")),
    )
    return page(
        request,
        "proposal.html",
        me.principal,
        status_code,
        proposal=proposal,
        detail=detail,
        explanation=explanation,
        why_not=why_not_decide(me.principal, proposal, detail),
        error=error,
    )


def why_not_decide(principal: Principal, proposal: dict[str, Any], detail: dict[str, Any]) -> str:
    """Why this person may not decide the proposal, in words; empty when they may (tasking still decides)."""
    if principal.role not in COORDINATORS:
        return "Only regional and national coordinators decide proposals."
    if proposal["status"] != "PENDING":
        return f"This proposal is {proposal['status']}: only a pending proposal can be decided."
    if principal.role == Role.COORDINATOR and proposal["tier"] == "NATIONAL":
        return (
            "This is a NATIONAL proposal: it draws on units from every region, so only a national coordinator"
            " (NPoCC) can approve or reject it."
        )
    if principal.role == Role.COORDINATOR and detail["requesting_region"] != principal.region:
        return f"This request is from the {detail['requesting_region']} region, not yours."
    return ""


@router.post("/proposals/{proposal_id}/decide")
async def decide(
    request: Request,
    proposal_id: str,
    me: Me,
    verb: Annotated[str, Form(pattern="^(approve|approve_all|reject)$")],
    reason: Annotated[str, Form()] = "",
    unit_ids: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Approve the ticked units (or, by its own button, all of them) or reject the ticked units with a reason."""
    proposal = await me.backend.get("tasking", path("/v1/proposals", proposal_id))
    try:
        body = decision(verb, reason, unit_ids, proposal)
        await me.backend.post("tasking", path("/v1/proposals", proposal_id, verb.removesuffix("_all")), body)
    except Refused as refused:
        return await _proposal_page(request, proposal_id, me, refused.in_plain_words(), refused.status)
    return RedirectResponse(f"/requests/{proposal['request_id']}", status_code=303)


def decision(verb: str, reason: str, unit_ids: list[str] | None, proposal: dict[str, Any]) -> dict[str, Any]:
    """The approve or reject body for what the coordinator ticked and typed; Refused (422) in words when a
    ticked decision has no unit ticked, or a rejection no reason. Only `approve_all` approves every unit."""
    if verb == "reject" and not unit_ids:
        raise Refused(422, "tick the units you reject (all of them to reject the whole proposal)")
    if verb != "approve_all" and not unit_ids:
        raise Refused(422, "tick at least one unit (or approve all of them with its own button)")
    said = visible(reason)
    if verb == "reject" and not said:
        raise Refused(422, "say why you reject the proposal: the reason is required")
    body: dict[str, Any] = {"reason": said}
    every = [a["unit_id"] for a in proposal["allocations"] if a["unit_id"] not in proposal["passed_over"]]
    if verb != "approve_all" and sorted(unit_ids or []) != sorted(every):
        body["unit_ids"] = unit_ids
    return body


def visible(text: str) -> str:
    """The text without surrounding spaces, and empty when nothing in it would show (only spaces, zero-width
    or other format characters)."""
    shown = text.strip()
    return shown if any(unicodedata.category(ch)[0] not in "ZC" for ch in shown) else ""
