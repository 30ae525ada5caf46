"""The console app against fake services (httpx MockTransport): its pages and forms without I/O."""

from typing import Any

import httpx
from fastapi.testclient import TestClient

from services.console.bootstrap import create_app
from services.console.config import ConsoleSettings
from services.console.web import COOKIE
from shared.auth import issue_token
from shared.vocabulary import Role


class FakeServices:
    """Answers the console's calls by (method, path); records every call it was sent."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Any] = {}
        self.sent: list[httpx.Request] = []

    def on(self, method: str, path: str, body: Any, status: int = 200) -> "FakeServices":
        self.routes[(method, path)] = (status, body)
        return self

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        status, body = self.routes.get((request.method, request.url.raw_path.decode().split("?")[0]), (404, {}))
        return httpx.Response(status, text=body) if isinstance(body, str) else httpx.Response(status, json=body)


def console(
    services: FakeServices, *, role: Role | None = None, force: str | None = None, region: str | None = None
) -> TestClient:
    """A client of the console (signed in as `role` when given), its services answered by `services`."""
    settings = ConsoleSettings()
    app = create_app(settings)
    app.state.http = httpx.AsyncClient(transport=httpx.MockTransport(services))
    client = TestClient(app, follow_redirects=False)
    if role is not None:
        secret = settings.jwt_secret.get_secret_value()
        client.cookies.set(COOKIE, issue_token(secret, sub="tester", role=role, force=force, region=region))
    return client
