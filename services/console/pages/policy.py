"""A force's business-as-usual reserve and national commitment, set by its resource manager."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.console.backend import Refused, path
from services.console.web import Person, ResourceManager, page
from shared.vocabulary import Capability

router = APIRouter()


@router.get("/policy", response_class=HTMLResponse)
async def policy_form(request: Request, me: ResourceManager) -> Response:
    """The force's reserve and national commitment per capability, beside what it has declared and can lend."""
    return await _policy_page(request, me)


async def _policy_page(
    request: Request, me: Person, status_code: int = 200, form: dict[str, str] | None = None, error: str = ""
) -> Response:
    force = me.principal.force or ""
    policy = await me.backend.get("availability", path("/v1/forces", force, "policy"))
    capacity = await me.backend.get("availability", path("/v1/forces", force, "capacity"))
    form = form or {
        f"{kind}_{c.value}": str(policy[field].get(c.value, 0))
        for kind, field in (("reserve", "reserve"), ("commitment", "national_commitment"))
        for c in Capability
    }
    by_capability = {item["capability"]: item for item in capacity["items"]}
    context = {"policy": policy, "capacity": by_capability, "capabilities": list(Capability), "form": form}
    return page(request, "policy.html", me.principal, status_code, error=error, **context)


@router.post("/policy")
async def set_policy(request: Request, me: ResourceManager) -> Response:
    """Set the reserve (units kept at home) and the national commitment, per capability."""
    form = {name: str(value).strip() for name, value in (await request.form()).items()}
    try:
        body = {
            field: {c.value: int(form.get(f"{kind}_{c.value}") or 0) for c in Capability}
            for kind, field in (("reserve", "reserve"), ("commitment", "national_commitment"))
        }
        await me.backend.put("availability", path("/v1/forces", me.principal.force, "policy"), body)
    except ValueError:
        return await _policy_page(request, me, 422, form, "Enter each reserve and commitment as a whole number.")
    except Refused as refused:
        return await _policy_page(request, me, refused.status, form, refused.in_plain_words())
    return RedirectResponse("/policy", status_code=303)
