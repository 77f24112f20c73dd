"""Step-up over HTTP: the calling person proves presence with a code, and only for
themselves."""

from __future__ import annotations

import time
from typing import Any

import pyotp

from tests.api.conftest import Api, MakeApi

DIGEST = "sha256:" + "ab" * 32


def enrol(api: Api, user: str) -> tuple[pyotp.TOTP, list[str]]:
    assert api.gateway.stepup is not None
    enrolment = api.gateway.stepup.enrol(user)
    codes = [code.get_secret_value() for code in enrolment.recovery_codes]
    return pyotp.TOTP(enrolment.seed.get_secret_value()), codes


def test_a_right_code_is_accepted_once_and_bound(api: Api) -> None:
    totp, _ = enrol(api, "elena")
    person = api.as_person("elena", "stepup:write")
    code = totp.now()

    accepted = api.client.post(
        "/v1/stepup/verify", json={"code": code, "bound_to": DIGEST}, headers=person
    )
    replayed = api.client.post("/v1/stepup/verify", json={"code": code}, headers=person)

    assert (accepted.status_code, accepted.content) == (204, b"")
    assert replayed.status_code == 401
    assert replayed.json()["type"] == "urn:it-support-gateway:problem:step-up-rejected"
    assert code not in replayed.text
    assert [r.payload["bound_to"] for r in api.audited("stepup.verified")] == [DIGEST]


def test_a_wrong_code_is_401_and_too_many_lock_with_retry_after(make_api: MakeApi) -> None:
    api = make_api("[stepup]\nmax_failures = 2\nlockout_seconds = 600\n")
    totp, _ = enrol(api, "elena")
    person = api.as_person("elena")
    wrong = "000000" if totp.now() != "000000" else "111111"

    first = api.client.post("/v1/stepup/verify", json={"code": wrong}, headers=person)
    second = api.client.post("/v1/stepup/verify", json={"code": wrong}, headers=person)
    locked = api.client.post("/v1/stepup/verify", json={"code": totp.now()}, headers=person)

    assert first.status_code == 401
    assert first.headers["www-authenticate"].startswith("Bearer")
    assert (second.status_code, locked.status_code) == (429, 429)
    assert locked.json()["type"] == "urn:it-support-gateway:problem:step-up-locked"
    assert 590 <= int(locked.headers["retry-after"]) <= 600
    status = api.client.get("/v1/stepup/status", headers=person).json()
    assert status["locked_until"] is not None


def test_not_enrolled_is_409(api: Api) -> None:
    response = api.client.post(
        "/v1/stepup/verify", json={"code": "123456"}, headers=api.as_person("omar")
    )

    assert response.status_code == 409
    assert response.json()["detail"] == "user 'omar' is not enrolled for step-up"


def test_a_malformed_code_is_422(api: Api) -> None:
    enrol(api, "elena")

    response = api.client.post(
        "/v1/stepup/verify", json={"code": "12ab"}, headers=api.as_person("elena")
    )

    assert response.status_code == 422
    assert response.json()["type"] == "urn:it-support-gateway:problem:malformed-code"


def test_a_recovery_code_works_once(api: Api) -> None:
    _, codes = enrol(api, "elena")
    person = api.as_person("elena")

    used = api.client.post(
        "/v1/stepup/verify", json={"code": codes[0], "recovery": True}, headers=person
    )
    again = api.client.post(
        "/v1/stepup/verify", json={"code": codes[0], "recovery": True}, headers=person
    )

    assert (used.status_code, again.status_code) == (204, 401)
    assert codes[0] not in again.text


def test_the_status_is_the_callers_own(api: Api) -> None:
    totp, _ = enrol(api, "elena")
    person = api.as_person("elena")
    api.client.post("/v1/stepup/verify", json={"code": totp.now()}, headers=person)

    mine = api.client.get("/v1/stepup/status", headers=person).json()
    theirs = api.client.get("/v1/stepup/status", headers=api.as_person("omar")).json()

    assert (mine["user"], mine["enrolled"], mine["locked_until"]) == ("elena", True, None)
    assert mine["last_step_up"] is not None
    assert (theirs["user"], theirs["enrolled"], theirs["last_step_up"]) == ("omar", False, None)


def test_a_service_cannot_step_up_and_the_attempt_is_audited(api: Api) -> None:
    response = api.client.post(
        "/v1/stepup/verify", json={"code": "123456"}, headers=api.as_service()
    )

    assert response.status_code == 403
    assert response.json()["type"] == "urn:it-support-gateway:problem:people-only"
    (refusal,) = api.audited("api.refused")
    assert str(refusal.actor).startswith("api-key:")
    assert refusal.payload["route"] == "/v1/stepup/verify"
    assert refusal.payload["caller_kind"] == "api_key"


def test_step_up_routes_answer_404_when_step_up_is_off(make_api: MakeApi) -> None:
    api = make_api("[stepup]\nenabled = false\n")
    person = api.as_person("elena")

    verify = api.client.post("/v1/stepup/verify", json={"code": "123456"}, headers=person)
    status = api.client.get("/v1/stepup/status", headers=person)

    assert (verify.status_code, status.status_code) == (404, 404)
    assert verify.json()["type"] == "urn:it-support-gateway:problem:step-up-disabled"


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


def test_a_step_up_bound_to_a_reset_lets_one_execution_go_on_not_the_next(api: Api) -> None:
    totp, _ = enrol(api, "tom")
    tom = api.as_person("tom", "executions:write", "executions:read", "stepup:write")
    request = {"workflow": "password-reset", "parameters": {"user": "tom"}}
    first = api.client.post("/v1/executions", json=request, headers=tom).json()["id"]
    digest = wait_for(api, tom, first, "awaiting_step_up")["waiting"]["digest"]
    verified = api.client.post(
        "/v1/stepup/verify", json={"code": totp.now(), "bound_to": digest}, headers=tom
    )
    assert verified.status_code == 204
    assert wait_for(api, tom, first, "succeeded", "failed")["state"] == "succeeded"

    second = api.client.post("/v1/executions", json=request, headers=tom).json()["id"]
    waiting = wait_for(api, tom, second, "awaiting_step_up", "succeeded", "failed")

    assert waiting["state"] == "awaiting_step_up"
    assert waiting["waiting"]["digest"] == digest
    (used,) = api.audited("stepup.consumed")
    assert used.payload["consumed_by"] == f"{first}/reset"
