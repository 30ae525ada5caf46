"""Refusals in words an operator can act on: no bare 'Not Found', no protocol jargon, no field paths."""

import httpx

from services.console.backend import Refused, _detail, field_in_words
from shared.vocabulary import Role
from tests.support.console_fake import FakeServices, console


def test_something_not_found_is_said_plainly_without_the_http_phrase() -> None:
    words = Refused(404, "Not Found").in_plain_words()
    assert words.startswith("It cannot be found")
    assert "Not Found" not in words


def test_a_reused_idempotency_key_is_not_shown_as_jargon() -> None:
    words = Refused(409, "this Idempotency-Key was already used with a different body").in_plain_words()
    assert "Idempotency" not in words
    assert "reload the page" in words


def test_field_paths_become_words() -> None:
    assert field_in_words(["needs", 0, "quantity"]) == "quantity of need 1"
    assert field_in_words(["required_by"]) == "required by"
    error = {"loc": ["body", "needs", 0, "quantity"], "msg": "Input should be greater than 0"}
    assert (
        _detail(httpx.Response(422, json={"errors": [error]})) == "quantity of need 1: Input should be greater than 0"
    )


def test_a_unit_without_an_id_is_refused_before_asking_the_service() -> None:
    services = FakeServices().on("GET", "/v1/units", {"items": []})
    answer = console(services, role=Role.RESOURCE_MANAGER, force="west-midlands").post("/units", data={"unit_id": " "})
    assert answer.status_code == 422
    assert "Enter the unit&#39;s id" in answer.text
    assert [sent.method for sent in services.sent] == ["GET"]
