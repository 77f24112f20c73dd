"""Decisions over HTTP: the same audited decisions as the command line, for the right
callers only."""

from __future__ import annotations

import json

import pytest

from tests.api.conftest import Api, MakeApi

RESET = {"actor": "elena", "action": "password.reset", "resource": "account:tom"}


def test_the_data_api_answers_as_opa_does_and_audits_the_decision(api: Api) -> None:
    response = api.client.post(
        "/v1/data/gateway/authz", json={"input": RESET}, headers=api.as_service()
    )

    assert response.status_code == 200
    body = response.json()
    result = body["result"]
    assert result["allow"] is True
    assert result["decision"] == "allow"
    assert body["decision_id"] == result["decision_id"]
    assert {reason["policy"] for reason in result["reasons"]} >= {"password-reset-helpdesk"}
    assert result["policy_digest"] == api.gateway.policies.engine.digest
    assert result["policy_signers"] == ["development"]  # no trusted keys configured
    (record,) = api.audited("decision")
    assert (record.actor, record.action, record.resource) == (
        "elena",
        "password.reset",
        "account:tom",
    )
    assert record.decision_id == result["decision_id"]


def test_the_plain_route_takes_the_request_as_the_body(api: Api) -> None:
    response = api.client.post(
        "/v1/decisions",
        json={
            **RESET,
            "resource": {"type": "account", "id": "tom"},
            "context": {"ticket": "INC-1"},
        },
        headers=api.as_service("decisions:write"),
    )

    assert response.status_code == 200
    assert response.json()["allow"] is True
    (record,) = api.audited("decision")
    assert record.payload["context"] == {
        "ticket": "INC-1",
        "change_freeze": False,
        "change_window": False,
    }


def test_a_deny_is_an_answer_not_an_error(api: Api) -> None:
    response = api.client.post(
        "/v1/decisions",
        json={"actor": "lena", "action": "kb.publish", "resource": "article:x"},
        headers=api.as_service(),
    )

    assert response.status_code == 200
    assert response.json()["allow"] is False
    assert response.json()["decision"] == "deny"


def test_obligations_come_back_with_the_decision(api: Api) -> None:
    response = api.client.post(
        "/v1/decisions",
        json={"actor": "omar", "action": "access.grant", "resource": "account:tom",
              "context": {"system": "payroll"}},
        headers=api.as_service(),
    )  # fmt: skip

    obligations = response.json()["obligations"]
    assert [item["type"] for item in obligations] == ["approval"]


def test_a_person_may_ask_about_themselves(api: Api) -> None:
    response = api.client.post(
        "/v1/decisions", json=RESET, headers=api.as_person("elena", "decisions:write")
    )

    assert response.status_code == 200


def test_a_person_asking_about_someone_else_is_refused_and_audited(api: Api) -> None:
    response = api.client.post(
        "/v1/data/gateway/authz",
        json={"input": {**RESET, "actor": "omar"}},
        headers=api.as_person("elena"),
    )

    assert response.status_code == 403
    problem = response.json()
    assert problem["type"] == "urn:it-support-gateway:problem:not-self"
    assert problem["detail"] == "elena may ask only about themselves as actor, not about 'omar'"
    assert api.audited("decision") == []
    (refusal,) = api.audited("api.refused")
    assert refusal.actor == "elena"
    assert refusal.payload["route"] == "/v1/data/gateway/authz"
    assert refusal.payload["reason"] == "not_self"


def test_context_only_the_gateway_sets_is_refused_clearly_and_audited_as_a_deny(
    api: Api,
) -> None:
    response = api.client.post(
        "/v1/data/gateway/authz",
        json={"input": {**RESET, "context": {"step_up_age_seconds": 1}}},
        headers=api.as_service(),
    )

    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "urn:it-support-gateway:problem:gateway-context"
    assert problem["errors"] == [
        {
            "field": "input.context.step_up_age_seconds",
            "message": "set by the gateway, not by callers",
        }
    ]
    (record,) = api.audited("decision")
    assert record.payload["decision"] == "deny"
    assert record.decision_id == problem["decision_id"]
    assert "set by the gateway" in record.payload["reasons"][0]["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**RESET, "actor": ""}, "actor"),
        ({**RESET, "action": "Password Reset"}, "action"),
        ({**RESET, "resource": "tom"}, "resource"),
        ({**RESET, "surprise": 1}, "surprise"),
        ({"action": "password.reset", "resource": "account:tom"}, "actor"),
    ],
    ids=["an empty actor", "a malformed action", "a resource without a type",
         "an unknown field", "a missing actor"],
)  # fmt: skip
def test_an_invalid_request_names_the_field(api: Api, body: dict[str, object], field: str) -> None:
    response = api.client.post("/v1/decisions", json=body, headers=api.as_service())

    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "urn:it-support-gateway:problem:invalid-request"
    assert response.headers["content-type"] == "application/problem+json"
    assert any(error["field"].startswith(field) for error in problem["errors"])
    assert problem["detail"].startswith(problem["errors"][0]["field"])
    assert api.audited("decision") == []


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"context": {"ratio": 0.5}}, "input.context", "context.ratio: float is not allowed"),
        ({"context": {"n": 2**60}}, "input.context", "context.n: integer out of range"),
        ({"context": {"note": "\ud800"}}, "input.context", "no lone surrogates"),
        ({"actor": "el\ud800na"}, "input.actor", "valid string"),
        ({"resource": "account:t\udc00m"}, "input.resource", "valid string"),
    ],
    ids=["a float", "an integer beyond 2**53", "a lone surrogate in the context",
         "a lone surrogate in the actor", "a lone surrogate in the resource"],
)  # fmt: skip
def test_what_cannot_be_audited_is_refused_before_deciding(
    api: Api, change: dict[str, object], field: str, message: str
) -> None:
    body = json.dumps({"input": {**RESET, **change}})  # escapes lone surrogates, as JSON may
    response = api.client.post(
        "/v1/data/gateway/authz",
        content=body,
        headers={**api.as_service(), "Content-Type": "application/json"},
    )

    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["field"].startswith(field)
    assert message in error["message"]
    assert api.audit_records() == []


def test_fields_inside_input_are_named_with_their_path(api: Api) -> None:
    response = api.client.post(
        "/v1/data/gateway/authz",
        json={"input": {**RESET, "actor": ""}},
        headers=api.as_service(),
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "input.actor"


def test_a_body_that_is_not_an_object_is_named_body(api: Api) -> None:
    response = api.client.post("/v1/decisions", json=[1, 2], headers=api.as_service())

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body"


def test_malformed_json_is_a_400_problem(api: Api) -> None:
    response = api.client.post(
        "/v1/decisions",
        content=b'{"actor": ',
        headers={**api.as_service(), "Content-Type": "application/json"},
    )

    assert response.status_code == 400
    problem = response.json()
    assert problem["type"] == "urn:it-support-gateway:problem:malformed-json"
    assert problem["detail"].startswith("body: not JSON: ")
    assert problem["instance"] == "/v1/decisions"


def test_decisions_are_counted_by_result(api: Api) -> None:
    service = api.as_service()
    api.client.post("/v1/decisions", json=RESET, headers=service)
    api.client.post(
        "/v1/decisions",
        json={"actor": "lena", "action": "kb.publish", "resource": "article:x"},
        headers=service,
    )

    text = api.client.get("/metrics", headers=service).text

    assert 'gateway_decisions_total{decision="allow"} 1.0' in text
    assert 'gateway_decisions_total{decision="deny"} 1.0' in text


def test_without_an_audit_log_a_refusal_is_still_a_refusal(make_api: MakeApi) -> None:
    api = make_api("[audit]\nunsafe_no_audit = true\n")

    response = api.client.post(
        "/v1/decisions", json={**RESET, "actor": "omar"}, headers=api.as_person("elena")
    )

    assert response.status_code == 403
