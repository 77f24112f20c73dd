"""The decision routes read a well-formed JSON body themselves and hand anything else to
FastAPI: either way the caller sees the same checks, in the same order, and the same
answers."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable

import pytest

from tests.api.conftest import Api, MakeApi

Wrap = Callable[[dict[str, object]], dict[str, object]]
RESET: dict[str, object] = {"actor": "elena", "action": "password.reset", "resource": "account:tom"}
ROUTES = [
    pytest.param("/v1/decisions", lambda body: body, id="the plain route"),
    pytest.param("/v1/data/gateway/authz", lambda body: {"input": body}, id="the data api"),
]


def _decision(path: str, answer: dict[str, object]) -> dict[str, object]:
    result = answer["result"] if path == "/v1/data/gateway/authz" else answer
    assert isinstance(result, dict)
    return result


@pytest.mark.parametrize(("path", "wrap"), ROUTES)
@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "application/vnd.api+json"],
)
def test_every_json_content_type_gets_the_same_audited_decision(
    api: Api, path: str, wrap: Wrap, content_type: str
) -> None:
    body = json.dumps(wrap({**RESET, "context": {"ticket": "INC-7"}})).encode()

    response = api.client.post(
        path, content=body, headers={**api.as_service(), "Content-Type": content_type}
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    decision = _decision(path, response.json())
    assert (decision["allow"], decision["decision"]) == (True, "allow")
    (record,) = api.audited("decision")
    assert record.decision_id == decision["decision_id"]
    assert record.payload["context"]["ticket"] == "INC-7"


@pytest.mark.parametrize(("path", "wrap"), ROUTES)
@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        pytest.param(json.dumps({"actor": "elena"}).encode(), "application/json", id="no action"),
        pytest.param(json.dumps(RESET).encode(), "text/plain", id="not JSON"),
    ],
)
def test_credentials_are_checked_before_the_body(
    api: Api, path: str, wrap: Wrap, content: bytes, content_type: str
) -> None:
    response = api.client.post(path, content=content, headers={"Content-Type": content_type})

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert api.audited("decision") == []


@pytest.mark.parametrize(("path", "wrap"), ROUTES)
def test_malformed_json_is_named_before_credentials_are_asked_for(
    api: Api, path: str, wrap: Wrap
) -> None:
    response = api.client.post(
        path, content=b'{"actor": ', headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json()["type"] == "urn:it-support-gateway:problem:malformed-json"


@pytest.mark.parametrize(("path", "wrap"), ROUTES)
def test_a_caller_without_the_scope_is_refused_before_deciding(
    api: Api, path: str, wrap: Wrap
) -> None:
    response = api.client.post(path, json=wrap(RESET), headers=api.as_service("audit:read"))

    assert response.status_code == 403
    assert "decisions:write" in response.json()["detail"]
    assert api.audited("decision") == []


@pytest.mark.parametrize(("path", "wrap"), ROUTES)
def test_a_body_sent_as_text_is_an_invalid_request_for_a_service(
    api: Api, path: str, wrap: Wrap
) -> None:
    response = api.client.post(
        path,
        content=json.dumps(wrap(RESET)).encode(),
        headers={**api.as_service(), "Content-Type": "text/plain"},
    )

    assert response.status_code == 422
    assert response.json()["type"] == "urn:it-support-gateway:problem:invalid-request"
    assert api.audited("decision") == []


@pytest.mark.parametrize(("path", "wrap"), ROUTES)
def test_a_lone_surrogate_in_the_context_is_refused_before_deciding(
    api: Api, path: str, wrap: Wrap
) -> None:
    text = json.dumps(wrap({**RESET, "context": {"note": "x"}}))
    body = text.replace('"x"', '"\\ud800"').encode()

    response = api.client.post(
        path, content=body, headers={**api.as_service(), "Content-Type": "application/json"}
    )

    assert response.status_code == 422
    assert "cannot be audited" in response.json()["detail"]
    assert api.audited("decision") == []


def _full_disk(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """The audit log's device fills up: every later write fails (ENOSPC)."""

    def full(data: bytes, size: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(api.gateway.audit, "_write_durably", full)


@pytest.mark.parametrize(("path", "wrap"), ROUTES)
@pytest.mark.parametrize("content_type", ["application/json", "application/vnd.api+json"])
def test_a_decision_whose_record_cannot_be_written_is_not_given(
    api: Api, monkeypatch: pytest.MonkeyPatch, path: str, wrap: Wrap, content_type: str
) -> None:
    headers = {**api.as_service(), "Content-Type": content_type}
    _full_disk(api, monkeypatch)

    response = api.client.post(path, content=json.dumps(wrap(RESET)).encode(), headers=headers)

    assert response.status_code == 503
    problem = response.json()
    assert problem["type"] == "urn:it-support-gateway:problem:audit-unavailable"
    assert "allow" not in json.dumps(problem)
    assert api.audited("decision") == []


@pytest.mark.parametrize(("path", "wrap"), ROUTES)
def test_gateway_context_is_refused_only_after_its_deny_is_written(
    api: Api, monkeypatch: pytest.MonkeyPatch, path: str, wrap: Wrap
) -> None:
    forged = wrap({**RESET, "context": {"step_up_age_seconds": 1}})

    refused = api.client.post(path, json=forged, headers=api.as_service())
    (record,) = api.audited("decision")
    _full_disk(api, monkeypatch)
    unwritten = api.client.post(path, json=forged, headers=api.as_service())

    assert refused.status_code == 422
    assert refused.json()["decision_id"] == record.decision_id
    assert record.payload["decision"] == "deny"
    assert unwritten.status_code == 503
    assert unwritten.json()["type"] == "urn:it-support-gateway:problem:audit-unavailable"
    assert len(api.audited("decision")) == 1


def test_decisions_without_an_audit_log_are_still_answered(make_api: MakeApi) -> None:
    api = make_api("[audit]\nunsafe_no_audit = true\n")

    response = api.client.post("/v1/decisions", json=RESET, headers=api.as_service())

    assert response.status_code == 200
    assert response.json()["allow"] is True
