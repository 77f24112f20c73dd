"""The Slack Web API calls, against the local stand-in (see ``slack_server``)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from pydantic import SecretStr

from gateway.chat.slack_api import SlackApiError, SlackWebApi
from tests.chat.slack_server import TOKEN, SlackStandIn, SlackUserRecord, running_slack


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with running_slack() as stand_in:
        stand_in.users["U1"] = SlackUserRecord("U1", "tom@example.com")
        stand_in.users["U2"] = SlackUserRecord("U2", "sam@example.com", confirmed=False)
        stand_in.users["U3"] = SlackUserRecord("U3", "gone@example.com", deleted=True)
        stand_in.users["U4"] = SlackUserRecord("U4", None)
        yield stand_in


@pytest.fixture
def api(slack: SlackStandIn) -> Iterator[SlackWebApi]:
    made = SlackWebApi(slack.api_url, SecretStr(TOKEN), timeout=5)
    yield made
    made.close()


def test_users_info_gives_a_confirmed_email_only(api: SlackWebApi) -> None:
    assert api.user("U1").email == "tom@example.com"
    assert api.user("U2").email is None
    assert api.user("U3").email is None
    assert api.user("U4").email is None


def test_an_unknown_user_is_an_error_without_the_token(api: SlackWebApi) -> None:
    with pytest.raises(SlackApiError, match="user_not_found") as caught:
        api.user("U9")
    assert TOKEN not in str(caught.value)


def test_a_wrong_token_is_refused(slack: SlackStandIn) -> None:
    wrong = SlackWebApi(slack.api_url, SecretStr("xoxb-wrong"), timeout=5)
    with SlackWebApiClosing(wrong) as api, pytest.raises(SlackApiError, match="invalid_auth"):
        api.update("C1", "1.2", "text", [])


def test_no_token_means_no_call(slack: SlackStandIn) -> None:
    with SlackWebApiClosing(SlackWebApi(slack.api_url, None, timeout=5)) as api:
        with pytest.raises(SlackApiError, match="no bot token"):
            api.user("U1")
        with pytest.raises(SlackApiError, match="no bot token"):
            api.open_view("1.2.3", {})
    assert slack.requests == []


def test_updates_and_views_reach_slack(api: SlackWebApi, slack: SlackStandIn) -> None:
    api.update("C1", "1.2", "done", [{"type": "divider"}])
    api.open_view("7.8.9", {"type": "modal"})
    assert slack.updates[0]["text"] == "done"
    assert slack.views == [{"type": "modal"}]
    with pytest.raises(SlackApiError, match="expired_trigger_id"):
        api.open_view("7.8.9", {"type": "modal"})


def test_a_response_url_goes_to_slack_hosts_only_and_without_the_token(
    api: SlackWebApi, slack: SlackStandIn
) -> None:
    api.respond(slack.response_url("x"), {"text": "hi"})
    with pytest.raises(SlackApiError, match="not a Slack host"):
        api.respond("https://attacker.example/collect", {"text": "hi"})
    assert slack.responses == [("/actions/T0001/x/xyzResponseSecret", {"text": "hi"})]


def test_answers_that_are_not_slack_answers_are_errors() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("users.info"):
            return httpx.Response(200, text="<html>")
        if request.url.path.endswith("chat.update"):
            return httpx.Response(200, json={"ok": True, "user": "not an object"})
        return httpx.Response(404, text="gone")

    transport = httpx.MockTransport(answer)
    with SlackWebApiClosing(
        SlackWebApi("https://slack.example/api", SecretStr(TOKEN), timeout=5, transport=transport)
    ) as api:
        with pytest.raises(SlackApiError, match="not a JSON object"):
            api.user("U1")
        with pytest.raises(SlackApiError, match="HTTP 404"):
            api.respond("https://slack.example/actions/1", {})
        api.update("C1", "1", "t", [])


def test_users_info_without_a_user_is_an_error() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"ok": True}))
    with (
        SlackWebApiClosing(
            SlackWebApi(
                "https://slack.example/api", SecretStr(TOKEN), timeout=5, transport=transport
            )
        ) as api,
        pytest.raises(SlackApiError, match="has no user"),
    ):
        api.user("U1")


class SlackWebApiClosing:
    def __init__(self, api: SlackWebApi) -> None:
        self.api = api

    def __enter__(self) -> SlackWebApi:
        return self.api

    def __exit__(self, *exc: object) -> None:
        self.api.close()
