"""Which credential a request carries, and how the configuration picks the token keys."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from jwt.algorithms import OKPAlgorithm

from gateway.callers import (
    AuthenticationError,
    CallerKind,
    KeySetUnavailableError,
    TokenIssuer,
    open_callers,
)
from gateway.callers.signing_key import load_signing_key
from gateway.config import ApiConfig


@pytest.fixture
def config(tmp_path: Path) -> ApiConfig:
    return ApiConfig(
        api_keys=tmp_path / "api-keys.db", token_signing_key=tmp_path / "api-tokens.key"
    )


@pytest.mark.parametrize(
    ("authorization", "api_key", "reason"),
    [
        (None, None, "missing"),
        ("Bearer x", "gwk_x", "ambiguous"),
        ("Basic ZWxlbmE6cHc=", None, "scheme"),
        ("Bearer   ", None, "scheme"),
        ("Bearer gwk_x", None, "malformed_key"),
        (None, " gwk_x ", "malformed_key"),
        ("bearer a.b.c", None, "malformed_token"),
    ],
    ids=["nothing", "both headers", "another scheme", "an empty bearer",
         "a bearer API key", "an X-API-Key", "a bearer token in lower case"],
)  # fmt: skip
def test_each_credential_goes_where_it_belongs(
    config: ApiConfig, authorization: str | None, api_key: str | None, reason: str
) -> None:
    callers = open_callers(config)

    with pytest.raises(AuthenticationError) as refused:
        callers.authenticator.authenticate(authorization, api_key)

    assert refused.value.reason == reason
    callers.close()


def test_keys_and_tokens_both_authenticate(config: ApiConfig) -> None:
    callers = open_callers(config)
    key = callers.api_keys.create("ci-bot", ["audit:read"]).secret.get_secret_value()
    assert callers.issuer is not None
    token = callers.issuer.issue("elena").token.get_secret_value()

    by_bearer_key = callers.authenticator.authenticate(f"Bearer {key}", None)
    by_header_key = callers.authenticator.authenticate(None, key)
    by_token = callers.authenticator.authenticate(f"Bearer {token}", None)

    assert by_bearer_key.kind is by_header_key.kind is CallerKind.API_KEY
    assert (by_token.kind, by_token.id) == (CallerKind.PERSON, "elena")
    callers.close()


def test_an_identity_provider_replaces_the_embedded_issuer(tmp_path: Path) -> None:
    signing = load_signing_key(tmp_path / "idp.key")
    jwk = {**OKPAlgorithm.to_jwk(signing.public_key(), as_dict=True), "kid": "idp-1"}
    served = json.dumps({"keys": [jwk]}).encode()
    client = httpx.Client(
        transport=httpx.MockTransport(lambda _: httpx.Response(200, content=served))
    )
    config = ApiConfig(
        api_keys=tmp_path / "api-keys.db",
        token_signing_key=tmp_path / "unused.key",
        token_issuer="https://idp.example.com",
        jwks_url="https://idp.example.com/keys",
        audience="api://gateway",
    )
    callers = open_callers(config, http_client=client)
    idp = TokenIssuer(signing, audience="api://gateway", issuer="https://idp.example.com")
    idp.kid = "idp-1"
    token = idp.issue("omar").token.get_secret_value()

    caller = callers.authenticator.authenticate(f"Bearer {token}", None)

    assert callers.issuer is None
    assert caller.id == "omar"
    assert not (tmp_path / "unused.key").exists()
    callers.close()
    assert client.is_closed


def test_an_unreachable_identity_provider_is_unavailable_not_a_refusal(tmp_path: Path) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    config = ApiConfig(
        api_keys=tmp_path / "api-keys.db",
        token_issuer="https://idp.example.com",
        jwks_url="https://idp.example.com/keys",
    )
    callers = open_callers(config, http_client=httpx.Client(transport=httpx.MockTransport(down)))
    token = "eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.e30.c2ln"  # names kid k1

    with pytest.raises(KeySetUnavailableError):
        callers.authenticator.authenticate(f"Bearer {token}", None)
    callers.close()
