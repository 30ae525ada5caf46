"""How the console calls the services: ids are URL-encoded, an answer it cannot read is said in words, and
each call carries the page request's correlation id."""

from services.console.backend import path
from shared.vocabulary import Role
from tests.support.console_fake import FakeServices, console


def test_every_segment_of_a_service_path_is_url_encoded() -> None:
    assert path("/v1/requests", "?limit=1") == "/v1/requests/%3Flimit%3D1"
    assert path("/v1/proposals", "a/../b", "explanation") == "/v1/proposals/a%2F..%2Fb/explanation"


def test_an_id_with_a_question_mark_stays_in_the_path_and_is_not_found_in_words() -> None:
    services = FakeServices()
    client = console(services, role=Role.AUDITOR)
    answer = client.get("/requests/%3Flimit=1")
    assert answer.status_code == 404
    assert "<p" in answer.text
    assert services.sent[0].url.raw_path == b"/v1/requests/%3Flimit%3D1"


def test_an_answer_of_an_unexpected_shape_is_a_page_in_words() -> None:
    services = FakeServices().on("GET", "/v1/requests/r-1", {"items": []})
    services.on("GET", "/v1/proposals", {"items": []})
    answer = console(services, role=Role.AUDITOR).get("/requests/r-1")
    assert answer.status_code == 502
    assert "a service gave an answer the console cannot show" in answer.text


def test_an_answer_that_is_not_json_is_a_page_in_words() -> None:
    services = FakeServices().on("GET", "/v1/requests/r-1", "<html>proxy error</html>")
    services.on("GET", "/v1/proposals", {"items": []})
    answer = console(services, role=Role.AUDITOR).get("/requests/r-1")
    assert answer.status_code == 502
    assert "the requests service gave an answer the console cannot read" in answer.text


def test_the_services_are_called_with_the_correlation_id_of_the_page_request() -> None:
    services = FakeServices().on("GET", "/v1/requests/r-1", {"items": []})
    services.on("GET", "/v1/proposals", {"items": []})
    answer = console(services, role=Role.AUDITOR).get("/requests/r-1", headers={"X-Correlation-ID": "page-7"})
    assert answer.headers["X-Correlation-ID"] == "page-7"
    assert services.sent
    assert {call.headers["X-Correlation-ID"] for call in services.sent} == {"page-7"}
