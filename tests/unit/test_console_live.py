"""The live stream: only for someone signed in, and a bounded number of pages per process."""

from services.console.live import Hub
from shared.vocabulary import Role
from tests.support.console_fake import FakeServices, console


def test_the_live_stream_needs_a_sign_in() -> None:
    answer = console(FakeServices()).get("/live")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sign-in"


def test_a_page_beyond_the_limit_is_refused_in_words() -> None:
    client = console(FakeServices(), role=Role.AUDITOR)
    client.app.state.hub = Hub(limit=0)  # type: ignore[attr-defined]
    answer = client.get("/live")
    assert answer.status_code == 503
    assert "too many pages follow live updates" in answer.text


async def test_the_hub_is_crowded_at_its_limit() -> None:
    hub = Hub(limit=1)
    assert not hub.crowded
    async with hub.subscribe():
        assert hub.crowded
    assert not hub.crowded
