"""The OpenAPI document describes the ticket webhook bodies as the intake reads them: a body
the document calls valid is not refused as invalid (422), and one it calls invalid is."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest

from gateway.tickets.jira import jira_signature
from tests.api.conftest import Api, build_api

SECRET_ENV = "OPENAPI_TICKETS_JIRA_SECRET"
SECRET = "whsec-openapi-1"
JIRA = f"""
[tickets.jira]
base_url = "http://127.0.0.1:9"
email = "svc@example.com"
api_token_env = "OPENAPI_TICKETS_JIRA_TOKEN"
webhook_secret_env = "{SECRET_ENV}"
max_retries = 0
"""


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SECRET_ENV, SECRET)
        patch.setenv("OPENAPI_TICKETS_JIRA_TOKEN", "t")
        made = build_api(tmp_path_factory.mktemp("tickets"), JIRA)
        yield made
        made.close()


def _validator(document: dict[str, Any], path: str) -> jsonschema_rs.Validator:
    content = document["paths"][path]["post"]["requestBody"]["content"]
    return jsonschema_rs.validator_for(
        {**content["application/json"]["schema"], "components": document["components"]}
    )


def _with(body: dict[str, Any], where: str, value: Any) -> dict[str, Any]:
    """``body`` with the field at dotted ``where`` set to ``value`` (removed for ...)."""
    changed = copy.deepcopy(body)
    *parents, last = where.split(".")
    node = changed
    for name in parents:
        node = node[name]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return changed


GENERIC = {
    "event_id": "e-1",
    "kind": "created",
    "ticket": {
        "id": "T-1",
        "subject": "Install 7-Zip",
        "requester": {"email": "tom@example.com"},
        "urgency": 3,
    },
}
RECORD = {
    "sys_id": "0" * 31 + "1",
    "number": "INC0010001",
    "short_description": "Outlook does not start",
    "caller_id": {"value": "abc", "display_value": "Tom"},
    "caller_id.email": "tom@example.com",
    "urgency": "2 - Medium",
    "sys_updated_on": "2024-05-01 09:00:00",
    "u_custom": 7,
}
SERVICENOW = {"table": "incident", "operation": "insert", "record": RECORD}
ISSUE = {
    "key": "IT-42",
    "fields": {
        "summary": "VPN down",
        "updated": "2024-05-01T09:00:00.000+0000",
        "reporter": {"emailAddress": "tom@example.com", "displayName": "Tom"},
        "description": {"type": "doc", "content": []},
        "labels": ["vpn"],
    },
}
JIRA_EVENT = {"webhookEvent": "jira:issue_created", "issue": ISSUE, "timestamp": 1}

CASES = [
    ("a generic event", "generic", GENERIC),
    ("a generic event without an id", "generic", _with(GENERIC, "event_id", ...)),
    ("a generic event of no kind", "generic", _with(GENERIC, "kind", "deleted")),
    ("a generic event with a field too many", "generic", _with(GENERIC, "extra", 1)),
    ("a generic event without a ticket", "generic", _with(GENERIC, "ticket", ...)),
    ("a generic ticket id with a space", "generic", _with(GENERIC, "ticket.id", "T 1")),
    ("a generic urgency of 6", "generic", _with(GENERIC, "ticket.urgency", 6)),
    ("a generic subject left empty", "generic", _with(GENERIC, "ticket.subject", "")),
    ("a generic requester's unknown field", "generic",
     _with(GENERIC, "ticket.requester.phone", "1")),
    ("a generic ticket closed as yes", "generic", _with(GENERIC, "ticket.closed", "Yes")),
    ("a generic ticket closed as 0", "generic", _with(GENERIC, "ticket.closed", 0)),
    ("a generic ticket closed as 2", "generic", _with(GENERIC, "ticket.closed", 2)),
    ("a generic ticket closed as maybe", "generic", _with(GENERIC, "ticket.closed", "maybe")),
    ("a generic urgency written +03.0", "generic", _with(GENERIC, "ticket.urgency", " +03.0 ")),
    ("a generic urgency written 3.5", "generic", _with(GENERIC, "ticket.urgency", "3.5")),
    ("a generic urgency of true", "generic", _with(GENERIC, "ticket.urgency", True)),
    ("a generic urgency of false", "generic", _with(GENERIC, "ticket.urgency", False)),
    ("a list, not an object", "generic", [GENERIC]),
    ("a business-rule insert", "servicenow", SERVICENOW),
    ("a business-rule record without sys_id", "servicenow",
     _with(SERVICENOW, "record.sys_id", ...)),
    ("a business-rule record with a short sys_id", "servicenow",
     _with(SERVICENOW, "record.sys_id", "abc")),
    ("a business-rule record updated at another format", "servicenow",
     _with(SERVICENOW, "record.sys_updated_on", "2024-05-01T09:00:00Z")),
    ("an empty urgency", "servicenow", _with(SERVICENOW, "record.urgency", "")),
    ("an urgency of 1", "servicenow", _with(SERVICENOW, "record.urgency", "1")),
    ("an urgency of 7", "servicenow", _with(SERVICENOW, "record.urgency", "7")),
    ("an urgency of 0", "servicenow", _with(SERVICENOW, "record.urgency", "0")),
    ("an urgency of 10", "servicenow", _with(SERVICENOW, "record.urgency", "10")),
    ("an urgency in words", "servicenow", _with(SERVICENOW, "record.urgency", "High")),
    ("an urgency as a number", "servicenow", _with(SERVICENOW, "record.urgency", 2)),
    ("a record active as 1", "servicenow", _with(SERVICENOW, "record.active", 1)),
    ("a record active as 2", "servicenow", _with(SERVICENOW, "record.active", 2)),
    ("a record active as false", "servicenow", _with(SERVICENOW, "record.active", False)),
    ("a reference caller", "servicenow", _with(SERVICENOW, "record.caller_id", "abc")),
    ("a caller as a number", "servicenow", _with(SERVICENOW, "record.caller_id", 5)),
    ("a record that is a list", "servicenow", _with(SERVICENOW, "record", [RECORD])),
    ("a Table API page", "servicenow", {"result": [RECORD, {"number": "bad"}]}),
    ("a Table API answer of one record", "servicenow", {"result": RECORD}),
    ("a Table API answer of one bad record", "servicenow",
     {"result": _with(RECORD, "sys_id", ...)}),
    ("a Table API answer of text", "servicenow", {"result": "none"}),
    ("a Jira issue created", "jira", JIRA_EVENT),
    ("a Jira event without its name", "jira", _with(JIRA_EVENT, "webhookEvent", ...)),
    ("a Jira event without an issue", "jira", _with(JIRA_EVENT, "issue", ...)),
    ("a Jira key in lower case", "jira", _with(JIRA_EVENT, "issue.key", "it-42")),
    ("a Jira summary left empty", "jira", _with(JIRA_EVENT, "issue.fields.summary", "")),
    ("a Jira issue without fields", "jira", _with(JIRA_EVENT, "issue.fields", ...)),
    ("Jira labels as text", "jira", _with(JIRA_EVENT, "issue.fields.labels", "vpn")),
]  # fmt: skip


def _send(api: Api, source: str, body: Any) -> int:
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if source == "jira":
        headers["X-Hub-Signature"] = jira_signature(SECRET, raw)
    else:
        headers.update(api.as_service("tickets:write"))
    return api.client.post(f"/v1/tickets/{source}", content=raw, headers=headers).status_code


@pytest.mark.parametrize(
    ("source", "body"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_the_document_accepts_the_ticket_bodies_the_intake_accepts(
    api: Api, source: str, body: Any
) -> None:
    document = api.client.get("/openapi.json", headers=api.as_service()).json()
    valid = _validator(document, f"/v1/tickets/{source}").is_valid(body)

    status = _send(api, source, body)

    assert status != 401
    assert (status != 422) == valid, status


def test_an_update_of_a_ticket_the_gateway_does_not_know_is_a_documented_422(api: Api) -> None:
    document = api.client.get("/openapi.json", headers=api.as_service()).json()
    update = _with(_with(GENERIC, "kind", "updated"), "ticket.id", "NEVER-SEEN-1")
    update["event_id"] = "e-never-seen"

    status = _send(api, "generic", update)

    assert _validator(document, "/v1/tickets/generic").is_valid(update)
    assert status == 422
    described = document["paths"]["/v1/tickets/generic"]["post"]["requestBody"]["description"]
    assert "does not know" in described
