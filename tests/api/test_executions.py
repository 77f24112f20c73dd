"""Executions over HTTP: start, follow, cancel, read a sealed output once."""

from __future__ import annotations

import time
from typing import Any

import pyotp

from tests.api.conftest import Api


def wait_for(api: Api, headers: dict[str, str], execution_id: str, *states: str) -> dict[str, Any]:
    """The execution once it reaches one of ``states`` (the background worker runs it)."""
    for _ in range(400):
        body: dict[str, Any] = api.client.get(
            f"/v1/executions/{execution_id}", headers=headers
        ).json()
        if body["state"] in states:
            return body
        time.sleep(0.02)
    raise AssertionError(f"execution {execution_id} stayed {body['state']}")


def test_a_service_starts_a_workflow_for_an_actor_and_it_runs(api: Api) -> None:
    headers = api.as_service("executions:write", "executions:read")

    response = api.client.post(
        "/v1/executions",
        json={"workflow": "password-reset", "parameters": {"user": "tom"}, "actor": "elena"},
        headers=headers,
    )

    assert response.status_code == 202
    started = response.json()
    assert response.headers["location"] == f"/v1/executions/{started['id']}"
    done = wait_for(api, headers, started["id"], "succeeded", "failed")
    assert done["state"] == "succeeded"
    assert done["actor"] == "elena"
    assert [s["step"] for s in done["steps"]] == ["lookup", "reset", "tell-user"]
    assert done["steps"][1]["secret_outputs"] == ["temporary_password"]
    assert "temporary_password" not in str(done["steps"][1]["output"])
    assert [r.type for r in api.audited("action.started")][:2] == ["action.started"] * 2


def test_a_person_steps_up_bound_to_the_request_and_reads_the_password_once(api: Api) -> None:
    person = api.as_person("tom")
    stepup = api.gateway.stepup
    assert stepup is not None
    seed = stepup.enrol("tom").seed.get_secret_value()

    started = api.client.post(
        "/v1/executions", json={"workflow": "password-reset", "parameters": {"user": "tom"}},
        headers=person,
    ).json()  # fmt: skip
    waiting = wait_for(api, person, started["id"], "awaiting_step_up")
    digest = waiting["waiting"]["digest"]
    verified = api.client.post(
        "/v1/stepup/verify",
        json={"code": pyotp.TOTP(seed).now(), "bound_to": digest},
        headers=person,
    )
    done = wait_for(api, person, started["id"], "succeeded", "failed")
    first = api.client.post(
        f"/v1/executions/{started['id']}/secrets/temporary_password", headers=person
    )
    second = api.client.post(
        f"/v1/executions/{started['id']}/secrets/temporary_password", headers=person
    )

    assert verified.status_code == 204
    assert done["state"] == "succeeded"
    assert first.status_code == 200
    assert len(first.json()["value"]) == 20
    assert second.status_code == 409
    assert "no unread secret output" in second.json()["detail"]
    password = first.json()["value"]
    shown = api.client.get(f"/v1/executions/{started['id']}", headers=person).text
    assert password not in shown
    assert password not in api.config.audit.log.read_text()


def test_a_vote_through_the_api_lets_the_waiting_execution_go_on(api: Api) -> None:
    omar = api.as_person("omar")
    started = api.client.post(
        "/v1/executions",
        json={"workflow": "access-grant", "parameters": {"user": "tom", "system": "payroll"}},
        headers=omar,
    ).json()
    waiting = wait_for(api, omar, started["id"], "pending_approval")

    vote = api.client.post(
        f"/v1/approvals/{waiting['waiting']['approval_id']}/approve",
        json={"digest": waiting["waiting"]["digest"]},
        headers=api.as_person("priya"),
    )
    done = wait_for(api, omar, started["id"], "succeeded", "failed")

    assert vote.status_code == 200
    assert done["state"] == "succeeded"


def test_a_person_cannot_start_an_execution_as_someone_else(api: Api) -> None:
    response = api.client.post(
        "/v1/executions",
        json={"workflow": "password-reset", "parameters": {"user": "tom"}, "actor": "grace"},
        headers=api.as_person("tom"),
    )

    assert response.status_code == 403
    assert response.json()["type"] == "urn:it-support-gateway:problem:not-yourself"


def test_a_service_must_name_the_actor(api: Api) -> None:
    response = api.client.post(
        "/v1/executions",
        json={"workflow": "password-reset", "parameters": {"user": "tom"}},
        headers=api.as_service("executions:write"),
    )

    assert response.status_code == 422
    assert response.json()["type"] == "urn:it-support-gateway:problem:actor-required"


def test_invalid_parameters_are_422_naming_each_one(api: Api) -> None:
    response = api.client.post(
        "/v1/executions",
        json={"workflow": "access-grant", "parameters": {"user": "tom", "colour": "red"}},
        headers=api.as_person("omar"),
    )

    problem = response.json()
    assert response.status_code == 422
    assert problem["type"] == "urn:it-support-gateway:problem:invalid-parameters"
    assert {e["field"] for e in problem["errors"]} == {"parameters.colour", "parameters.system"}


def test_an_unknown_workflow_is_404(api: Api) -> None:
    response = api.client.post(
        "/v1/executions", json={"workflow": "format-disk"}, headers=api.as_person("tom")
    )

    assert response.status_code == 404
    assert "unknown workflow 'format-disk'" in response.json()["detail"]


def test_the_same_idempotency_key_gives_the_same_execution_and_another_body_is_409(
    api: Api,
) -> None:
    headers = {**api.as_person("tom"), "Idempotency-Key": "order-17"}
    body = {"workflow": "software-install", "parameters": {"title": "7zip", "device": "tom-pc"}}

    first = api.client.post("/v1/executions", json=body, headers=headers)
    again = api.client.post("/v1/executions", json=body, headers=headers)
    other = api.client.post(
        "/v1/executions",
        json={"workflow": "software-install", "parameters": {"title": "7zip", "device": "tom-mac"}},
        headers=headers,
    )

    assert first.json()["id"] == again.json()["id"]
    assert other.status_code == 409
    assert other.json()["type"] == "urn:it-support-gateway:problem:idempotency-key-reused"


def test_a_second_execution_on_the_same_target_is_a_409_naming_the_first(api: Api) -> None:
    omar = api.as_person("omar")
    body = {"workflow": "access-grant", "parameters": {"user": "tom", "system": "crm"}}
    first = api.client.post("/v1/executions", json=body, headers=omar).json()
    wait_for(api, omar, first["id"], "pending_approval")

    second = api.client.post("/v1/executions", json=body, headers=omar)

    assert second.status_code == 409
    assert first["id"] in second.json()["detail"]


def test_people_see_and_cancel_only_their_own_executions(api: Api) -> None:
    omar = api.as_person("omar")
    started = api.client.post(
        "/v1/executions",
        json={"workflow": "access-grant", "parameters": {"user": "tom", "system": "wiki"}},
        headers=omar,
    ).json()
    wait_for(api, omar, started["id"], "pending_approval")
    tom = api.as_person("tom")

    hidden = api.client.get(f"/v1/executions/{started['id']}", headers=tom)
    refused = api.client.post(f"/v1/executions/{started['id']}/cancel", headers=tom)
    listed = api.client.get("/v1/executions", headers=tom).json()
    cancelled = api.client.post(f"/v1/executions/{started['id']}/cancel", headers=omar)
    again = api.client.post(f"/v1/executions/{started['id']}/cancel", headers=omar)

    assert hidden.status_code == 404
    assert refused.status_code == 404
    assert started["id"] not in {e["id"] for e in listed}
    assert cancelled.json()["state"] == "cancelled"
    assert again.status_code == 409


def test_a_service_lists_every_execution_and_the_workflows(api: Api) -> None:
    api.client.post(
        "/v1/executions",
        json={"workflow": "software-install", "parameters": {"title": "7zip", "device": "d-1"}},
        headers=api.as_person("tom"),
    )
    service = api.as_service("executions:write", "executions:read")

    listed = api.client.get("/v1/executions", headers=service).json()
    workflows = api.client.get("/v1/workflows", headers=service).json()

    assert [e["actor"] for e in listed] == ["tom"]
    assert {w["id"] for w in workflows} >= {"password-reset", "access-grant", "software-install"}
    reset = next(w for w in workflows if w["id"] == "password-reset")
    assert reset["parameters"]["must_change"]["type"] == "boolean"


def test_without_a_runtime_the_execution_routes_say_so(api: Api) -> None:
    runtime = api.services.runtime
    api.services.runtime = None
    try:
        response = api.client.get("/v1/workflows", headers=api.as_person("tom"))
    finally:
        api.services.runtime = runtime

    assert response.status_code == 404
    assert response.json()["type"] == "urn:it-support-gateway:problem:runtime-disabled"


def test_a_person_refused_the_reset_of_another_account_learns_none_of_its_facts(
    api: Api,
) -> None:
    person = api.as_person("tom")

    answers = {}
    for user in ("sam", "nobody"):
        response = api.client.post(
            "/v1/executions",
            json={"workflow": "password-reset", "parameters": {"user": user}},
            headers=person,
        )
        assert response.status_code == 202
        started = response.json()
        done = wait_for(api, person, started["id"], "succeeded", "failed")
        shown = (
            response.text + api.client.get(f"/v1/executions/{started['id']}", headers=person).text
        )
        answers[user] = done["error"]
        assert done["state"] == "failed"
        assert [s["output"] for s in done["steps"]] == [{}, {}, {}]
        for fact in ("sam@example.com", "omar", "privileged", "mfa", "not found", "no directory"):
            assert fact not in shown

    assert answers == {
        "sam": "step lookup refused: tom is not allowed password.reset on account:sam",
        "nobody": "step lookup refused: tom is not allowed password.reset on account:nobody",
    }
    assert api.audited("action.started") == []


def test_a_change_number_for_a_workflow_not_bound_to_changes_is_refused(api: Api) -> None:
    headers = api.as_service("executions:write", "executions:read")

    response = api.client.post(
        "/v1/executions",
        json={"workflow": "password-reset", "parameters": {"user": "tom"}, "actor": "elena",
              "change_request": "CHG0030001"},
        headers=headers,
    )  # fmt: skip

    assert response.status_code in (400, 422)
    assert "password-reset is not bound to change requests" in response.json()["detail"]
    assert api.audited("execution.started") == []


def test_a_change_number_of_the_wrong_shape_is_refused_by_the_schema(api: Api) -> None:
    headers = api.as_service("executions:write")

    response = api.client.post(
        "/v1/executions",
        json={"workflow": "password-reset", "parameters": {"user": "tom"}, "actor": "elena",
              "change_request": "CHG1^approval=approved"},
        headers=headers,
    )  # fmt: skip

    assert response.status_code == 422
    document = api.client.get("/openapi.json", headers=api.as_service()).json()
    schema = document["components"]["schemas"]["StartExecution"]
    assert schema["properties"]["change_request"]["anyOf"][0]["type"] == "string"
