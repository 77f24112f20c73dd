"""Mapping a chat user to exactly one active directory person."""

from __future__ import annotations

import pytest

from gateway.chat.errors import ChatRefusedError
from gateway.chat.people import PersonMap
from gateway.chat.slack_api import SlackApiError
from gateway.config import EMBEDDED_DIRECTORY
from gateway.identity.static import StaticDirectory


@pytest.fixture
def directory() -> StaticDirectory:
    return StaticDirectory.load(EMBEDDED_DIRECTORY)


def test_the_configured_mapping_comes_first(directory: StaticDirectory) -> None:
    people = PersonMap("Slack", directory, {"U1": "priya"}, lambda user: "tom@example.com")
    assert people.person("U1") == "priya"


def test_a_confirmed_email_maps_and_is_remembered(directory: StaticDirectory) -> None:
    asked: list[str] = []

    def email_of(user: str) -> str | None:
        asked.append(user)
        return "TOM@example.com"

    clock = [0.0]
    people = PersonMap("Slack", directory, {}, email_of, ttl=10, monotonic=lambda: clock[0])
    assert people.person("U2") == "tom"
    assert people.person("U2") == "tom"
    clock[0] = 11
    assert people.person("U2") == "tom"
    assert asked == ["U2", "U2"]


@pytest.mark.parametrize(
    ("email_of", "why"),
    [
        (None, "is not mapped to a directory person"),
        (lambda user: None, "has no confirmed e-mail address"),
        (lambda user: "nobody@example.org", "matches 0 active directory people"),
    ],
    ids=["no lookup configured", "no confirmed e-mail", "an e-mail of nobody"],
)
def test_an_unmapped_user_is_refused(
    directory: StaticDirectory, email_of: object, why: str
) -> None:
    people = PersonMap("Slack", directory, {}, email_of)  # type: ignore[arg-type]
    with pytest.raises(ChatRefusedError, match=why) as caught:
        people.person("U3")
    assert (caught.value.reason, caught.value.status) == ("unmapped_user", 403)


def test_a_lookup_that_fails_is_refused_as_unavailable(directory: StaticDirectory) -> None:
    def failing(user: str) -> str | None:
        raise SlackApiError("Slack users.info: ratelimited")

    with pytest.raises(ChatRefusedError, match="cannot be looked up") as caught:
        PersonMap("Slack", directory, {}, failing).person("U4")
    assert caught.value.status == 503
