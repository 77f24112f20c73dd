"""Jira Service Management against a local server: signed webhooks, JQL polling and
write-back through comments and transitions."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.config import load_config
from gateway.errors import ConfigError
from gateway.tickets import HelpDeskError, Outcome, SignatureError, SourceNotConfiguredError
from gateway.tickets.jira import JiraDesk, jira_signature, verify_jira_signature
from gateway.tickets.settings import JiraSettings
from gateway.tickets.writeback import WriteBack, WriteBackKind
from tests.connector_tables import write_table
from tests.tickets.conftest import Desk, MakeDesk
from tests.tickets.jira_server import JiraServer, issue

TOKEN_ENV = "TICKETS_TEST_JIRA_TOKEN"
SECRET_ENV = "TICKETS_TEST_JIRA_SECRET"
SECRET = "whsec-Jira-42"
TOM = {"emailAddress": "tom@example.com", "displayName": "Tom Becker", "accountId": "5b1"}


@pytest.fixture
def server() -> Iterator[JiraServer]:
    running = JiraServer()
    running.start()
    yield running
    running.stop()


@pytest.fixture
def jira_desk(make_desk: MakeDesk, server: JiraServer, monkeypatch: pytest.MonkeyPatch) -> Desk:
    monkeypatch.setenv(TOKEN_ENV, server.token)
    monkeypatch.setenv(SECRET_ENV, SECRET)
    return make_desk(
        "[tickets.jira]\n"
        f'base_url = "{server.base_url}"\n'
        f'email = "{server.email}"\n'
        f'api_token_env = "{TOKEN_ENV}"\n'
        f'webhook_secret_env = "{SECRET_ENV}"\n'
        "page_size = 2\n"
    )


def _install(key: str, updated: str = "2024-05-01T09:00:00.000+0000") -> dict[str, object]:
    return issue(
        key, updated, "Please install 7-Zip",
        description="I need 7-Zip installed on tom-laptop", reporter=TOM,
        labels=["software"], components=[{"name": "Laptops"}],
    )  # fmt: skip


def _webhook(item: dict[str, object], event: str = "jira:issue_created") -> bytes:
    return json.dumps({"timestamp": 1714554000000, "webhookEvent": event, "issue": item}).encode()


def _signed(body: bytes, delivery: str = "d-1") -> dict[str, str]:
    return {
        "X-Hub-Signature": jira_signature(SECRET, body),
        "X-Atlassian-Webhook-Identifier": delivery,
        "Content-Type": "application/json",
    }


def test_a_signed_webhook_starts_the_workflow_and_the_issue_is_resolved(
    jira_desk: Desk, server: JiraServer
) -> None:
    item = _install("IT-1")
    server.add(item)
    body = _webhook(item)
    result = jira_desk.service.receive_delivery("jira", body, _signed(body))
    again = jira_desk.service.receive_delivery("jira", body, _signed(body))

    assert result.outcome is Outcome.STARTED
    assert again.outcome is Outcome.DUPLICATE
    jira_desk.service.follow_up()
    assert jira_desk.service.flush_outbox().delivered == 3
    comments = server.comments["IT-1"]
    assert comments[0] == {"body": "The gateway is installing 7zip on tom-laptop."}
    assert server.transitioned == [
        ("IT-1", {"transition": {"id": "31"}, "fields": {"resolution": {"name": "Done"}}})
    ]


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "X-Hub-Signature is missing: the webhook is not signed"),
        ({"X-Hub-Signature": "md5=abc"}, "X-Hub-Signature: expected sha256=<hex>"),
        ({"X-Hub-Signature": "sha256=" + "0" * 64},
         "X-Hub-Signature does not match the body and the shared secret"),
    ],
)  # fmt: skip
def test_unsigned_or_badly_signed_webhooks_are_dead_lettered(
    jira_desk: Desk, server: JiraServer, headers: dict[str, str], reason: str
) -> None:
    item = _install("IT-1")
    server.add(item)
    result = jira_desk.service.receive_delivery("jira", _webhook(item), headers)

    assert result.outcome is Outcome.DEAD_LETTER
    assert result.message == reason
    assert jira_desk.executor.recent() == []
    assert SECRET not in json.dumps([r.payload for r in jira_desk.audited("ticket.dead_lettered")])


def test_a_webhook_for_an_issue_jira_does_not_have_is_dead_lettered(jira_desk: Desk) -> None:
    body = _webhook(_install("IT-404"), "jira:issue_updated")
    result = jira_desk.service.receive_delivery("jira", body, _signed(body))

    assert result.outcome is Outcome.DEAD_LETTER
    assert result.message == "issue IT-404 does not exist in Jira"


def test_jira_webhooks_without_a_configured_secret_are_refused_and_not_kept(desk: Desk) -> None:
    body = _webhook(_install("IT-1"))

    with pytest.raises(SourceNotConfiguredError, match="Jira webhooks are not configured"):
        desk.service.receive_delivery("jira", body, _signed(body))

    with desk.service.store.transaction(write=False) as tx:
        assert tx.dead_letters(state=None) == []
    assert desk.audited("ticket.dead_lettered") == []


def test_a_kept_jira_webhook_replayed_once_jira_is_unconfigured_is_refused(
    jira_desk: Desk, make_desk: MakeDesk
) -> None:
    body = _webhook(_install("IT-404"), "jira:issue_updated")
    result = jira_desk.service.receive_delivery("jira", body, _signed(body))
    assert result.dead_letter is not None
    without_jira = make_desk(f"database = {json.dumps(str(jira_desk.config.tickets.database))}\n")

    with pytest.raises(SourceNotConfiguredError, match="Jira webhooks are not configured"):
        without_jira.service.replay_dead_letter(result.dead_letter)


def test_jql_polling_pages_and_moves_the_watermark(jira_desk: Desk, server: JiraServer) -> None:
    server.add(_install("IT-1", "2024-05-01T09:00:00.000+0000"))
    server.add(issue("IT-2", "2024-05-01T09:05:00.000+0000", "Printer", reporter=TOM))
    adf = {"type": "doc", "content": [{"type": "paragraph", "content": [
        {"type": "text", "text": "What is the wifi name?"}]}]}  # fmt: skip
    server.add(issue("IT-3", "2024-05-01T09:07:30.000+0000", "Question", description=adf,
                     reporter=TOM, priority={"name": "High"}))  # fmt: skip
    server.add({"key": "IT-4", "fields": {"summary": "x", "updated": "yesterday"}})
    server.add({"key": "bad key", "fields": {"updated": "2024-05-01T08:00:00.000+0000"}})

    report = jira_desk.service.poll()

    assert report.errors == {}
    outcomes = [r.outcome for r in report.results]
    assert outcomes.count(Outcome.DEAD_LETTER) == 2
    assert outcomes.count(Outcome.STARTED) == 1
    assert report.watermarks["jira"] == "2024-05-01T09:07:30.000+0000"
    assert server.jql[0] == "(project = IT) ORDER BY updated ASC, key ASC"
    again = jira_desk.service.poll()
    # the newest update seen, less the five-minute overlap, in the API user's zone (UTC)
    assert server.jql[-1].startswith('(project = IT) AND updated >= "2024/05/01 09:02"')
    # the two issues inside the overlap are taken once; the unreadable one is kept once
    assert [r.outcome for r in again.results] == [Outcome.DUPLICATE, Outcome.DUPLICATE]
    unreadable = next(r for r in report.results if r.message == "updated: bad time")
    assert unreadable.dead_letter is not None
    replayed = jira_desk.service.replay_dead_letter(unreadable.dead_letter)
    assert replayed.outcome is Outcome.HUMANS


def test_a_resolution_needs_a_transition_the_issue_has(jira_desk: Desk, server: JiraServer) -> None:
    server.add(_install("IT-1"))
    server.transitions = [{"id": "11", "name": "In Progress"}]
    desk = jira_desk.service.desks["jira"]
    item = WriteBack("jira:IT-1", "jira", "IT-1", WriteBackKind.RESOLVE, "done")

    with pytest.raises(HelpDeskError, match="has no transition named Resolve"):
        desk.deliver(item)
    note = WriteBack("jira:IT-1", "jira", "IT-1", WriteBackKind.WORK_NOTE, "for the team")
    desk.deliver(note)
    assert server.comments["IT-1"][-1]["properties"] == [
        {"key": "sd.public.comment", "value": {"internal": True}}
    ]


def test_errors_from_jira_say_what_jira_said(server: JiraServer) -> None:
    settings = JiraSettings(base_url=server.base_url, email=server.email, api_token="nope")
    desk = JiraDesk(settings)
    try:
        with pytest.raises(HelpDeskError, match=r"HTTP 401: You are not authenticated\."):
            desk.fetch("IT-1")
        assert "nope" not in repr(desk)
        with pytest.raises(SignatureError, match="no Jira webhook secret is configured"):
            desk.verify(b"{}", "sha256=00")
    finally:
        desk.close()


def test_the_signature_is_an_hmac_of_the_raw_body() -> None:
    body = b'{"webhookEvent":"jira:issue_created"}'
    verify_jira_signature(
        "s3cret", body, jira_signature("s3cret", body).upper().replace("SHA", "sha")
    )
    with pytest.raises(SignatureError):
        verify_jira_signature("s3cret", body + b" ", jira_signature("s3cret", body))


@pytest.mark.parametrize(
    ("kind", "table", "message"),
    [
        ("jira", {"base_url": "https://x.example", "email": "a", "api_token": "t"},
         "tickets.jira.api_token: Value error, secrets never go in the configuration file"),
        ("jira", {"base_url": "https://x.example", "email": "a"},
         "tickets.jira: Value error, api_token_env: name the environment variable holding"),
        ("servicenow", {"instance_url": "https://x.example", "username": "u",
                        "password_env": "NOPE_UNSET"},
         "tickets.servicenow.password_env: environment variable NOPE_UNSET is not set"),
    ],
)  # fmt: skip
def test_connector_settings_keep_secrets_out_of_the_file(
    kind: str, table: dict[str, str], message: str, tmp_path: Path
) -> None:
    path = write_table(tmp_path, f"tickets.{kind}", table)
    with pytest.raises(ConfigError, match=message):
        getattr(load_config(path).tickets, kind).with_secrets(f"tickets.{kind}")


def test_invalid_connector_settings_name_the_field(tmp_path: Path) -> None:
    table = {"base_url": "ftp://x", "email": "a", "api_token_env": TOKEN_ENV}
    path = write_table(tmp_path, "tickets.jira", table)
    with pytest.raises(ConfigError, match=r":2: invalid configuration: tickets\.jira\.base_url: "):
        load_config(path)


@pytest.fixture
def long_integers() -> Iterator[None]:
    """Let the local server write integers longer than Python reads by default."""
    before = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    yield
    sys.set_int_max_str_digits(before)


def test_a_polled_issue_with_a_long_integer_is_dead_lettered_and_the_round_goes_on(
    jira_desk: Desk, server: JiraServer, long_integers: None
) -> None:
    server.add(issue("IT-1", "2024-05-01T09:00:00.000+0000", "Printer", reporter=TOM))
    bad = issue("IT-2", "2024-05-01T09:05:00.000+0000", "Hello", reporter=TOM)
    bad["fields"]["customfield_10010"] = int("5" * 4400)
    server.add(bad)

    report = jira_desk.service.poll()

    assert report.errors == {}
    assert [r.outcome for r in report.results] == [Outcome.DEAD_LETTER, Outcome.HUMANS]
    assert report.results[0].message == (
        "fields.customfield_10010: an integer of 4400 digits; at most 4300 are read"
    )
    assert report.watermarks["jira"] == "2024-05-01T09:00:00.000+0000"


def test_a_search_answer_nested_too_deeply_stops_the_round_with_a_help_desk_error(
    jira_desk: Desk, server: JiraServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = httpx.Response(200, content=b"[" * 100_000 + b"]" * 100_000)
    monkeypatch.setattr(httpx.Client, "request", lambda *args, **kwargs: deep)

    with pytest.raises(HelpDeskError, match="Jira: answer is not JSON"):
        jira_desk.service.poll()
