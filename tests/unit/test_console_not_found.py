"""Addresses the console does not have, and methods it does not take, answered in plain words."""

from shared.vocabulary import Role
from tests.support.console_fake import FakeServices, console


def test_an_unknown_address_is_a_page_in_words() -> None:
    answer = console(FakeServices(), role=Role.OPERATOR, force="west-midlands").get("/no-such-page")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "There is no such page in the console" in answer.text


def test_a_wrong_method_is_a_page_in_words_even_before_signing_in() -> None:
    answer = console(FakeServices()).get("/proposals/p-1/decide")
    assert answer.status_code == 405
    assert answer.headers["content-type"].startswith("text/html")
    assert "cannot be used that way" in answer.text
    assert "POST" in answer.headers["allow"]
