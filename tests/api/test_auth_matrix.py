"""Every route but the three anonymous ones refuses callers without credentials (401) and
callers whose credentials lack the route's scope (403)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.conftest import ALL_SCOPES, SERVICE_SCOPES, Api, MakeApi, build_api

ANONYMOUS = {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/.well-known/jwks.json")}
SCOPE_OF = {
    ("GET", "/metrics"): "metrics:read",
    ("POST", "/v1/data/gateway/authz"): "decisions:write",
    ("POST", "/v1/decisions"): "decisions:write",
    ("POST", "/v1/stepup/verify"): "stepup:write",
    ("GET", "/v1/stepup/status"): "stepup:write",
    ("GET", "/v1/approvals"): "approvals:write",
    ("GET", "/v1/approvals/{approval_id}"): "approvals:write",
    ("POST", "/v1/approvals/{approval_id}/approve"): "approvals:write",
    ("POST", "/v1/approvals/{approval_id}/reject"): "approvals:write",
    ("GET", "/v1/audit/checkpoint"): "audit:read",
    ("GET", "/v1/audit/proofs/inclusion"): "audit:read",
    ("GET", "/v1/audit/proofs/consistency"): "audit:read",
    ("GET", "/v1/workflows"): "executions:write",
    ("POST", "/v1/executions"): "executions:write",
    ("GET", "/v1/executions"): "executions:read",
    ("GET", "/v1/executions/{execution_id}"): "executions:read",
    ("POST", "/v1/executions/{execution_id}/cancel"): "executions:write",
    ("POST", "/v1/executions/{execution_id}/secrets/{name}"): "executions:write",
    ("GET", "/v1/catalog"): "catalog:run",
    ("GET", "/v1/catalog/items/{item_id}"): "catalog:run",
    ("POST", "/v1/catalog/items/{item_id}/runs"): "catalog:run",
    ("GET", "/v1/catalog/runs/{run_id}"): "catalog:run",
    ("POST", "/v1/catalog/runs/{run_id}/resume"): "catalog:run",
    ("POST", "/v1/catalog/runs/{run_id}/cancel"): "catalog:run",
    ("GET", "/v1/catalog/usage"): "catalog:usage",
    ("GET", "/v1/troubleshooting/trees"): "troubleshooting:write",
    ("POST", "/v1/troubleshooting/sessions"): "troubleshooting:write",
    ("GET", "/v1/troubleshooting/sessions/{session_id}"): "troubleshooting:write",
    ("POST", "/v1/troubleshooting/sessions/{session_id}/answer"): "troubleshooting:write",
    ("POST", "/v1/troubleshooting/sessions/{session_id}/undo"): "troubleshooting:write",
    ("POST", "/v1/troubleshooting/sessions/{session_id}/resume"): "troubleshooting:write",
    ("GET", "/v1/troubleshooting/reports/{tree_id}"): "troubleshooting:write",
    ("POST", "/v1/tickets/servicenow"): "tickets:write",
    ("POST", "/v1/tickets/generic"): "tickets:write",
    ("GET", "/v1/knowledge/search"): "knowledge:read",
    ("POST", "/v1/knowledge/suggestions"): "knowledge:read",
    ("GET", "/v1/knowledge/articles/{article_id}"): "knowledge:read",
}
# Authenticated by their own signature, not by gateway credentials (tests/tickets).
SIGNED = {("POST", "/v1/tickets/jira")}
ROUTES = sorted(SCOPE_OF)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One app for the whole matrix: every call here is refused, so nothing changes."""
    api = build_api(tmp_path_factory.mktemp("matrix"))
    yield api
    api.close()


def call(api: Api, method: str, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
    url = (
        path.replace("{approval_id}", "0123abcd")
        .replace("{execution_id}", "0" * 32)
        .replace("{name}", "temporary_password")
        .replace("{item_id}", "install-software")
        .replace("{run_id}", "0" * 32)
        .replace("{session_id}", "0" * 32)
        .replace("{tree_id}", "network-connectivity")
        .replace("{article_id}", "vpn-reset")
    )
    query = {"index": "0", "size": "1", "old": "0", "new": "0"}
    body: dict[str, str] | None = {} if method == "POST" else None
    response = api.client.request(method, url, params=query, json=body, headers=headers)
    assert response.headers["content-type"] == "application/problem+json"
    return response.status_code, response.json()


def test_the_table_covers_every_operation_of_the_openapi_document(api: Api) -> None:
    document = api.client.get("/openapi.json", headers=api.as_service()).json()

    operations = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }

    assert operations == set(SCOPE_OF) | ANONYMOUS | SIGNED


def test_the_openapi_document_itself_needs_credentials(api: Api) -> None:
    assert api.client.get("/openapi.json").status_code == 401


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_without_credentials_the_answer_is_401(shared: Api, method: str, path: str) -> None:
    status, problem = call(shared, method, path, {})

    assert status == 401
    assert problem["type"] == "urn:it-support-gateway:problem:missing"


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_an_api_key_without_the_scope_gets_403(shared: Api, method: str, path: str) -> None:
    scope = SCOPE_OF[(method, path)]
    others = [name for name in SERVICE_SCOPES if name != scope]

    status, problem = call(shared, method, path, shared.as_service(*others))

    assert status == 403
    assert problem["type"] in {
        "urn:it-support-gateway:problem:missing-scope",
        "urn:it-support-gateway:problem:people-only",
    }


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_a_token_without_the_scope_gets_403_naming_it(shared: Api, method: str, path: str) -> None:
    scope = SCOPE_OF[(method, path)]
    others = [name for name in ALL_SCOPES if name != scope]

    status, problem = call(shared, method, path, shared.as_person("elena", *others))

    assert status == 403
    assert problem["scope"] == scope
    assert problem["detail"] == f"the credentials lack the scope {scope}"


@pytest.mark.parametrize(
    ("headers", "name", "detail"),
    [
        ({"Authorization": "Basic ZWxlbmE6cHc="}, "scheme", "Authorization must read"),
        ({"Authorization": "Bearer "}, "scheme", "Authorization must read"),
        ({"Authorization": "Bearer gwk_x", "X-API-Key": "gwk_x"}, "ambiguous", "not both"),
        ({"X-API-Key": "gwk_" + "0" * 16 + "_" + "0" * 64}, "unknown-key", "unknown API key"),
        ({"Authorization": "Bearer not.a.jwt"}, "malformed-token", "bearer token is malformed"),
    ],
    ids=["another scheme", "an empty bearer", "two credentials", "an unknown key",
         "a malformed token"],
)  # fmt: skip
def test_refused_credentials_are_401_saying_why(
    shared: Api, headers: dict[str, str], name: str, detail: str
) -> None:
    status, problem = call(shared, "GET", "/v1/audit/checkpoint", headers)

    assert status == 401
    assert problem["type"] == f"urn:it-support-gateway:problem:{name}"
    assert detail in problem["detail"]


def test_a_revoked_key_is_refused(api: Api) -> None:
    headers = api.as_service()
    api.services.callers.api_keys.revoke("svc-0")

    status, problem = call(api, "GET", "/v1/audit/checkpoint", headers)

    assert status == 401
    assert problem["type"] == "urn:it-support-gateway:problem:revoked-key"


def test_an_api_key_may_also_be_sent_as_a_bearer_credential(api: Api) -> None:
    key = api.key("audit:read")

    response = api.client.get("/v1/audit/checkpoint", headers={"Authorization": f"Bearer {key}"})

    assert response.status_code == 200


def test_tokens_cannot_be_checked_while_the_identity_provider_is_unreachable(
    make_api: MakeApi,
) -> None:
    api = make_api(
        '[api]\ntoken_issuer = "https://idp.example.com"\n'
        'jwks_url = "http://127.0.0.1:9/keys"\n'  # nothing listens there
    )
    token = "eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.e30.c2ln"  # names key id k1

    status, problem = call(api, "GET", "/v1/audit/checkpoint", {"Authorization": f"Bearer {token}"})

    assert status == 503
    assert problem["type"] == "urn:it-support-gateway:problem:token-keys-unavailable"
