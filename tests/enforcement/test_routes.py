"""Every route in the authorization table that a policy decides or that writes an audit
event, called as a person or service would: the weakest caller the route accepts is
refused and changes nothing, and a call that changes state writes the table's event.

Each story is a function that prepares what the route needs and returns the call; a route
whose story needs an outside system (a help desk, a workflow that waits on another) names
the test that tells it instead, and that test must exist.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
import pytest

from gateway.enforcement.table import Entry, routes
from tests.api.conftest import Api, build_api
from tests.api.test_executions import wait_for

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    headers: dict[str, str]
    body: Any = None


Story = Callable[[Api], Call]


def approval(api: Api) -> dict[str, Any]:
    """A pending access grant omar asked for tom (tom's manager priya approves)."""
    omar = api.as_person("omar")
    started = api.client.post(
        "/v1/executions",
        json={"workflow": "access-grant", "parameters": {"user": "tom", "system": "payroll"}},
        headers=omar,
    ).json()
    waiting = wait_for(api, omar, started["id"], "pending_approval")["waiting"]
    return {"id": waiting["approval_id"], "digest": waiting["digest"]}


def session(api: Api) -> str:
    started = api.client.post(
        "/v1/troubleshooting/sessions",
        json={"tree": "email", "facts": {"client": "outlook"}},
        headers=api.as_person("elena"),
    )
    return str(started.json()["id"])


def reset(api: Api) -> str:
    """Elena's reset of tom's password, finished."""
    elena = api.as_person("elena")
    started = api.client.post(
        "/v1/executions",
        json={"workflow": "password-reset", "parameters": {"user": "tom"}},
        headers=elena,
    )
    return str(wait_for(api, elena, started.json()["id"], "succeeded")["id"])


def approval_and_execution(api: Api) -> str:
    """The execution of omar's grant, waiting for priya's approval."""
    omar = api.as_person("omar")
    started = api.client.post(
        "/v1/executions",
        json={"workflow": "access-grant", "parameters": {"user": "tom", "system": "payroll"}},
        headers=omar,
    ).json()
    return str(wait_for(api, omar, started["id"], "pending_approval")["id"])


def vote(verdict: str, person: str) -> Story:
    def story(api: Api) -> Call:
        item = approval(api)
        return Call("POST", f"/v1/approvals/{item['id']}/{verdict}", api.as_person(person),
                    {"digest": item["digest"]})  # fmt: skip

    return story


def answer(person: str) -> Story:
    def story(api: Api) -> Call:
        sid = session(api)
        return Call("POST", f"/v1/troubleshooting/sessions/{sid}/answer", api.as_person(person),
                    {"value": "cannot_sign_in"})  # fmt: skip

    return story


def undo(person: str) -> Story:
    def story(api: Api) -> Call:
        sid = session(api)
        path = f"/v1/troubleshooting/sessions/{sid}/answer"
        api.client.post(path, json={"value": "cannot_sign_in"}, headers=api.as_person("elena"))
        return Call("POST", f"/v1/troubleshooting/sessions/{sid}/undo", api.as_person(person))

    return story


def verify_step_up(api: Api) -> Call:
    assert api.gateway.stepup is not None
    seed = api.gateway.stepup.enrol("elena").seed.get_secret_value()
    return Call("POST", "/v1/stepup/verify", api.as_person("elena"),
                {"code": pyotp.TOTP(seed).now()})  # fmt: skip


def generic_ticket(api: Api) -> Call:
    event = {"event_id": "e-1", "kind": "created", "ticket": {
        "id": "T-1", "subject": "Install 7-Zip", "requester": {"email": "tom@example.com"},
        "description": "I need 7-Zip installed on tom-laptop"}}  # fmt: skip
    return Call("POST", "/v1/tickets/generic", api.as_service("tickets:write"), event)


GRANT = {"actor": "omar", "action": "access.grant", "resource": "account:tom",
         "context": {"system": "payroll"}}  # fmt: skip
SAM = {"workflow": "password-reset", "parameters": {"user": "sam"}}

# route -> (the weakest caller's call, refused; the call that writes the event)
STORIES: dict[str, tuple[Story | None, Story | None]] = {
    "POST /v1/data/gateway/authz": (
        lambda api: Call("POST", "/v1/data/gateway/authz", api.as_person("tom"),
                         {"input": GRANT}),
        lambda api: Call("POST", "/v1/data/gateway/authz", api.as_service(), {"input": GRANT}),
    ),
    "POST /v1/decisions": (
        lambda api: Call("POST", "/v1/decisions", api.as_person("tom"), GRANT),
        lambda api: Call("POST", "/v1/decisions", api.as_person("omar"), GRANT),
    ),
    "POST /v1/stepup/verify": (None, verify_step_up),
    "GET /v1/approvals/{approval_id}": (
        lambda api: Call("GET", f"/v1/approvals/{approval(api)['id']}", api.as_person("tom")),
        lambda api: Call("GET", f"/v1/approvals/{approval(api)['id']}", api.as_person("priya")),
    ),
    "POST /v1/approvals/{approval_id}/approve": (vote("approve", "tom"),
                                                 vote("approve", "priya")),
    "POST /v1/approvals/{approval_id}/reject": (vote("reject", "tom"), vote("reject", "priya")),
    "POST /v1/executions": (
        lambda api: Call("POST", "/v1/executions", api.as_person("tom"), SAM),
        lambda api: Call("POST", "/v1/executions", api.as_person("elena"),
                         {**SAM, "parameters": {"user": "tom"}}),
    ),
    "POST /v1/executions/{execution_id}/cancel": (
        lambda api: Call("POST", f"/v1/executions/{approval_and_execution(api)}/cancel",
                         api.as_person("tom")),
        lambda api: Call("POST", f"/v1/executions/{approval_and_execution(api)}/cancel",
                         api.as_person("omar")),
    ),
    "GET /v1/catalog/items/{item_id}": (
        lambda api: Call("GET", "/v1/catalog/items/grant-temporary-access", api.as_person("tom")),
        None,  # a read
    ),
    "GET /v1/catalog/items/{item_id}/schema": (
        lambda api: Call("GET", "/v1/catalog/items/grant-temporary-access/schema",
                         api.as_person("tom")),
        None,  # a read
    ),
    "POST /v1/executions/{execution_id}/secrets/{name}": (
        lambda api: Call("POST", f"/v1/executions/{reset(api)}/secrets/temporary_password",
                         api.as_person("tom")),
        lambda api: Call("POST", f"/v1/executions/{reset(api)}/secrets/temporary_password",
                         api.as_person("elena")),
    ),
    "POST /v1/catalog/items/{item_id}/runs": (
        lambda api: Call("POST", "/v1/catalog/items/install-software/runs",
                         api.as_person("lena"),
                         {"parameters": {"title": "7zip", "devices": "lena-laptop"}}),
        lambda api: Call("POST", "/v1/catalog/items/install-software/runs",
                         api.as_person("tom"),
                         {"parameters": {"title": "7zip", "devices": "tom-laptop"}}),
    ),
    "POST /v1/troubleshooting/sessions": (
        None,
        lambda api: Call("POST", "/v1/troubleshooting/sessions", api.as_person("elena"),
                         {"tree": "email", "facts": {"client": "outlook"}}),
    ),
    "GET /v1/troubleshooting/sessions/{session_id}": (
        lambda api: Call("GET", f"/v1/troubleshooting/sessions/{session(api)}",
                         api.as_person("tom")),
        None,  # a read: the owner reads without a record
    ),
    "POST /v1/troubleshooting/sessions/{session_id}/answer": (answer("tom"), answer("omar")),
    "POST /v1/troubleshooting/sessions/{session_id}/undo": (undo("tom"), undo("omar")),
    "POST /v1/troubleshooting/sessions/{session_id}/resume": (
        lambda api: Call("POST", f"/v1/troubleshooting/sessions/{session(api)}/resume",
                         api.as_person("tom")),
        None,
    ),
    "GET /v1/troubleshooting/reports/{tree_id}": (
        lambda api: Call("GET", "/v1/troubleshooting/reports/email", api.as_person("tom")),
        lambda api: Call("GET", "/v1/troubleshooting/reports/email", api.as_person("elena")),
    ),
    "POST /v1/tickets/generic": (None, generic_ticket),
}  # fmt: skip

TOLD_ELSEWHERE: dict[str, tuple[str, str]] = {
    "POST /v1/offline/segments": (  # needs a field kit prepared and worked with offline
        "tests/offline/test_api.py", "test_a_segment_is_merged_over_http_once"),
    "GET /v1/catalog": (  # what one may not see is left out of the list
        "tests/selfservice/test_api.py",
        "test_services_name_the_person_and_people_act_as_themselves"),
    "POST /v1/catalog/runs/{run_id}/resume": (
        "tests/selfservice/test_api.py",
        "test_waiting_runs_resume_and_cancel_and_strangers_see_nothing"),
    "POST /v1/catalog/runs/{run_id}/cancel": (
        "tests/selfservice/test_api.py",
        "test_waiting_runs_resume_and_cancel_and_strangers_see_nothing"),
    "POST /v1/troubleshooting/sessions/{session_id}/resume": (
        "tests/troubleshooting/test_api.py", "test_a_session_is_guided_over_http"),
    "POST /v1/tickets/servicenow": (
        "tests/tickets/test_servicenow.py",
        "test_a_business_rule_webhook_is_checked_against_the_table"),
    "POST /v1/tickets/alertmanager": (
        "tests/tickets/test_alertmanager.py",
        "test_a_firing_alert_starts_the_routed_workflow_once_and_its_resolution_is_recorded"),
    "POST /v1/tickets/jira": (
        "tests/tickets/test_jira.py",
        "test_a_signed_webhook_starts_the_workflow_and_the_issue_is_resolved"),
    "POST /v1/chat/slack/interactions": (  # needs Slack's signature and the Slack stand-in
        "tests/chat/test_slack_approvals.py",
        "test_a_forged_signature_is_refused_audited_and_changes_nothing"),
    "POST /v1/chat/slack/commands": (
        "tests/chat/test_slack_catalog.py", "test_tom_installs_7zip_from_the_command"),
    "POST /v1/chat/teams/activities": (
        "tests/chat/test_teams.py", "test_a_token_for_another_audience_is_refused"),
}  # fmt: skip


def entry(name: str) -> Entry:
    return next(e for e in routes() if e.name == name)


def test_every_route_that_decides_or_writes_has_a_story() -> None:
    writes = {e.name for e in routes() if e.audit is not None and e.audit != "decision"}
    decides = {e.name for e in routes() if e.action not in (None, "*")}
    told = set(TOLD_ELSEWHERE)
    written = {n for n, (_, allowed) in STORIES.items() if allowed is not None}
    refused = {n for n, (refused, _) in STORIES.items() if refused is not None}

    assert sorted(writes - written - told) == []
    assert sorted(decides - refused - told) == []
    assert sorted((set(STORIES) | told) - {e.name for e in routes()}) == []


@pytest.mark.parametrize("name", sorted(TOLD_ELSEWHERE))
def test_the_test_that_tells_it_exists(name: str) -> None:
    path, test = TOLD_ELSEWHERE[name]

    assert f"def {test}(" in (REPO / path).read_text(encoding="utf-8")


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    made = build_api(tmp_path)
    yield made
    made.close()


def send(api: Api, call: Call) -> tuple[int, set[str], list[dict[str, Any]]]:
    before = len(api.audit_records())
    response = api.client.request(call.method, call.path, headers=call.headers,
                                  json=call.body)  # fmt: skip
    written = api.audit_records()[before:]
    decisions = [dict(r.payload) for r in written if r.type == "decision"]
    return response.status_code, {r.type for r in written}, decisions


REFUSED = sorted(name for name, (refused, _) in STORIES.items() if refused is not None)
ALLOWED = sorted(name for name, (_, allowed) in STORIES.items() if allowed is not None)


@pytest.mark.parametrize("name", REFUSED)
def test_the_weakest_caller_is_refused_and_nothing_changes(api: Api, name: str) -> None:
    refused, _ = STORIES[name]
    assert refused is not None
    call = refused(api)

    status, written, decisions = send(api, call)

    # a workflow's request is taken (202) and refused inside, before any change
    assert status in (403, 404, 409) or entry(name).action == "*", status
    bookkeeping = {"decision", "api.refused", "execution.started", "execution.finished"}
    changes = {kind for kind in written - bookkeeping
               if not kind.endswith(("refused", "_admitted"))}  # fmt: skip
    assert changes == set()
    assert all(d["decision"] == "deny" for d in decisions if entry(name).action != "*")


@pytest.mark.parametrize("name", ALLOWED)
def test_the_audit_event_the_table_names_is_written(api: Api, name: str) -> None:
    _, allowed = STORIES[name]
    assert allowed is not None
    call = allowed(api)

    status, written, _ = send(api, call)

    assert status < 300, status
    assert entry(name).audit in written, json.dumps(sorted(written))
