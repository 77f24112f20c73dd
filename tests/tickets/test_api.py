"""The ticket webhooks of the HTTP API: API keys for ServiceNow and the generic webhook,
Jira's own signature for Jira; dead letters and outages as problem details."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gateway.api import DEFAULT_ROUTERS
from gateway.api.routes import tickets as ticket_routes
from gateway.app import open_runtime, open_ticket_service
from gateway.callers import scopes
from gateway.errors import DirectoryUnavailableError
from gateway.runtime.executor import Executor
from gateway.tickets import TicketService
from gateway.tickets.errors import TicketEventError
from gateway.tickets.jira import jira_signature
from gateway.tickets.store import DeadLetter
from tests.api.conftest import Api, build_api
from tests.tickets.conftest import REPO, TRIGGERS, generic
from tests.tickets.servicenow_server import ServiceNowServer, incident

SECRET_ENV = "TICKETS_API_JIRA_SECRET"
SECRET = "whsec-api-7"


JIRA = "\n".join(
    [
        "[tickets.jira]",
        'base_url = "http://127.0.0.1:9"',
        'email = "svc@example.com"',
        'api_token_env = "TICKETS_API_JIRA_TOKEN"',
        f'webhook_secret_env = "{SECRET_ENV}"',
        "max_retries = 0",
    ]
)
MakeApi = Callable[..., Api]


@pytest.fixture
def make_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MakeApi]:
    monkeypatch.setitem(scopes.SCOPES, ticket_routes.TICKETS_WRITE, "deliver ticket events")
    monkeypatch.setenv(SECRET_ENV, SECRET)
    monkeypatch.setenv("TICKETS_API_JIRA_TOKEN", "t")
    made: list[tuple[Api, Executor, TicketService]] = []

    def make(*, tickets: str = "", jira: str = JIRA) -> Api:
        extra = "\n".join(
            [
                "[runtime]",
                f"workflows = {json.dumps(str(REPO / 'automations' / 'workflows'))}",
                "[tickets]",
                f"triggers = {json.dumps(str(TRIGGERS))}",
                tickets,
                jira,
            ]
        )
        folder = tmp_path / f"api-{len(made)}"
        folder.mkdir()
        api = build_api(folder, extra, routers=[*DEFAULT_ROUTERS, ticket_routes.router])
        executor = open_runtime(api.config, api.gateway)
        service = open_ticket_service(api.config, api.gateway, executor)
        api.services.tickets = service  # type: ignore[attr-defined]
        made.append((api, executor, service))
        return api

    yield make
    for api, executor, service in made:
        service.close()
        executor.close()
        api.close()


@pytest.fixture
def api(make_api: MakeApi) -> Api:
    return make_api()


def _service(api: Api) -> TicketService:
    service: TicketService = api.services.tickets  # type: ignore[attr-defined]
    return service


def test_a_generic_event_with_an_api_key_starts_the_workflow(api: Api) -> None:
    headers = api.as_service(ticket_routes.TICKETS_WRITE)
    body = generic(1, "tom@example.com", "Install 7-Zip", "I need 7-Zip installed on tom-laptop")
    answer = api.client.post("/v1/tickets/generic", content=body, headers=headers)
    again = api.client.post("/v1/tickets/generic", content=body, headers=headers)

    assert answer.status_code == 202
    assert answer.json()["outcome"] == "started"
    assert answer.json()["execution_state"] == "succeeded"
    assert answer.json()["decision"]["workflow"] == "software-install"
    assert again.json()["outcome"] == "duplicate"


def test_the_webhooks_with_api_keys_need_the_scope(api: Api) -> None:
    body = generic(1, "tom@example.com", "Hi")
    no_key = api.client.post("/v1/tickets/servicenow", content=body)
    no_scope = api.client.post("/v1/tickets/servicenow", content=body, headers=api.as_service())

    assert no_key.status_code == 401
    assert no_scope.status_code == 403


def test_a_malformed_event_is_a_problem_naming_the_dead_letter(api: Api) -> None:
    headers = api.as_service(ticket_routes.TICKETS_WRITE)
    answer = api.client.post("/v1/tickets/servicenow", content=b'{"record": {}}', headers=headers)

    assert answer.status_code == 422
    assert answer.json()["type"] == "urn:it-support-gateway:problem:event-refused"
    assert answer.json()["detail"].endswith("; kept as dead letter 1")


def test_jira_webhooks_authenticate_by_their_signature(api: Api) -> None:
    body = json.dumps({"webhookEvent": "jira:issue_created", "issue": {"key": "IT-1"}}).encode()
    unsigned = api.client.post("/v1/tickets/jira", content=body)
    signed = api.client.post(
        "/v1/tickets/jira",
        content=body,
        headers={"X-Hub-Signature": jira_signature(SECRET, body)},
    )

    assert unsigned.status_code == 401
    assert unsigned.json()["type"] == "urn:it-support-gateway:problem:bad-signature"
    assert signed.status_code == 422
    assert "issue.fields: Field required" in signed.json()["detail"]


def test_a_directory_outage_asks_the_sender_to_come_back(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(**_: object) -> list[object]:
        raise DirectoryUnavailableError("directory is unavailable: outage")

    monkeypatch.setattr(api.gateway.directory, "find_users", down)
    headers = api.as_service(ticket_routes.TICKETS_WRITE)
    body = generic(1, "tom@example.com", "I forgot my password", "reset it")
    answer = api.client.post("/v1/tickets/generic", content=body, headers=headers)

    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "30"


def test_without_the_ticket_service_the_webhooks_are_off(api: Api) -> None:
    api.services.tickets = None  # type: ignore[attr-defined]
    answer = api.client.post("/v1/tickets/jira", content=b"{}")

    assert answer.status_code == 404
    assert answer.json()["detail"] == "ticket intake is off"


def _dead_letters(api: Api) -> list[DeadLetter]:
    with _service(api).store.transaction(write=False) as tx:
        return tx.dead_letters(state=None)


def test_a_jira_webhook_without_jira_configured_is_not_found_and_nothing_is_kept(
    make_api: MakeApi,
) -> None:
    api = make_api(jira="")
    body = b'{"webhookEvent": "jira:issue_created", "issue": {}}' + b" " * 500_000

    answers = [api.client.post("/v1/tickets/jira", content=body) for _ in range(3)]

    assert {answer.status_code for answer in answers} == {404}
    assert answers[0].json()["type"] == "urn:it-support-gateway:problem:source-not-configured"
    assert answers[0].json()["detail"] == (
        "Jira webhooks are not configured: [tickets.jira] needs webhook_secret_env"
    )
    assert _dead_letters(api) == []
    assert api.audited("ticket.dead_lettered") == []
    assert _service(api).refused() == {"jira": {"not_configured": 3}}


def test_a_jira_site_without_a_webhook_secret_takes_no_webhooks(make_api: MakeApi) -> None:
    api = make_api(jira=JIRA.replace(f'webhook_secret_env = "{SECRET_ENV}"', ""))

    answer = api.client.post("/v1/tickets/jira", content=b"{}")

    assert answer.status_code == 404
    assert _dead_letters(api) == []


def test_unauthenticated_jira_deliveries_are_rate_limited_per_source(make_api: MakeApi) -> None:
    api = make_api(tickets="unauthenticated_per_minute = 6\nunauthenticated_burst = 2")
    body = json.dumps({"webhookEvent": "jira:issue_created", "issue": {"key": "IT-1"}}).encode()

    answers = [api.client.post("/v1/tickets/jira", content=body) for _ in range(4)]
    generic_answer = api.client.post(
        "/v1/tickets/generic",
        content=generic(1, "tom@example.com", "Hi"),
        headers=api.as_service(ticket_routes.TICKETS_WRITE),
    )

    assert [answer.status_code for answer in answers] == [401, 401, 429, 429]
    refused = answers[2]
    assert refused.json()["type"] == "urn:it-support-gateway:problem:intake-rate-limited"
    assert refused.headers["Retry-After"] == "10"
    assert refused.json()["detail"] == "too many unauthenticated jira deliveries; retry in 10 s"
    assert len(_dead_letters(api)) == 2
    assert len(api.audited("ticket.dead_lettered")) == 2
    assert _service(api).refused() == {"jira": {"rate_limited": 2}}
    assert generic_answer.status_code == 202


def test_a_badly_signed_jira_delivery_keeps_only_a_digest_and_an_excerpt(api: Api) -> None:
    body = json.dumps({"webhookEvent": "x", "issue": {"key": "IT-1", "pad": "p" * 200_000}})
    raw = body.encode()

    answer = api.client.post(
        "/v1/tickets/jira", content=raw, headers={"X-Hub-Signature": "sha256=" + "0" * 64}
    )

    assert answer.status_code == 401
    (letter,) = _dead_letters(api)
    assert (letter.size, len(letter.body), letter.truncated) == (len(raw), 4096, True)
    assert letter.body == raw[:4096]
    (audited,) = api.audited("ticket.dead_lettered")
    assert audited.payload["sha256"] == hashlib.sha256(raw).hexdigest()
    assert audited.payload["size"] == len(raw)
    with pytest.raises(TicketEventError, match="was kept only in part"):
        _service(api).replay_dead_letter(letter.id)


def test_a_signed_jira_delivery_that_cannot_be_read_is_kept_whole_for_replay(api: Api) -> None:
    raw = json.dumps({"webhookEvent": "x", "issue": {"key": "IT-1", "pad": "p" * 20_000}})
    body = raw.encode()

    answer = api.client.post(
        "/v1/tickets/jira", content=body, headers={"X-Hub-Signature": jira_signature(SECRET, body)}
    )

    assert answer.status_code == 422
    (letter,) = _dead_letters(api)
    assert (letter.body, letter.truncated) == (body, False)
    again = _service(api).replay_dead_letter(letter.id)
    assert again.message.startswith("issue.fields: Field required")


OVERLONG = b"1" * 5000


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/tickets/generic",
         b'{"event_id": "e-1", "ticket": {"id": "T-1", "subject": "x", "urgency": '
         + OVERLONG + b"}}", "ticket.urgency"),
        ("/v1/tickets/servicenow",
         b'{"table": "incident", "record": {"sys_id": "' + b"a" * 32 + b'", "impact": [1, '
         + OVERLONG + b"]}}", "record.impact.1"),
        ("/v1/tickets/generic", b"-" + OVERLONG, "body"),
    ],
    ids=[
        "a generic event with a long integer in a field",
        "a ServiceNow event with a long integer in a list",
        "a body that is only a long integer",
    ],
)  # fmt: skip
def test_an_integer_too_long_to_read_is_refused_naming_the_field(
    api: Api, path: str, body: bytes, field: str
) -> None:
    answer = api.client.post(
        path, content=body, headers=api.as_service(ticket_routes.TICKETS_WRITE)
    )

    assert answer.status_code == 422
    assert answer.json()["type"] == "urn:it-support-gateway:problem:event-refused"
    assert answer.json()["detail"] == (
        f"{field}: an integer of 5000 digits; at most 4300 are read; kept as dead letter 1"
    )
    (letter,) = _dead_letters(api)
    assert letter.body == body
    (audited,) = api.audited("ticket.dead_lettered")
    assert audited.payload["reason"].startswith(f"{field}: an integer of")


def test_a_signed_jira_webhook_with_a_long_integer_is_refused(api: Api) -> None:
    body = b'{"webhookEvent": "jira:issue_created", "issue": {"id": ' + OVERLONG + b"}}"

    answer = api.client.post(
        "/v1/tickets/jira", content=body, headers={"X-Hub-Signature": jira_signature(SECRET, body)}
    )

    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("issue.id: an integer of 5000 digits")


def test_a_servicenow_table_api_page_is_answered_record_by_record(
    make_api: MakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = ServiceNowServer()
    server.start()
    try:
        monkeypatch.setenv("TICKETS_API_SN_PASSWORD", server.password)
        settings = "\n".join(
            [
                "[tickets.servicenow]",
                f'instance_url = "{server.base_url}"',
                f'username = "{server.user}"',
                'password_env = "TICKETS_API_SN_PASSWORD"',
            ]
        )
        api = make_api(jira=settings)
        good = server.add(incident(1, "2024-05-01 09:00:00", short_description="Hello"))
        page = {"result": [good, incident(2, "2024-05-01 09:00:00", sys_updated_on="")]}
        headers = api.as_service(ticket_routes.TICKETS_WRITE)

        answer = api.client.post(
            "/v1/tickets/servicenow", content=json.dumps(page), headers=headers
        )
    finally:
        server.stop()

    assert answer.status_code == 202
    body = answer.json()
    assert (body["outcome"], body["ticket"]) == ("page", None)
    assert [(r["outcome"], r["ticket"]) for r in body["records"]] == [
        ("humans", "servicenow:INC0000001"), ("dead_letter", None),
    ]  # fmt: skip
    assert body["records"][1]["message"].startswith("result[1]: sys_updated_on: String should")
