"""What every HTTP request meets before a route, on every service: control characters refused, bodies bounded,
unknown query parameters refused, writes rate-limited per principal, security headers, CORS closed by default.

README, "Input and limits", states the policy and its settings.
"""

import math
import re
import time
from typing import Annotated

from fastapi import Depends, FastAPI, Request, params
from fastapi.dependencies.models import Dependant
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth import Principal, authenticated
from shared.errors import BadRequest, TooManyRequests
from shared.settings import CommonSettings
from shared.web import WRITE_METHODS, problem

REFUSED_TEXT = (
    "NUL and other control characters (but tab, line feed and carriage return in a body's text) and unpaired "
    "surrogates are not accepted in any input"
)
_RAW_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\xc2[\x80-\x9f]")  # C0 (but \t \n \r), DEL, C1
_PERCENT_CONTROL = re.compile(rb"%(?:[01][0-9a-fA-F]|7[fF])|%[cC]2%[89][0-9a-fA-F]")  # in a path or query: all of C0
_JSON_ESCAPE = re.compile(rb"(\\+)(?:u([0-9a-fA-F]{4})|[bf])")  # \b and \f are JSON's short escapes of 08 and 0C
_TEXT_WHITESPACE = (0x09, 0x0A, 0x0D)


def install_edge(app: FastAPI, *, settings: CommonSettings) -> None:
    """Install the guards and headers (before the observability middleware, which must wrap them)."""
    app.add_middleware(SecurityHeaders)
    app.add_middleware(GuardInput, max_body_bytes=settings.max_body_bytes)
    origins = settings.cors_origins()
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "PUT"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "If-Match", "If-None-Match"],
            expose_headers=["ETag", "Location", "X-Correlation-ID", "Idempotent-Replayed", "Retry-After"],
            max_age=600,
        )


def route_guards(settings: CommonSettings) -> list[params.Depends]:
    """The dependencies every /v1 router is included with: unknown query parameters (400), then the write limit."""
    return [Depends(refuse_unknown_query), Depends(WriteLimiter(settings.write_rate_limit))]


def refused_in_body(body: bytes) -> bool:
    """Whether a body holds a control character (raw or as a JSON escape) or an unpaired surrogate escape."""
    if _RAW_CONTROL.search(body):
        return True
    if b"\\" not in body:
        return False
    high_end = -1  # where an escaped high surrogate waiting for its low half ends
    for match in _JSON_ESCAPE.finditer(body):
        if len(match.group(1)) % 2 == 0:
            continue  # an escaped backslash followed by the letter u: text, not an escape
        if match.group(2) is None:
            return True  # \b or \f
        code = int(match.group(2), 16)
        adjacent = len(match.group(1)) == 1 and match.start() == high_end
        if high_end >= 0 and not (adjacent and 0xDC00 <= code <= 0xDFFF):
            return True
        if high_end >= 0:
            high_end = -1
            continue
        if 0xD800 <= code <= 0xDBFF:
            high_end = match.end()
        elif 0xDC00 <= code <= 0xDFFF or (code < 0x20 and code not in _TEXT_WHITESPACE) or 0x7F <= code <= 0x9F:
            return True
    return high_end >= 0


def refused_in_target(raw_path: bytes, query: bytes) -> bool:
    """Whether a path or query holds any control character, raw or percent-encoded."""
    target = raw_path + b"?" + query
    return bool(_RAW_CONTROL.search(target) or b"\t" in target or _PERCENT_CONTROL.search(target))


class GuardInput:
    """ASGI middleware: refuses a body longer than max_body_bytes (413), and control characters or unpaired
    surrogates in the path, query or body (422), before any route reads them. PostgreSQL cannot store NUL or a lone
    surrogate in text, so one would otherwise fail deep in a handler (500) or in another service consuming it.
    The body of a write is read here in full (at most max_body_bytes) and handed on to the app as it came."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if refused_in_target(bytes(scope.get("raw_path") or b""), bytes(scope.get("query_string") or b"")):
            await problem(422, "invalid-input", "Invalid input", REFUSED_TEXT)(scope, receive, send)
            return
        messages: list[Message] = []
        if scope["method"] in WRITE_METHODS:
            declared = Headers(scope=scope).get("content-length", "0")
            size = int(declared) if declared.isdigit() else 0
            more = size <= self.max_body_bytes
            while more:
                messages.append(await receive())
                size = sum(len(message.get("body", b"")) for message in messages)
                more = messages[-1]["type"] == "http.request" and messages[-1].get("more_body", False)
                more = more and size <= self.max_body_bytes
            if size > self.max_body_bytes:
                detail = f"a request body may hold at most {self.max_body_bytes} bytes"
                await problem(413, "too-large", "Request body too large", detail)(scope, receive, send)
                return
        if refused_in_body(b"".join(message.get("body", b"") for message in messages)):
            await problem(422, "invalid-input", "Invalid input", REFUSED_TEXT)(scope, receive, send)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


DOCS_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc")
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}
API_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_CSP = "frame-ancestors 'none'"  # the interactive docs load their scripts and styles from a CDN


class SecurityHeaders:
    """ASGI middleware: every answer says not to sniff its type, frame it, send a referrer or keep it in a cache
    (an answer that sets its own Cache-Control keeps it); an API answer may load nothing (CSP)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = DOCS_CSP if scope["path"] in DOCS_PATHS else API_CSP

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in (*HEADERS.items(), ("Content-Security-Policy", csp)):
                    if name not in headers:
                        headers.append(name, value)
            await send(message)

        await self.app(scope, receive, with_headers)


async def refuse_unknown_query(request: Request) -> None:
    """FastAPI dependency: a query parameter the route does not take is refused (400), not silently ignored
    (a misspelt filter would otherwise answer everything), and so is one given twice."""
    if not request.scope.get("query_string"):
        return
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    known = _query_names(route.dependant)  # a walk of a few dependencies, only when there is a query
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        takes = ", ".join(sorted(known)) or "none"
        raise BadRequest(f"unknown query parameter {', '.join(unknown)}; this route takes: {takes}")
    names = [name for name, _ in request.query_params.multi_items()]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:  # every parameter takes one value: the last of several would be used silently
        raise BadRequest(f"query parameter {', '.join(repeated)} given more than once; give each once")


def _query_names(dependant: Dependant) -> set[str]:
    names = {field.alias for field in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


class WriteLimiter:
    """FastAPI dependency: at most `rates` writes (POST, PUT, PATCH, DELETE) per principal, in moving windows
    ("100/second;3000/minute", the `limits` notation; empty: no limit). 429 with Retry-After beyond.

    Counted in this process's memory: each replica counts on its own, so N replicas admit up to N times the rate."""

    def __init__(self, rates: str) -> None:
        self.items: list[RateLimitItem] = parse_many(rates) if rates.strip() else []
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def __hash__(self) -> int:  # FastAPI caches dependencies by their callable
        return id(self)

    async def __call__(self, request: Request, principal: Annotated[Principal, Depends(authenticated)]) -> None:
        if request.method not in WRITE_METHODS:
            return
        for item in self.items:
            if not self.limiter.hit(item, "writes", principal.sub):
                reset_at, _ = self.limiter.get_window_stats(item, "writes", principal.sub)
                retry_after = max(1, math.ceil(reset_at - time.time()))
                raise TooManyRequests(
                    f"at most {item} writes per caller; try again in {retry_after} s", retry_after_s=retry_after
                )
