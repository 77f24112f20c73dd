"""Troubleshooting sessions over HTTP belong to whoever started them: anyone else needs
a policy allow, is refused without learning anything, and every answer names its caller."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api

BASE = "/v1/troubleshooting"
SCOPE = "troubleshooting:write"


def start_email_session(api: Api, technician: str = "elena") -> dict[str, Any]:
    """A session on the email tree, asking which account to unlock."""
    headers = api.as_person(technician, SCOPE)
    started = api.client.post(
        f"{BASE}/sessions",
        json={"tree": "email", "ticket": "INC42", "facts": {"client": "outlook"}},
        headers=headers,
    )
    assert started.status_code == 201, started.text
    sid = started.json()["id"]
    for value in ("cannot_sign_in", True):
        answered = api.client.post(
            f"{BASE}/sessions/{sid}/answer", json={"value": value}, headers=headers
        )
        assert answered.status_code == 200, answered.text
    shown: dict[str, Any] = answered.json()
    assert shown["prompt"]["node"] == "ask-user"
    return shown


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("POST", "/answer", {"value": "tom"}),
        ("POST", "/undo", None),
        ("POST", "/resume", None),
    ],
    ids=["reading it", "answering it", "undoing an answer", "resuming it"],
)
def test_an_employee_cannot_touch_a_technicians_session(
    api: Api, method: str, suffix: str, body: object
) -> None:
    session = start_email_session(api)
    sid = session["id"]
    before = len(api.audit_records())

    response = api.client.request(
        method, f"{BASE}/sessions/{sid}{suffix}", json=body, headers=api.as_person("tom", SCOPE)
    )
    unknown = api.client.request(
        method,
        f"{BASE}/sessions/no-such-session{suffix}",
        json=body,
        headers=api.as_person("tom", SCOPE),
    )

    assert response.status_code == 404
    problem = response.json()
    assert problem["type"] == "urn:it-support-gateway:problem:session-not-found"
    assert problem["detail"] == f"unknown session {sid!r}"
    assert unknown.json()["detail"] == "unknown session 'no-such-session'"
    assert "ask-user" not in response.text
    assert "elena" not in response.text
    owner = api.client.get(f"{BASE}/sessions/{sid}", headers=api.as_person("elena", SCOPE))
    assert owner.json()["steps"] == session["steps"]
    assert owner.json()["current"] == "ask-user"
    new = api.audit_records()[before:]
    refusals = [r for r in new if r.type == "decision"]
    assert [(r.actor, r.action, r.resource) for r in refusals] == [
        ("tom", "troubleshooting.session.drive", f"troubleshooting_session:{sid}")
    ]
    assert refusals[0].payload["decision"] == "deny"
    assert not [r for r in new if r.type.startswith("troubleshooting.")]
    assert not [r for r in new if r.type.startswith("execution.")]


def test_the_owner_answers_and_each_answer_is_audited_with_the_caller(api: Api) -> None:
    session = start_email_session(api)

    answered = api.audited("troubleshooting.answered")

    assert [(r.actor, r.payload["node"]) for r in answered] == [
        ("elena", "ask-symptom"),
        ("elena", "ask-locked"),
    ]
    assert answered[0].payload == {
        "session": session["id"],
        "node": "ask-symptom",
        "fact": "symptom",
        "technician": "elena",
        "ticket": "INC42",
    }


def test_a_supervisor_may_drive_it_and_both_people_are_on_record(api: Api) -> None:
    session = start_email_session(api)
    sid = session["id"]

    response = api.client.post(
        f"{BASE}/sessions/{sid}/answer", json={"value": "tom"}, headers=api.as_person("omar", SCOPE)
    )

    assert response.status_code == 200, response.text
    assert response.json()["technician"] == "elena"
    allowed = [r for r in api.audited("decision") if r.action == "troubleshooting.session.drive"]
    assert [(r.actor, r.payload["decision"]) for r in allowed] == [("omar", "allow")]
    last = api.audited("troubleshooting.answered")[-1]
    assert (last.actor, last.payload["technician"], last.payload["node"]) == (
        "omar",
        "elena",
        "ask-user",
    )
    (requested,) = api.audited("troubleshooting.action_requested")
    assert requested.actor == "omar"
    assert requested.payload["technician"] == "elena"
    assert requested.payload["workflow"] == "account-unlock"
    started = [r for r in api.audit_records() if r.type == "execution.started"]
    assert started
    assert started[-1].actor == "elena"


def test_a_supervisor_may_read_and_undo_but_an_unknown_caller_may_not(api: Api) -> None:
    sid = start_email_session(api)["id"]

    read = api.client.get(f"{BASE}/sessions/{sid}", headers=api.as_person("grace", SCOPE))
    undone = api.client.post(f"{BASE}/sessions/{sid}/undo", headers=api.as_person("grace", SCOPE))
    service = api.client.get(f"{BASE}/sessions/{sid}", headers={"X-API-Key": api.key(SCOPE)})

    assert read.status_code == 200
    assert undone.status_code == 200
    assert undone.json()["current"] == "ask-locked"
    (undo,) = api.audited("troubleshooting.undone")
    assert (undo.actor, undo.payload["technician"], undo.payload["node"]) == (
        "grace",
        "elena",
        "ask-locked",
    )
    assert service.status_code == 404


def test_reports_are_decided_by_policy(api: Api) -> None:
    start_email_session(api)

    helpdesk = api.client.get(f"{BASE}/reports/email", headers=api.as_person("elena", SCOPE))
    employee = api.client.get(f"{BASE}/reports/email", headers=api.as_person("tom", SCOPE))

    assert helpdesk.status_code == 200
    assert helpdesk.json()["sessions"] == 1
    assert employee.status_code == 403
    assert employee.json()["type"] == "urn:it-support-gateway:problem:policy-denied"
    (refused,) = [
        r for r in api.audited("decision") if r.action == "troubleshooting.report.read"
        and r.actor == "tom"
    ]  # fmt: skip
    assert refused.resource == "troubleshooting_tree:email"
