"""The ticket webhooks of the HTTP API: API keys for ServiceNow and the generic webhook,
Jira's own signature for Jira; dead letters and outages as problem details."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.api import DEFAULT_ROUTERS
from gateway.api.routes import tickets as ticket_routes
from gateway.app import open_runtime
from gateway.callers import scopes
from gateway.errors import DirectoryUnavailableError
from gateway.tickets import TicketService, open_ticket_service
from gateway.tickets.jira import jira_signature
from tests.api.conftest import Api, build_api
from tests.tickets.conftest import REPO, TRIGGERS, generic

SECRET_ENV = "TICKETS_API_JIRA_SECRET"
SECRET = "whsec-api-7"


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    monkeypatch.setitem(scopes.SCOPES, ticket_routes.TICKETS_WRITE, "deliver ticket events")
    monkeypatch.setenv(SECRET_ENV, SECRET)
    monkeypatch.setenv("TICKETS_API_JIRA_TOKEN", "t")
    extra = "\n".join(
        [
            "[runtime]",
            f"workflows = {json.dumps(str(REPO / 'automations' / 'workflows'))}",
            "[tickets]",
            f"triggers = {json.dumps(str(TRIGGERS))}",
            "[tickets.jira]",
            'base_url = "http://127.0.0.1:9"',
            'email = "svc@example.com"',
            'api_token_env = "TICKETS_API_JIRA_TOKEN"',
            f'webhook_secret_env = "{SECRET_ENV}"',
            "max_retries = 0",
        ]
    )
    made = build_api(tmp_path, extra, routers=[*DEFAULT_ROUTERS, ticket_routes.router])
    executor = open_runtime(made.config, made.gateway)
    service = open_ticket_service(made.config, made.gateway, executor)
    made.services.tickets = service  # type: ignore[attr-defined]
    yield made
    service.close()
    executor.close()
    made.close()


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
