"""Every route but the three anonymous ones refuses callers without credentials (401),
callers whose credentials lack the route's scope (403), and people the directory does not
show as active (403; 503 when the directory cannot say)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gateway.enforcement.table import Entry, routes
from gateway.errors import DirectoryUnavailableError, UnknownActorError
from gateway.identity.directory import DirectoryConnector
from gateway.identity.facts import AccountStatus, IdentityFacts, ResourceFacts
from tests.api.conftest import ALL_SCOPES, SERVICE_SCOPES, Api, MakeApi, build_api


# Who may call each route comes from the one authorization table (gateway.enforcement).
def _key(entry: Entry) -> tuple[str, str]:
    method, path = entry.name.split(" ", 1)
    return method, path


ANONYMOUS = {_key(e) for e in routes() if e.callers == ("anonymous",)}
SIGNED = {_key(e) for e in routes() if e.callers == ("signed",)}  # their own signature
SCOPE_OF = {_key(e): e.scope for e in routes() if e.scope is not None}
ROUTES = sorted(SCOPE_OF)
OPTIONS = ("OPTIONS", "/{path:path}")


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

    # neither /openapi.json nor OPTIONS (the Allow of every path) is in it
    assert operations == (set(SCOPE_OF) | ANONYMOUS | SIGNED) - {OPTIONS}


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


class ChangedDirectory:
    """The gateway's directory, with one person's status changed since the token was issued,
    or with the directory unreachable."""

    def __init__(self, inner: DirectoryConnector, *, status: dict[str, AccountStatus] | None = None,
                 down: bool = False, forgotten: str | None = None) -> None:  # fmt: skip
        self.inner = inner
        self.status = status or {}
        self.down = down
        self.forgotten = forgotten
        self.name = "changed"

    def get_user(self, user_id: str) -> IdentityFacts:
        if self.down:
            raise DirectoryUnavailableError("directory unavailable: ldap://dc1 timed out")
        if user_id == self.forgotten:
            raise UnknownActorError(user_id)
        facts = self.inner.get_user(user_id)
        if user_id in self.status:
            return facts.model_copy(update={"status": self.status[user_id]})
        return facts

    def get_resource(self, kind: str, resource_id: str) -> ResourceFacts:
        return self.inner.get_resource(kind, resource_id)


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_a_disabled_persons_token_is_refused_on_every_route(
    shared: Api, method: str, path: str
) -> None:
    status, problem = call(shared, method, path, shared.as_person("lena"))

    assert status == 403
    assert problem["type"] == "urn:it-support-gateway:problem:inactive-person"
    assert problem["detail"] == "lena is disabled in the directory"


@pytest.mark.parametrize(
    "status", [AccountStatus.DISABLED, AccountStatus.LOCKED, AccountStatus.SUSPENDED]
)
def test_a_token_stops_working_when_its_person_is_made_inactive(
    api: Api, status: AccountStatus
) -> None:
    headers = api.as_person("tom", "audit:read")
    assert api.client.get("/v1/audit/checkpoint", headers=headers).status_code == 200
    api.gateway.directory = ChangedDirectory(api.gateway.directory, status={"tom": status})

    code, problem = call(api, "GET", "/v1/audit/checkpoint", headers)

    assert code == 403
    assert problem["type"] == "urn:it-support-gateway:problem:inactive-person"
    assert problem["detail"] == f"tom is {status} in the directory"
    (refusal,) = api.audited("api.refused")
    assert refusal.actor == "tom"
    assert refusal.payload["reason"] == "inactive_person"
    assert refusal.payload["route"] == "/v1/audit/checkpoint"


def test_a_person_whose_password_expired_still_gets_in(api: Api) -> None:
    headers = api.as_person("tom", "audit:read")
    api.gateway.directory = ChangedDirectory(
        api.gateway.directory, status={"tom": AccountStatus.PASSWORD_EXPIRED}
    )

    assert api.client.get("/v1/audit/checkpoint", headers=headers).status_code == 200


def test_a_token_for_someone_the_directory_no_longer_knows_is_refused(api: Api) -> None:
    headers = api.as_person("tom", "audit:read")
    api.gateway.directory = ChangedDirectory(api.gateway.directory, forgotten="tom")

    code, problem = call(api, "GET", "/v1/audit/checkpoint", headers)

    assert code == 403
    assert problem["type"] == "urn:it-support-gateway:problem:unknown-person"
    assert problem["detail"] == "tom is not in the directory"


def test_with_the_directory_down_tokens_are_refused_and_api_keys_still_work(api: Api) -> None:
    person = api.as_person("tom", "audit:read")
    service = api.as_service("audit:read")
    api.gateway.directory = ChangedDirectory(api.gateway.directory, down=True)

    code, problem = call(api, "GET", "/v1/audit/checkpoint", person)

    assert code == 503
    assert problem["type"] == "urn:it-support-gateway:problem:directory-unavailable"
    assert api.client.get("/v1/audit/checkpoint", headers=service).status_code == 200
