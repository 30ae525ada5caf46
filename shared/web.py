"""The HTTP frame every service shares: problem+json errors, health, readiness, metrics, correlation ids and
access logs."""

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import correlation, tracing
from shared.errors import Forbidden, MutualAidError
from shared.metrics import HTTP_LATENCY, HTTP_REQUESTS
from shared.vocabulary import PARAMETER_TEXT_PATTERN, describe_input_policy

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://mutualaid.police.uk/problems/"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

OPERATIONAL_PATHS = ("/healthz", "/readyz", "/metrics")  # probes and scrapes: not traced, logged at DEBUG only

access_log = logging.getLogger("mutualaid.access")
ReadinessCheck = Callable[[], Awaitable[dict[str, bool]]]
RefusalHook = Callable[[Request, Forbidden], Awaitable[None]]


def problem(status: int, code: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    """An RFC 9457 problem response."""
    body = {"type": PROBLEM_BASE + code, "title": title, "status": status, "detail": detail, "code": code, **extra}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if "retry_after_s" in extra:
        headers = {"Retry-After": str(extra["retry_after_s"])}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def allowed_methods(request: Request) -> list[str]:
    """The methods some route of the app takes on the request's path, as the router matches them."""
    routes = request.app.router.routes
    return [
        method
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
        if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)
    ]


def install_problem_handlers(app: FastAPI, *, on_refused: RefusalHook | None = None) -> None:
    """Map errors to problem+json; on_refused is told of every 403 first (to audit it)."""

    async def on_domain_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, MutualAidError)
        if on_refused is not None and isinstance(error, Forbidden):
            await on_refused(request, error)
        return problem(error.status, error.code, error.title, error.detail, **error.extra)

    async def on_validation_error(_: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        errors = [{"loc": list(item["loc"]), "msg": item["msg"], "type": item["type"]} for item in error.errors()]
        first = errors[0] if errors else {"loc": [], "msg": "invalid"}
        where = ".".join(str(part) for part in first["loc"])
        return problem(422, "invalid-input", "Invalid input", f"{where}: {first['msg']}", errors=errors)

    async def on_http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        answer = problem(error.status_code, f"http-{error.status_code}", str(error.detail), str(error.detail))
        answer.headers.update(error.headers or {})
        if error.status_code == 405:  # Starlette names the methods of the first route on the path only (RFC 9110: all)
            answer.headers["Allow"] = ", ".join(allowed_methods(request))
        return answer

    async def on_unexpected(_: Request, error: Exception) -> Response:
        # A bug: the access log has the traceback (shared.web.RequestContext); the caller gets no internals.
        detail = "the service failed to answer this request; it is logged, with its X-Correlation-ID if it sent one"
        return problem(500, "internal-error", "Internal error", detail)

    app.add_exception_handler(MutualAidError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)


def install_operational_routes(app: FastAPI, *, service: str, readiness: ReadinessCheck) -> None:
    """/healthz (the process answers), /readyz (database and broker answer) and /metrics."""

    @app.get("/healthz", tags=["operations"], summary="Liveness")
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok", "service": service}

    @app.get("/readyz", tags=["operations"], summary="Readiness", responses={503: {"description": "Not ready"}})
    async def readyz() -> Response:
        """Ready when the database answers, the broker answered the relay lately and the consumers hold partitions."""
        checks = await readiness()
        ready = all(checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(Measure, service=service)


class Measure:
    """ASGI middleware: counts each answer by route and status and observes its duration (seconds)."""

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noting_status)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            HTTP_REQUESTS.labels(self.service, scope["method"], path, str(status)).inc()
            HTTP_LATENCY.labels(self.service, scope["method"], path).observe(time.perf_counter() - started)


def install_observability(app: FastAPI) -> None:
    """Every request goes by a correlation id and is logged once answered; a server span when tracing is on.
    Install it after the app's other middleware, so that it wraps them."""
    app.add_middleware(RequestContext)
    tracing.instrument(app, untraced=OPERATIONAL_PATHS)


class RequestContext:
    """ASGI middleware: the request's correlation id (shared.correlation.from_headers) is set while it is
    handled, so its log lines and the events it causes carry it, and is echoed in the X-Correlation-ID
    response header; one access log line once it is answered (ERROR with the traceback when it failed)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        correlation_id = correlation.from_headers(headers.get(correlation.HEADER), headers.get("traceparent"))
        started, status = time.perf_counter(), 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append(correlation.HEADER, correlation_id)
            await send(message)

        with correlation.correlated(correlation_id):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception:
                _log_answered(scope, 500, started, failed=True)
                raise
            _log_answered(scope, status, started)


def _log_answered(scope: Scope, status: int, started: float, *, failed: bool = False) -> None:
    """`POST /v1/requests 201 8.3 ms`, with the method, route, status and duration (ms) as fields: INFO, WARNING
    for a 5xx answer, ERROR for an exception, DEBUG for probes and scrapes (a 503 from /readyz is an answer)."""
    path = scope["path"]
    if failed:
        level = logging.ERROR
    elif path in OPERATIONAL_PATHS:
        level = logging.DEBUG
    else:
        level = logging.WARNING if status >= 500 else logging.INFO
    if not access_log.isEnabledFor(level):
        return
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    route = getattr(scope.get("route"), "path", None)
    fields = {"http_method": scope["method"], "http_route": route, "http_status": status, "duration_ms": duration_ms}
    access_log.log(level, "%s %s %d %.1f ms", scope["method"], path, status, duration_ms, extra=fields, exc_info=failed)


class Problem(BaseModel):
    """An RFC 9457 problem: every error answer of the API, as application/problem+json."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=[PROBLEM_BASE + "not-found"])
    title: str
    status: int
    detail: str = Field(description="What was wrong, for a person")
    code: str = Field(description="Stable code for a program: invalid-input, not-found, conflict, ...")
    errors: list[dict[str, Any]] | None = Field(None, description="422: each invalid input, where (loc) and why")


PROBLEM_TITLES = {
    400: "Unknown query parameter or unreadable request",
    401: "No valid bearer token",
    403: "Outside your role or scope",
    404: "Not found",
    409: "Conflict with the current state",
    410: "No longer kept",
    412: "Precondition failed",
    413: "Request body too large",
    422: "Invalid input",
    429: "Too many writes; see Retry-After",
    500: "Internal error",
    503: "Token keys or a dependency unreachable; try again",
}


def problems_of(route: APIRoute) -> list[int]:
    """The problem statuses a /v1 route can answer: the common ones (503 when the token keys cannot be fetched),
    404 with a path parameter, 413 and 429 for a write, and whatever else its decorator's `responses` declares
    (409, 410, 412)."""
    statuses = {400, 401, 403, 422, 500, 503}
    if route.param_convertors:
        statuses.add(404)
    if (route.methods or set()) & WRITE_METHODS:
        statuses |= {413, 429}
    statuses |= {int(status) for status in route.responses if str(status).isdigit() and int(status) >= 400}
    return sorted(statuses)


def document_problems(app: FastAPI, routers: list[APIRouter]) -> None:
    """The app's OpenAPI lists, for each /v1 route, every problem status it can answer with a Problem schema in
    application/problem+json (FastAPI alone lists only 422 as application/json), and the input policy's patterns
    on its parameters (the bodies' models carry theirs: shared.vocabulary.Input)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            for route in (route for router in routers for route in router.routes):
                if isinstance(route, APIRoute) and route.include_in_schema and route.path.startswith("/v1/"):
                    for method in route.methods or ():
                        _document(schema["paths"][route.path_format][method.lower()], problems_of(route))
            for unused in ("HTTPValidationError", "ValidationError"):
                schemas.pop(unused, None)
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional parameter's schema without FastAPI's `null` alternative (`str | None`): a query or header has no
    null, and a client told it may send one would send the text "null"."""
    kinds: list[dict[str, Any]] = schema.get("anyOf", [])
    rest = [kind for kind in kinds if kind != {"type": "null"}]
    if len(rest) != 1 or len(rest) == len(kinds):
        return schema
    outer = {key: value for key, value in schema.items() if key != "anyOf"}
    return rest[0] | outer


def _document(operation: dict[str, Any], statuses: list[int]) -> None:
    for parameter in operation.get("parameters", ()):
        parameter["schema"] = _not_null(parameter["schema"])  # a parameter left out is absent, never null
        if parameter["in"] in ("path", "query"):  # what shared.edge reads for control characters
            describe_input_policy(parameter["schema"], text_pattern=PARAMETER_TEXT_PATTERN)
    responses = operation.setdefault("responses", {})
    for status in statuses:
        declared = responses.get(str(status), {})
        answer: dict[str, Any] = {
            "description": declared.get("description") if status not in (422, 500) else PROBLEM_TITLES[status],
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        answer["description"] = answer["description"] or PROBLEM_TITLES[status]
        if status == 401:
            answer["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}}
        if status == 429:
            answer["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait"}}
        responses[str(status)] = answer
