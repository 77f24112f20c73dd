"""Liveness, readiness, metrics and the issuer's public keys."""

from __future__ import annotations

import resource
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import jwt
import pytest

from gateway.audit.checkpoints import verify_log_file
from gateway.audit.keys import load_public_key
from gateway.errors import AuditWriteError
from gateway.identity.resolver import IdentityResolver, ResolverSettings
from gateway.policy.request import AccessRequest
from tests.api.conftest import Api, MakeApi
from tests.identity.directories import Directory


def test_liveness_is_anonymous(api: Api) -> None:
    response = api.client.get("/healthz")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_a_fresh_gateway_is_ready_and_names_its_bundle(api: Api) -> None:
    response = api.client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "policy_digest": api.gateway.policies.engine.digest,
    }


def test_a_gateway_with_records_is_ready(api: Api) -> None:
    assert api.gateway.audit is not None
    api.client.post(
        "/v1/decisions",
        json={"actor": "elena", "action": "kb.publish", "resource": "article:x"},
        headers=api.as_service(),
    )

    assert api.client.get("/readyz").status_code == 200


def test_a_gateway_without_an_audit_log_is_not_ready(make_api: MakeApi) -> None:
    api = make_api("[audit]\nunsafe_no_audit = true\n")

    response = api.client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"] == {
        "audit": "auditing is off ([audit] unsafe_no_audit = true): actions are not audited"
    }


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ("moved", "cannot be appended to: No such file or directory"),
        ("torn", "ends in a torn record"),
        ("garbled", "last record is unreadable"),
    ],
    ids=["the log was moved away", "the log ends mid-record", "the last record is garbage"],
)
def test_not_ready_when_the_audit_log_cannot_take_the_next_record(
    api: Api, damage: str, reason: str
) -> None:
    log = api.config.audit.log
    api.client.post(
        "/v1/decisions",
        json={"actor": "elena", "action": "kb.publish", "resource": "article:x"},
        headers=api.as_service(),
    )
    if damage == "moved":
        log.rename(log.with_name("elsewhere.log"))
    elif damage == "torn":
        with log.open("ab") as handle:
            handle.write(b'{"seq": 1')
    else:
        with log.open("ab") as handle:
            handle.write(b"not a record\n")

    response = api.client.get("/readyz")

    assert response.status_code == 503
    problem = response.json()
    assert problem["type"] == "urn:it-support-gateway:problem:not-ready"
    assert reason in problem["checks"]["audit"]
    assert problem["detail"] == problem["checks"]["audit"]


DISK_FULL = Path("/dev/full")  # every write fails for lack of space, for root too


@pytest.mark.skipif(not DISK_FULL.exists(), reason="no /dev/full here")
def test_not_ready_when_the_audit_log_is_a_full_device(make_api: MakeApi) -> None:
    api = make_api(f'[audit]\nlog = "{DISK_FULL}"\n')

    response = api.client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"] == {"audit": f"audit log {DISK_FULL} is not a regular file"}


@contextmanager
def log_cannot_grow(log: Path) -> Iterator[None]:
    """No file of this process may grow past the log's size now: the next append fails
    ("File too large"), as on a full disk, while the log stays a readable, whole file."""
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (log.stat().st_size, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)


def test_not_ready_after_an_audit_append_failed_and_ready_once_one_is_written(api: Api) -> None:
    log = api.config.audit.log
    reset = AccessRequest(actor="elena", action="password.reset", resource="account:tom")
    api.gateway.authorize(reset)
    with log_cannot_grow(log):
        with pytest.raises(AuditWriteError):
            api.gateway.authorize(reset)
        while_failing = [api.client.get("/readyz") for _ in range(3)]
    after = api.client.get("/readyz")
    again = api.client.get("/readyz")

    failure = f"{log}: append failed: File too large"
    for response in while_failing:
        assert response.status_code == 503
        assert response.json()["checks"] == {"audit": f"audit log {log}: appends fail: {failure}"}
    assert (after.status_code, again.status_code) == (200, 200)
    records = api.audit_records()
    assert [record.type for record in records] == ["decision", "audit.appends_resumed"]
    assert records[1].payload == {"after_failure": failure}
    public = load_public_key(api.config.audit.signing_key.with_name("audit-signing.pub"))
    assert verify_log_file(log, public).report.records == 2


def test_not_ready_while_an_identity_source_is_cut_off(api: Api) -> None:
    ldap = Directory("ldap", {"elena": {"groups": ["helpdesk"]}}, down=True)
    api.gateway.directory = IdentityResolver(
        sources=[ldap], settings=ResolverSettings(failure_threshold=2)
    )
    assert api.client.get("/readyz").status_code == 200
    service = api.as_service()
    for _ in range(2):
        denied = api.client.post(
            "/v1/decisions",
            json={"actor": "elena", "action": "kb.publish", "resource": "article:x"},
            headers=service,
        )
        assert denied.json()["allow"] is False

    response = api.client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"] == {
        "directory": "identity source unreachable: ldap (failing, not being called)"
    }


def test_metrics_need_their_scope_and_count_requests_by_route(api: Api) -> None:
    api.client.get("/healthz")
    api.client.get("/no/such/route")
    api.client.post("/v1/decisions", json={}, headers={"X-API-Key": "gwk_wrong"})

    refused = api.client.get("/metrics", headers=api.as_service("decisions:write"))
    response = api.client.get("/metrics", headers=api.as_service("metrics:read"))

    assert refused.status_code == 403
    assert refused.json()["scope"] == "metrics:read"
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert 'gateway_http_requests_total{method="GET",route="/healthz",status="200"} 1.0' in text
    assert 'route="unmatched",status="404"' in text
    assert 'gateway_http_request_duration_seconds_bucket{le="0.001",method="GET"' in text
    assert 'gateway_authentication_failures_total{reason="malformed_key"} 1.0' in text
    assert 'gateway_authorization_refusals_total{reason="missing_scope"} 1.0' in text


def test_each_app_has_its_own_metrics(make_api: MakeApi) -> None:
    first, second = make_api(), make_api()
    first.client.get("/healthz")

    text = second.client.get("/metrics", headers=second.as_service()).text

    assert 'route="/healthz"' not in text


def test_the_issuers_public_keys_are_anonymous_and_verify_its_tokens(api: Api) -> None:
    token = api.token("elena")

    response = api.client.get("/.well-known/jwks.json")

    assert response.status_code == 200
    (key,) = response.json()["keys"]
    assert set(key) == {"kty", "crv", "x", "kid", "alg", "use"}  # no private part
    claims = jwt.decode(token, jwt.PyJWK(key), algorithms=["EdDSA"], audience="it-support-gateway")
    assert claims["sub"] == "elena"


def test_no_keys_are_served_when_an_identity_provider_issues_tokens(make_api: MakeApi) -> None:
    api = make_api(
        '[api]\ntoken_issuer = "https://idp.example.com"\n'
        'jwks_url = "https://idp.example.com/keys"\n'
    )

    response = api.client.get("/.well-known/jwks.json")

    assert response.status_code == 404
    assert response.json()["type"] == "urn:it-support-gateway:problem:no-embedded-issuer"
