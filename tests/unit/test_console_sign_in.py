"""The development sign-in: a person's name and a person's role, or a refusal in words."""

import pytest

from services.console.web import COOKIE, sign_in_problem
from shared.vocabulary import Role
from tests.support.console_fake import FakeServices, console


@pytest.mark.parametrize("name", ["", "   ", "a\x00b", "tab\there"])
def test_a_blank_name_or_one_with_control_characters_is_refused(name: str) -> None:
    assert sign_in_problem(name, Role.AUDITOR, "", "") == "Enter your name: letters, digits and spaces, not blank."


def test_the_integration_role_is_not_for_people() -> None:
    assert "not for people" in sign_in_problem("Sam", Role.INTEGRATION, "", "")


def test_a_person_with_a_name_and_a_role_signs_in() -> None:
    assert sign_in_problem("Sam Jones", Role.OPERATOR, "west-midlands", "") == ""


def test_a_refused_sign_in_sets_no_cookie_and_says_why() -> None:
    answer = console(FakeServices()).post("/sign-in", data={"name": "x\x00", "role": "integration"})
    assert answer.status_code == 422
    assert "Enter your name" in answer.text
    assert COOKIE not in answer.cookies


@pytest.mark.parametrize(
    ("form", "said"),
    [({"name": "", "role": "auditor"}, "Enter your name"), ({"role": "auditor"}, "Enter your name"),
     ({"name": "Sam", "role": "admin"}, "Choose your role"), ({"name": "Sam"}, "Choose your role")],
)  # fmt: skip
def test_an_empty_name_or_an_unknown_role_is_refused_in_words(form: dict[str, str], said: str) -> None:
    answer = console(FakeServices()).post("/sign-in", data=form)
    assert answer.status_code == 422
    assert said in answer.text
    assert COOKIE not in answer.cookies
