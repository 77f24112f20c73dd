"""Jira Cloud and Jira Data Center as each documents its REST API: the edition's own search
and paging, watermarks in the API user's time zone, reporters known only by accountId,
descriptions in Atlassian Document Format and Service Management request types."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from gateway.config import load_config
from gateway.errors import ConfigError
from gateway.tickets import HelpDeskError, Outcome
from gateway.tickets.jira import JiraDesk, jira_signature
from gateway.tickets.settings import JiraSettings
from gateway.tickets.writeback import WriteBack, WriteBackKind
from tests.connector_tables import write_table
from tests.tickets.conftest import Desk, MakeDesk
from tests.tickets.jira_server import JiraServer, adf, issue

TOKEN_ENV = "TICKETS_TEST_JIRA_EDITION_TOKEN"
SECRET_ENV = "TICKETS_TEST_JIRA_EDITION_SECRET"
SECRET = "whsec-Jira-7"
TOM_DC = {"name": "tom", "emailAddress": "tom@example.com", "displayName": "Tom Becker"}
INSTALL = "I need 7-Zip installed on tom-laptop"

Servers = Callable[..., JiraServer]
Desks = Callable[..., Desk]


@pytest.fixture
def servers() -> Iterator[Servers]:
    started: list[JiraServer] = []

    def start(**options: object) -> JiraServer:
        server = JiraServer(**options)  # type: ignore[arg-type]
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def desk_for(make_desk: MakeDesk, monkeypatch: pytest.MonkeyPatch) -> Desks:
    monkeypatch.setenv(TOKEN_ENV, "jira-Token-1")
    monkeypatch.setenv(SECRET_ENV, SECRET)

    def make(server: JiraServer, extra: str = "", **options: object) -> Desk:
        return make_desk(
            "[tickets.jira]\n"
            f'base_url = "{server.base_url}"\n'
            f'email = "{server.email}"\n'
            f'api_token_env = "{TOKEN_ENV}"\n'
            f'webhook_secret_env = "{SECRET_ENV}"\n' + extra,
            **options,
        )

    return make


def _install(key: str, updated: str, reporter: dict[str, str]) -> dict[str, object]:
    return issue(key, updated, "Please install 7-Zip", description=INSTALL, reporter=reporter)


def _started(desk: Desk) -> list[str]:
    return [execution.ticket or "" for execution in desk.executor.recent()]


# -- search and paging -------------------------------------------------------------------


def test_cloud_polling_uses_the_enhanced_search_with_page_tokens_and_explicit_fields(
    servers: Servers, desk_for: Desks
) -> None:
    server = servers(edition="cloud")
    tom = server.add_user("5b1", "Tom Becker", "tom@example.com")
    for number in range(1, 6):
        server.add(issue(f"IT-{number}", f"2024-05-01T09:0{number}:00.000+0000", "Hello",
                         reporter=tom))  # fmt: skip
    desk = desk_for(server, "page_size = 2\n")

    report = desk.service.poll()

    assert report.errors == {}
    assert [r.ticket for r in report.results] == [f"jira:IT-{n}" for n in range(1, 6)]
    assert report.watermarks["jira"] == "2024-05-01T09:05:00.000+0000"
    assert "GET /rest/api/2/search" not in server.calls
    assert server.calls.count("POST /rest/api/3/search/jql") == 3
    assert server.calls.count("GET /rest/api/2/serverInfo") == 1
    first, second, third = server.searches
    assert first["fields"][:3] == ["summary", "description", "reporter"]
    assert first["maxResults"] == 2
    assert "nextPageToken" not in first
    assert "startAt" not in first
    assert second["nextPageToken"]
    assert third["nextPageToken"] != second["nextPageToken"]


def test_data_center_polling_pages_by_start_at_until_the_total(
    servers: Servers, desk_for: Desks
) -> None:
    server = servers(edition="datacenter")
    for number in range(1, 6):
        server.add(issue(f"IT-{number}", f"2024-05-01T09:0{number}:00.000+0000", "Hello",
                         reporter=TOM_DC))  # fmt: skip
    desk = desk_for(server, 'edition = "datacenter"\npage_size = 2\n')

    report = desk.service.poll()

    assert len(report.results) == 5
    assert [s["startAt"] for s in server.searches] == ["0", "2", "4"]
    assert server.searches[0]["fields"].startswith("summary,description,reporter")
    assert "GET /rest/api/2/serverInfo" not in server.calls  # configured, not detected


def test_the_removed_search_on_cloud_is_an_error_naming_the_edition_setting(
    servers: Servers, desk_for: Desks
) -> None:
    server = servers(edition="cloud")
    server.add(issue("IT-1", "2024-05-01T09:00:00.000+0000", "Hello"))
    desk = desk_for(server, 'edition = "datacenter"\n')

    with pytest.raises(HelpDeskError) as raised:
        desk.service.poll()

    assert str(raised.value) == (
        "Jira GET /rest/api/2/search: HTTP 410 Gone: Jira Cloud removed this search; set "
        '[tickets.jira] edition to "cloud" or "auto"'
    )
    assert desk.executor.recent() == []
    with desk.service.store.transaction(write=False) as tx:
        assert tx.watermark("jira") is None
        assert tx.dead_letters(state=None) == []


def test_data_center_asked_for_the_cloud_search_says_which_edition_to_set(
    servers: Servers, desk_for: Desks
) -> None:
    server = servers(edition="datacenter")
    desk = desk_for(server, 'edition = "cloud"\n')

    with pytest.raises(HelpDeskError, match=r'HTTP 404: .*edition to "datacenter" or "auto"'):
        desk.service.poll()


@pytest.mark.parametrize(
    ("edition", "message"),
    [
        ("server", "tickets.jira.edition: Input should be 'cloud', 'datacenter' or 'auto'"),
        ("", "tickets.jira.edition: Input should be 'cloud', 'datacenter' or 'auto'"),
    ],
)
def test_an_unknown_edition_is_a_configuration_error_naming_the_field(
    edition: str, message: str, tmp_path: Path
) -> None:
    table = {"base_url": "https://x.example", "email": "a", "api_token_env": TOKEN_ENV,
             "edition": edition}  # fmt: skip
    path = write_table(tmp_path, "tickets.jira", table)

    with pytest.raises(ConfigError, match=f":5: invalid configuration: {message}"):
        load_config(path)


def test_an_unbounded_jql_is_refused_in_the_configuration(tmp_path: Path) -> None:
    table = {"base_url": "https://x.example", "email": "a", "api_token_env": TOKEN_ENV, "jql": ""}
    path = write_table(tmp_path, "tickets.jira", table)

    with pytest.raises(ConfigError, match=r":5: invalid configuration: tickets\.jira\.jql: String"):
        load_config(path)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"deploymentType": "Mainframe"}, "serverInfo has deploymentType 'Mainframe'"),
        ({"version": "9.0"}, "serverInfo has no deploymentType"),
        (["Cloud"], "serverInfo has no deploymentType"),
    ],
)
def test_an_edition_that_cannot_be_detected_is_not_guessed(
    servers: Servers, desk_for: Desks, answer: object, message: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    server = servers(edition="cloud")
    original = server.handle

    def handle(method: str, path: str, *args: object) -> object:
        if path == "/rest/api/2/serverInfo":
            return 200, answer
        return original(method, path, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(server, "handle", handle)
    desk = desk_for(server)

    with pytest.raises(HelpDeskError, match=message) as raised:
        desk.service.poll()
    assert 'set [tickets.jira] edition to "cloud" or "datacenter"' in str(raised.value)


# -- time zones, overlap and dedupe ----------------------------------------------------


def test_a_watermark_is_written_in_the_time_zone_of_the_api_user(
    servers: Servers, desk_for: Desks
) -> None:
    server = servers(edition="cloud", time_zone="America/Los_Angeles")
    tom = server.add_user("5b1", "Tom Becker", "tom@example.com")
    server.add(issue("IT-1", "2024-05-01T23:10:00.000-0700", "Printer", reporter=tom))
    desk = desk_for(server)
    first = desk.service.poll()
    assert first.watermarks["jira"] == "2024-05-01T23:10:00.000-0700"
    # Jira answers in its own offset; 23:30 in Los Angeles is 06:30 UTC the next day.
    server.add(issue("IT-2", "2024-05-02T06:30:00.000+0000", "Printer", reporter=tom))
    # Indexed late (eventual consistency): updated before the watermark, inside the overlap.
    server.add(issue("IT-3", "2024-05-01T23:07:00.000-0700", "Printer", reporter=tom))

    second = desk.service.poll()

    assert server.jql[-1] == (
        '(project = IT) AND updated >= "2024/05/01 23:05" ORDER BY updated ASC, key ASC'
    )
    outcomes = {r.ticket: r.outcome for r in second.results}
    assert outcomes == {
        "jira:IT-3": Outcome.HUMANS, "jira:IT-1": Outcome.DUPLICATE, "jira:IT-2": Outcome.HUMANS,
    }  # fmt: skip
    assert second.watermarks["jira"] == "2024-05-02T06:30:00.000+0000"
    third = desk.service.poll()
    assert server.jql[-1].startswith('(project = IT) AND updated >= "2024/05/01 23:25"')
    assert {r.outcome for r in third.results} == {Outcome.DUPLICATE}


@pytest.mark.parametrize(
    ("zone", "message"),
    [
        ("", "Jira: myself has no timeZone; JQL dates cannot be placed"),
        ("Mars/Olympus_Mons", "Jira: the API user's time zone 'Mars/Olympus_Mons' is unknown"),
    ],
)
def test_a_watermark_is_not_placed_without_a_known_time_zone(
    servers: Servers, desk_for: Desks, zone: str, message: str
) -> None:
    server = servers(edition="datacenter", time_zone="UTC")
    server.add(issue("IT-1", "2024-05-01T09:00:00.000+0000", "Hello", reporter=TOM_DC))
    desk = desk_for(server)
    desk.service.poll()
    server.time_zone = zone

    with pytest.raises(HelpDeskError, match=message):
        desk.service.poll()
    with desk.service.store.transaction(write=False) as tx:
        assert tx.watermark("jira") == "2024-05-01T09:00:00.000+0000"


# -- reporters, descriptions, request types ----------------------------------------------


def test_a_reporter_known_only_by_account_id_is_found_through_the_user_api(
    servers: Servers, desk_for: Desks
) -> None:
    server = servers(edition="cloud")
    tom = server.add_user("5b1", "Tom Becker", "tom@example.com")
    server.add(_install("IT-1", "2024-05-01T09:00:00.000+0000", tom))
    server.add(issue("IT-2", "2024-05-01T09:01:00.000+0000", "Printer", reporter=tom))
    desk = desk_for(server)

    report = desk.service.poll()

    assert [r.outcome for r in report.results] == [Outcome.STARTED, Outcome.HUMANS]
    started = report.results[0]
    assert started.decision is not None
    assert started.decision.actor == "tom"
    assert started.decision.parameters == {"title": "7zip", "device": "tom-laptop"}
    assert server.calls.count("GET /rest/api/3/user") == 1  # asked once per person


@pytest.mark.parametrize(
    ("known", "reason"),
    [
        (True, "Jira shows no email address for accountId 5b2 (the person's privacy settings "
               "hide it), so no directory person can be matched"),
        (False, "Jira has no user with accountId 5b2"),
    ],
)  # fmt: skip
def test_a_reporter_jira_cannot_name_is_left_to_people_with_the_reason(
    servers: Servers, desk_for: Desks, known: bool, reason: str
) -> None:
    server = servers(edition="cloud")
    hidden = server.add_user("5b2", "Tom Becker", None)
    if not known:
        server.users.clear()
    server.add(_install("IT-1", "2024-05-01T09:00:00.000+0000", hidden))
    desk = desk_for(server)

    report = desk.service.poll()

    (result,) = report.results
    assert result.outcome is Outcome.HUMANS
    assert result.message == f"Left for a person: the requester could not be verified: {reason}."
    assert desk.executor.recent() == []
    (routed,) = desk.audited("ticket.routed")
    assert routed.payload["workflow"] is None
    assert f"the requester could not be verified: {reason}" in routed.payload["explanation"]


def test_a_signed_cloud_webhook_reads_the_issue_from_rest_v3_and_its_document_as_text(
    servers: Servers, desk_for: Desks
) -> None:
    server = servers(edition="cloud")
    tom = server.add_user("5b1", "Tom Becker", "tom@example.com")
    item = _install("IT-1", "2024-05-01T09:00:00.000+0000", tom)
    server.add(item)
    desk = desk_for(server)
    body = json.dumps(
        {
            "webhookEvent": "jira:issue_created",
            "issue": {"key": "IT-1", "fields": {"summary": "Please install 7-Zip", "updated": "x"}},
        }
    ).encode()
    headers = {"X-Hub-Signature": jira_signature(SECRET, body),
               "X-Atlassian-Webhook-Identifier": "d-1"}  # fmt: skip

    result = desk.service.receive_delivery("jira", body, headers)

    assert "GET /rest/api/3/issue/IT-1" in server.calls
    assert result.outcome is Outcome.STARTED
    assert result.decision is not None
    assert result.decision.scope["ticket"]["description"] == INSTALL


def _request_type_trigger(folder: Path) -> Path:
    folder.mkdir()
    (folder / "reset-by-request-type.yaml").write_text(
        "id: reset-by-request-type\n"
        "title: Password resets asked for through the portal\n"
        "min_confidence: 0.6\n"
        "target: requester\n"
        "signals:\n"
        "  - {field: request_type, equals: [Reset password], weight: 0.9}\n"
        "routes:\n"
        "  - id: to-identity\n"
        "    humans:\n"
        "      queue: identity-team\n"
        "      note: 'Asked for through the portal as {{ ticket.fields.request_type }}.'\n",
        encoding="utf-8",
    )
    return folder


@pytest.mark.parametrize("edition", ["cloud", "datacenter"])
def test_the_service_management_request_type_routes_the_ticket(
    servers: Servers, desk_for: Desks, tmp_path: Path, edition: str
) -> None:
    server = servers(edition=edition)
    reporter = server.add_user("5b1", "Tom Becker", "tom@example.com") if edition == "cloud" \
        else TOM_DC  # fmt: skip
    server.add(issue("IT-7", "2024-05-01T09:00:00.000+0000", "Help", reporter=reporter))
    server.add(issue("IT-8", "2024-05-01T09:01:00.000+0000", "Help", reporter=reporter))
    server.request_types["IT-7"] = "Reset password"
    desk = desk_for(server, triggers=_request_type_trigger(tmp_path / "triggers"))

    report = desk.service.poll()

    seven, eight = report.results
    assert seven.decision is not None
    assert eight.decision is not None
    assert seven.decision.trigger == "reset-by-request-type"
    assert seven.decision.queue == "identity-team"
    assert seven.decision.note == "Asked for through the portal as Reset password."
    assert seven.decision.scope["ticket"]["fields"]["request_type_id"] == "10"
    assert eight.decision.trigger is None  # not a customer request: no request type


def test_request_types_are_not_read_when_switched_off(servers: Servers, desk_for: Desks) -> None:
    server = servers(edition="datacenter")
    server.add(issue("IT-7", "2024-05-01T09:00:00.000+0000", "Help", reporter=TOM_DC))
    server.request_types["IT-7"] = "Reset password"
    desk = desk_for(server, "request_types = false\n")

    desk.service.poll()

    assert not any("servicedeskapi" in call for call in server.calls)


# -- pages and answers with missing fields ---------------------------------------------


@pytest.mark.parametrize(
    ("edition", "page", "message"),
    [
        ("cloud", {"isLast": True}, "Jira: search answer has no issues list"),
        ("cloud", {"issues": [], "isLast": False}, None),
        ("cloud", {"issues": [{"id": "1", "key": "IT-1"}], "isLast": False},
         "Jira: search page is not the last but has no nextPageToken"),
        ("datacenter", {"issues": []}, "Jira: search answer has no total"),
        ("datacenter", {"issues": [], "total": True}, "Jira: search answer has no total"),
    ],
)  # fmt: skip
def test_a_search_page_missing_what_its_edition_documents_stops_the_round(
    servers: Servers, desk_for: Desks, edition: str, page: dict[str, object],
    message: str | None,
) -> None:  # fmt: skip
    server = servers(edition=edition)
    server.pages.append(page)
    desk = desk_for(server)

    if message is None:
        assert desk.service.poll().results == []
        return
    with pytest.raises(HelpDeskError, match=message):
        desk.service.poll()
    assert desk.executor.recent() == []
    with desk.service.store.transaction(write=False) as tx:
        assert tx.dead_letters(state=None) == []


def test_issues_missing_fields_are_dead_lettered_and_the_round_goes_on(
    servers: Servers, desk_for: Desks
) -> None:
    server = servers(edition="cloud")
    tom = server.add_user("5b1", "Tom Becker", "tom@example.com")
    server.add(issue("IT-1", "2024-05-01T09:00:00.000+0000", "Printer", reporter=tom))
    server.add(issue("IT-2", "2024-05-01T09:01:00.000+0000", "Help", reporter=tom))
    server.request_types["IT-2"] = ""  # an answer without requestType.name
    bare = {"id": "10009", "key": "IT-9", "self": "https://example.atlassian.net/x"}
    server.pages.append({"issues": [bare], "nextPageToken": "MA==", "isLast": False})

    report = desk_for(server).service.poll()

    assert [(r.outcome, r.message) for r in report.results] == [
        (Outcome.DEAD_LETTER, "fields: Field required"),
        (Outcome.DEAD_LETTER,
         "request_type: the Service Management request IT-2 has no requestType.name"),
        (Outcome.HUMANS, report.results[2].message),
    ]  # fmt: skip
    assert report.results[0].dead_letter is not None
    assert report.watermarks["jira"] == "2024-05-01T09:00:00.000+0000"


# -- write-back ------------------------------------------------------------------------------

INTERNAL = [{"key": "sd.public.comment", "value": {"internal": True}}]


@pytest.mark.parametrize(
    ("edition", "version"),
    [("cloud", "3"), ("datacenter", "2")],
    ids=["cloud writes back through REST v3 in ADF", "data center writes back through REST v2"],
)
def test_write_back_uses_the_rest_version_and_comment_format_of_the_edition(
    servers: Servers, edition: str, version: str
) -> None:
    server = servers(edition=edition)
    server.add(issue("IT-1", "2024-05-01T09:00:00.000+0000", "Please install 7-Zip"))
    settings = JiraSettings(
        base_url=server.base_url, email=server.email, api_token=server.token, edition=edition
    )
    texts = ["Installing 7-Zip on tom-laptop.\n\nIt takes a minute.", "For the team.", "Done."]
    kinds = [WriteBackKind.COMMENT, WriteBackKind.WORK_NOTE, WriteBackKind.RESOLVE]
    desk = JiraDesk(settings)
    try:
        for kind, text in zip(kinds, texts, strict=True):
            desk.deliver(WriteBack("jira:IT-1", "jira", "IT-1", kind, text))
    finally:
        desk.close()

    bodies = [adf(text) if edition == "cloud" else text for text in texts]
    assert server.comments["IT-1"] == [
        {"body": bodies[0]},
        {"body": bodies[1], "properties": INTERNAL},
        {"body": bodies[2]},
    ]
    assert server.transitioned == [
        ("IT-1", {"transition": {"id": "31"}, "fields": {"resolution": {"name": "Done"}}})
    ]
    issue_path = f"/rest/api/{version}/issue/IT-1"
    assert [call for call in server.calls if "/issue/" in call] == [
        f"POST {issue_path}/comment",
        f"POST {issue_path}/comment",
        f"GET {issue_path}/transitions",
        f"POST {issue_path}/comment",
        f"POST {issue_path}/transitions",
    ]


# -- read after write ------------------------------------------------------------------------


def test_issues_written_to_are_reconciled_in_the_next_cloud_search(
    servers: Servers, desk_for: Desks
) -> None:
    server = servers(edition="cloud")
    tom = server.add_user("5b1", "Tom Becker", "tom@example.com")
    server.add(_install("IT-1", "2024-05-01T09:00:00.000+0000", tom))
    desk = desk_for(server)
    desk.service.poll()
    desk.service.follow_up()
    assert desk.service.flush_outbox().delivered >= 1

    desk.service.poll()
    desk.service.poll()

    assert "reconcileIssues" not in server.searches[0]
    assert server.searches[1]["reconcileIssues"] == [10001]
    assert "reconcileIssues" not in server.searches[2]
    assert server.comments["IT-1"][0] == {
        "body": adf("The gateway is installing 7zip on tom-laptop.")
    }


def test_the_cloud_desk_keeps_its_caches_bounded(
    servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = servers(edition="cloud")
    for number in (1, 2):
        person = server.add_user(f"5b{number}", "Someone", f"p{number}@example.com")
        server.add(issue(f"IT-{number}", "2024-05-01T09:00:00.000+0000", "x", reporter=person))
    monkeypatch.setattr("gateway.tickets.jira.MAX_KNOWN_IDS", 1)
    monkeypatch.setattr("gateway.tickets.jira_people.MAX_PEOPLE", 1)
    settings = JiraSettings(base_url=server.base_url, email=server.email, api_token=server.token)
    desk = JiraDesk(settings)
    try:
        tickets = [desk.fetch(f"IT-{n}") for n in (1, 2, 1)]
    finally:
        desk.close()

    assert [t.requester_email for t in tickets] == [
        "p1@example.com", "p2@example.com", "p1@example.com",
    ]  # fmt: skip
    assert server.calls.count("GET /rest/api/3/user") == 3


# -- odd answers, one at a time --------------------------------------------------------


def _desk(reply: Callable[[httpx.Request], httpx.Response], **settings: object) -> JiraDesk:
    values = {"base_url": "https://x.example", "email": "e", "api_token": "t", "edition": "cloud"}
    return JiraDesk(
        JiraSettings.model_validate(values | settings), transport=httpx.MockTransport(reply)
    )


def _page(*issues: dict[str, object], **extra: object) -> httpx.Response:
    return httpx.Response(200, json={"issues": list(issues), **extra})


def test_a_cloud_page_without_is_last_or_a_token_is_the_last() -> None:
    item = issue("IT-1", "2024-05-01T09:00:00.000+0000", "Hello")
    del item["id"]  # an issue without its numeric id is read, but cannot be reconciled
    asked: list[str] = []

    def reply(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        if request.url.path.startswith("/rest/servicedeskapi/"):
            return httpx.Response(200, json={"issueKey": "IT-1", "requestType": {"name": "IT"}})
        return _page(item)

    desk = _desk(reply)
    try:
        batch = desk.changes(None)
        desk.deliver(WriteBack("jira:IT-1", "jira", "IT-1", WriteBackKind.COMMENT, "hello"))
    finally:
        desk.close()

    (event,) = batch.events
    assert event.ticket.fields["request_type"] == "IT"
    assert "request_type_id" not in event.ticket.fields
    assert event.ticket.requester_unverified == ""  # no reporter: nothing to look up
    assert asked.count("/rest/api/3/search/jql") == 1


def test_a_cloud_round_stops_at_max_records() -> None:
    found = [issue(f"IT-{n}", "2024-05-01T09:00:00.000+0000", "x") for n in (1, 2)]

    def reply(request: httpx.Request) -> httpx.Response:
        return _page(*found, nextPageToken="next", isLast=False)

    desk = _desk(reply, max_records=2, request_types=False)
    try:
        assert len(desk.changes(None).events) == 2
    finally:
        desk.close()


def test_unreadable_issues_are_kept_once_within_a_bounded_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bad = [{"key": f"IT-{n}", "fields": {"summary": "x"}} for n in (1, 2)]
    monkeypatch.setattr("gateway.tickets.jira.MAX_KNOWN_IDS", 1)
    desk = _desk(lambda request: _page(*bad, isLast=True), request_types=False)
    try:
        rounds = [desk.changes(None) for _ in range(3)]
    finally:
        desk.close()

    assert [len(batch.rejected) for batch in rounds] == [2, 2, 2]  # the memory was full
    assert rounds[0].rejected[0].reason == "fields.updated: Field required"


def test_a_dead_lettered_issue_replayed_after_the_fix_is_read_again_from_jira(
    servers: Servers, desk_for: Desks
) -> None:
    server = servers(edition="cloud")
    tom = server.add_user("5b1", "Tom Becker", "tom@example.com")
    server.add(_install("IT-1", "2024-05-01T09:00:00.000+0000", tom))
    server.request_types["IT-1"] = ""  # Service Management answers without the name
    desk = desk_for(server)
    (letter,) = desk.service.poll().results
    assert letter.outcome is Outcome.DEAD_LETTER
    assert letter.dead_letter is not None
    server.request_types["IT-1"] = "Request new software"

    replayed = desk.service.replay_dead_letter(letter.dead_letter)

    assert replayed.outcome is Outcome.STARTED
    assert replayed.decision is not None
    assert replayed.decision.actor == "tom"  # the reporter looked up again by accountId
    assert replayed.decision.scope["ticket"]["fields"]["request_type"] == "Request new software"
    assert replayed.decision.scope["ticket"]["description"] == INSTALL
