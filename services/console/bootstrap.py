"""Composition root of the web console: pages, static files, the services' client and live updates."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2.exceptions import UndefinedError
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.console import web
from services.console.backend import Refused
from services.console.config import ConsoleSettings
from services.console.live import Hub, follow_events
from services.console.pages import audit, duty_import, national, policy, proposals, requests, units
from shared.auth import TokenVerifier
from shared.web import install_observability

Settings = ConsoleSettings
log = logging.getLogger(__name__)
HTTP_WORDS = {
    400: "The console could not read what was sent (a form too large, or not a form): go back and try again.",
    404: "There is no such page in the console. Check the address, or start again from the menu.",
    405: "This page cannot be used that way (it takes a form, not an address): start again from the menu.",
}


def create_app(settings: ConsoleSettings | None = None) -> FastAPI:
    """The console app; it keeps no state of its own and reads everything from the services."""
    settings = settings or ConsoleSettings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Idle connections are dropped before the services' uvicorn closes them (its keep-alive is 5 s, as
        # httpx's default): reusing one the server is closing that moment fails with RemoteProtocolError.
        limits = httpx.Limits(keepalive_expiry=2.0)
        async with httpx.AsyncClient(timeout=10.0, limits=limits) as http:
            app.state.http = http
            following = asyncio.create_task(follow_events(settings, app.state.hub))
            try:
                yield
            finally:
                following.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await following

    app = FastAPI(title="Mutual aid console", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.tokens = TokenVerifier.from_settings(settings)
    app.state.hub = Hub(limit=settings.live_limit)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    for router in (
        web.router,
        requests.router,
        proposals.router,
        units.router,
        policy.router,
        duty_import.router,
        audit.router,
        national.router,
    ):
        app.include_router(router)

    @app.get("/healthz", include_in_schema=False)
    @app.get("/readyz", include_in_schema=False)
    async def alive() -> Response:
        return JSONResponse({"status": "ok"})

    @app.exception_handler(web.SignInNeeded)
    async def sign_in_needed(request: Request, error: web.SignInNeeded) -> Response:
        return web.to_sign_in()

    @app.exception_handler(RequestValidationError)
    async def unreadable_form(request: Request, error: RequestValidationError) -> Response:
        """A form or address the console cannot read (a field missing or of the wrong kind): words, not JSON."""
        fields = ", ".join(sorted({str(e["loc"][-1]) for e in error.errors() if e.get("loc")}))
        refusal = Refused(422, f"check {fields}" if fields else "")
        return await refused(request, refusal)

    @app.exception_handler(StarletteHTTPException)
    async def not_here(request: Request, error: StarletteHTTPException) -> Response:
        """An address the console does not have, a method it does not take, a form too large: words, not JSON."""
        me = await web.signed_in(request)
        words = HTTP_WORDS.get(error.status_code, "The console cannot do this")
        response = web.page(request, "message.html", me.principal if me else None, error.status_code, message=words)
        response.headers.update(error.headers or {})
        return response

    @app.exception_handler(UndefinedError)
    @app.exception_handler(LookupError)
    @app.exception_handler(TypeError)
    async def unexpected_answer(request: Request, error: Exception) -> Response:
        """A service answered in a shape the console does not know (a field missing, a list for an object)."""
        log.exception("a service's answer could not be shown", exc_info=error)
        return await refused(request, Refused(502, "a service gave an answer the console cannot show; try again"))

    @app.exception_handler(Refused)
    async def refused(request: Request, error: Refused) -> Response:
        me = await web.signed_in(request)
        if error.status == 401 or me is None:
            return web.to_sign_in()
        return web.page(request, "message.html", me.principal, error.status, message=error.in_plain_words())

    install_observability(app)
    return app
