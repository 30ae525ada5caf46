"""The three services' HTTP APIs, called with the signed-in person's token: the services stay the only
authority, and the console shows their refusals in plain words."""

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from services.console.config import ConsoleSettings
from shared import correlation

PLAIN_WORDS = {
    401: "Your sign-in has expired or is not valid: sign in again.",
    403: "You are not allowed to do this",
    404: "It cannot be found: the address may be mistyped, or it does not exist (any more)",
    409: "Someone else acted first, or it has moved on",
    412: "It changed since you opened it: reload and try again",
    422: "Some of what you entered cannot be accepted",
}


def path(base: str, *segments: object) -> str:
    """A service path: `base` (written in the code) then each segment URL-encoded, so an id can never add a
    query, a fragment or another path segment."""
    return "/".join([base, *(quote(str(segment), safe="") for segment in segments)])


REWORDED = {
    "Not Found": "",
    "this Idempotency-Key was already used with a different body": (
        "this form was already sent with other details: reload the page to raise a new request"
    ),
}


class Refused(Exception):
    """A service said no: its status and its reason, in words a person can act on."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail

    def in_plain_words(self) -> str:
        lead = PLAIN_WORDS.get(self.status, "The service could not do this")
        detail = REWORDED.get(self.detail, self.detail)
        return f"{lead}: {detail}" if detail and self.status != 401 else lead


def _detail(response: httpx.Response) -> str:
    """The problem+json detail (or the validation errors, one per field) of a refusal."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors:
        return "; ".join(f"{field_in_words(e.get('loc', [])[1:])}: {e.get('msg', '')}" for e in errors)
    return str(body.get("detail") or body.get("title") or "") if isinstance(body, dict) else ""


@dataclass
class Backend:
    """One person's view of the services: every call carries their bearer token."""

    settings: ConsoleSettings
    client: httpx.AsyncClient
    token: str

    async def call(self, service: str, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON the service answered; raises Refused for any 4xx or 5xx answer. The call carries the
        correlation id of the page request that made it, so the services' logs of it share that id."""
        base = getattr(self.settings, f"{service}_url")
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        if correlation_id := correlation.current():
            headers[correlation.HEADER] = correlation_id
        try:
            response = await self.client.request(method, f"{base}{path}", headers=headers, **kwargs)
        except httpx.HTTPError as error:
            raise Refused(503, f"the {service} service cannot be reached ({type(error).__name__})") from error
        if response.status_code >= 400:
            raise Refused(response.status_code, _detail(response))
        try:
            return response.json()
        except ValueError as error:
            raise Refused(502, f"the {service} service gave an answer the console cannot read") from error

    async def get(self, service: str, path: str, **params: Any) -> Any:
        return await self.call(service, "GET", path, params={k: v for k, v in params.items() if v is not None})

    async def post(self, service: str, path: str, body: dict[str, Any], **headers: str) -> Any:
        return await self.call(service, "POST", path, json=body, headers=headers)

    async def put(self, service: str, path: str, body: dict[str, Any], **headers: str) -> Any:
        return await self.call(service, "PUT", path, json=body, headers=headers)


def field_in_words(loc: list[int | str]) -> str:
    """A validation error's field path in words: needs.0.quantity is 'quantity of need 1'."""
    words = [str(part).replace("_", " ") for part in loc if not isinstance(part, int)]
    items = [
        f"{str(loc[at - 1]).replace('_', ' ').removesuffix('s')} {part + 1}"
        for at, part in enumerate(loc)
        if isinstance(part, int) and at > 0
    ]
    if not words:
        return "the form"
    return " of ".join([words[-1], *reversed(items)]) if items and len(words) > 1 else " ".join(words)
