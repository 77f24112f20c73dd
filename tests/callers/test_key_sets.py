"""Public keys for tokens: only usable signing keys are kept; an identity provider's are
fetched, cached, refreshed for a new key id, and kept when the provider is down."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from gateway.callers import AuthenticationError, KeySetUnavailableError, RemoteKeySet
from gateway.callers.key_sets import StaticKeySet, parse_key_set

URL = "https://idp.example.com/oauth2/v1/keys"


def ed25519(kid: str, **extra: Any) -> dict[str, Any]:
    public = Ed25519PrivateKey.generate().public_key()
    return {**OKPAlgorithm.to_jwk(public, as_dict=True), "kid": kid, **extra}


def test_only_usable_signing_keys_are_kept() -> None:
    rsa_public = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    ec_private = ec.generate_private_key(ec.SECP256R1())
    document = {
        "keys": [
            ed25519("ed"),
            {**RSAAlgorithm.to_jwk(rsa_public, as_dict=True), "kid": "rsa", "use": "sig"},
            {**ECAlgorithm.to_jwk(ec_private, as_dict=True), "kid": "private"},
            {"kty": "oct", "k": "c2VjcmV0", "kid": "shared"},
            ed25519("encryption", use="enc"),
            ed25519("hs", alg="HS256"),
            {k: v for k, v in ed25519("x").items() if k != "kid"},
            {"kty": "OKP", "crv": "X448", "x": "AAAA", "kid": "other-curve"},
            "not a key",
        ]
    }

    keys = parse_key_set(document, "test")

    assert sorted(keys) == ["ed", "rsa"]
    assert keys["rsa"].algorithm_name == "RS256"


@pytest.mark.parametrize("document", [[], {"keys": "none"}, {"other": []}])
def test_a_document_that_is_not_a_jwks_is_refused(document: Any) -> None:
    with pytest.raises(KeySetUnavailableError, match=r"^idp: not a JWKS document"):
        parse_key_set(document, "idp")


def test_a_static_set_refuses_unknown_key_ids() -> None:
    keys = StaticKeySet({"keys": [ed25519("one")]})

    assert keys.key("one").key_id == "one"
    with pytest.raises(AuthenticationError, match="'two' is not a key of the issuer"):
        keys.key("two")


class Provider:
    """An identity provider's JWKS endpoint the tests control."""

    def __init__(self, *kids: str) -> None:
        self.documents: list[Any] = [{"keys": [ed25519(kid) for kid in kids]}]
        self.status = 200
        self.down = False
        self.requests = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        assert str(request.url) == URL
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        body = self.documents[-1]
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return httpx.Response(self.status, content=content)

    def rotate(self, *kids: str) -> None:
        self.documents.append({"keys": [ed25519(kid) for kid in kids]})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


KeySetFactory = Callable[[Provider], RemoteKeySet]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def remote(clock: Clock) -> KeySetFactory:
    def make(provider: Provider) -> RemoteKeySet:
        client = httpx.Client(transport=httpx.MockTransport(provider.handle))
        return RemoteKeySet(
            URL, client=client, ttl_seconds=300, min_refresh_seconds=30, clock=clock
        )

    return make


def test_keys_are_fetched_once_and_cached(remote: KeySetFactory) -> None:
    provider = Provider("k1")
    keys = remote(provider)

    keys.key("k1")
    keys.key("k1")

    assert provider.requests == 1


def test_keys_are_fetched_again_after_their_ttl(remote: KeySetFactory, clock: Clock) -> None:
    provider = Provider("k1")
    keys = remote(provider)
    keys.key("k1")
    provider.rotate("k2")
    clock.now += 300

    assert keys.key("k2").key_id == "k2"
    assert provider.requests == 2


def test_an_unknown_key_id_triggers_one_refresh_then_waits(
    remote: KeySetFactory, clock: Clock
) -> None:
    provider = Provider("k1")
    keys = remote(provider)
    keys.key("k1")
    clock.now += 31
    provider.rotate("k1", "k2")

    assert keys.key("k2").key_id == "k2"
    for _ in range(3):
        with pytest.raises(AuthenticationError, match="'k9' is not a key of the issuer"):
            keys.key("k9")
    assert provider.requests == 2  # k9 right after k2's refresh: no new fetch
    clock.now += 30
    with pytest.raises(AuthenticationError):
        keys.key("k9")
    assert provider.requests == 3


def test_a_provider_that_is_down_leaves_the_keys_already_fetched_in_use(
    remote: KeySetFactory, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    provider = Provider("k1")
    keys = remote(provider)
    keys.key("k1")
    provider.down = True
    clock.now += 400

    with caplog.at_level(logging.WARNING):
        assert keys.key("k1").key_id == "k1"

    assert "cannot fetch token keys from" in caplog.text
    assert "ConnectError" in caplog.text


@pytest.mark.parametrize(
    ("status", "body", "logged"),
    [
        (503, {"keys": []}, "HTTP 503"),
        (200, b"<html>", "JSONDecodeError"),
        (200, {"no": "keys"}, "not a JWKS document"),
    ],
    ids=["an error status", "not JSON", "not a key set"],
)
def test_without_any_keys_tokens_cannot_be_checked(
    remote: KeySetFactory,
    caplog: pytest.LogCaptureFixture,
    status: int,
    body: Any,
    logged: str,
) -> None:
    provider = Provider()
    provider.status = status
    provider.documents = [body]
    keys = remote(provider)

    with caplog.at_level(logging.WARNING), pytest.raises(KeySetUnavailableError) as failed:
        keys.key("k1")

    assert str(failed.value) == f"{URL}: the identity provider's keys are unknown"
    assert logged in caplog.text


def test_a_key_set_closes_its_client(remote: KeySetFactory) -> None:
    keys = remote(Provider("k1"))

    keys.close()

    assert keys._client.is_closed
