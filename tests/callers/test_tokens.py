"""Bearer tokens: only signed, current tokens for this gateway name a person."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from gateway.callers import (
    EMBEDDED_ISSUER,
    AuthenticationError,
    CallerKind,
    StaticKeySet,
    TokenExpiredError,
    TokenIssuer,
    TokenVerifier,
)
from gateway.callers.signing_key import load_signing_key

AUDIENCE = "it-support-gateway"


@pytest.fixture
def signing_key(tmp_path: Path) -> Ed25519PrivateKey:
    return load_signing_key(tmp_path / "api-tokens.key")


@pytest.fixture
def issuer(signing_key: Ed25519PrivateKey) -> TokenIssuer:
    return TokenIssuer(signing_key, audience=AUDIENCE)


@pytest.fixture
def kid(issuer: TokenIssuer) -> str:
    return issuer.kid


@pytest.fixture
def verifier(issuer: TokenIssuer) -> TokenVerifier:
    return TokenVerifier(
        StaticKeySet(issuer.jwks()), issuer=EMBEDDED_ISSUER, audience=AUDIENCE, skew_seconds=60
    )


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"iss": EMBEDDED_ISSUER, "aud": AUDIENCE, "sub": "elena", "iat": now, "exp": now + 600}
    base.update(changes)
    return {name: value for name, value in base.items() if value is not None}


def sign(key: Any, body: dict[str, Any], kid: str | None, algorithm: str = "EdDSA") -> str:
    headers = {"kid": kid} if kid is not None else None
    return jwt.encode(body, key, algorithm=algorithm, headers=headers)


def refused(verifier: TokenVerifier, token: str) -> AuthenticationError:
    with pytest.raises(AuthenticationError) as caught:
        verifier.verify(token)
    assert token not in str(caught.value)
    return caught.value


def test_a_token_of_the_issuer_names_the_person_and_the_scopes(
    issuer: TokenIssuer, verifier: TokenVerifier
) -> None:
    token = issuer.issue("elena", ["decisions:write", "audit:read"]).token.get_secret_value()

    caller = verifier.verify(token)

    assert (caller.kind, caller.id, caller.name) == (CallerKind.PERSON, "elena", "elena")
    assert caller.scopes == {"decisions:write", "audit:read"}
    assert caller.is_person
    assert caller.label == "elena"


def test_an_expired_token_is_refused_as_expired(
    signing_key: Ed25519PrivateKey, verifier: TokenVerifier
) -> None:
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    old = TokenIssuer(signing_key, audience=AUDIENCE, clock=lambda: two_hours_ago)

    error = refused(verifier, old.issue("elena", ttl_seconds=3600).token.get_secret_value())

    assert isinstance(error, TokenExpiredError)
    assert str(error) == "token expired"


def test_clock_skew_is_allowed_for_within_the_setting(
    kid: str, signing_key: Ed25519PrivateKey, verifier: TokenVerifier
) -> None:
    body = claims(iat=int(time.time()) - 100, exp=int(time.time()) - 30)

    assert verifier.verify(sign(signing_key, body, kid)).id == "elena"


@pytest.mark.parametrize(
    ("changes", "reason", "message"),
    [
        ({"aud": "another-app"}, "wrong_audience", f"token audience (aud) is not {AUDIENCE}"),
        ({"iss": "https://evil.example"}, "wrong_issuer", "token issuer (iss) is not urn:"),
        ({"nbf": int(time.time()) + 3600}, "not_yet_valid", "token is not valid yet"),
        ({"iat": int(time.time()) + 3600}, "not_yet_valid", "token is not valid yet"),
        ({"exp": None}, "missing_claim", "token lacks the exp claim"),
        ({"sub": None}, "missing_claim", "token lacks the sub claim"),
        ({"sub": ""}, "bad_subject", "token subject (sub) must be 1 to 256 printable characters"),
        ({"iat": "yesterday"}, "invalid_token", "bearer token is invalid"),
    ],
    ids=["another audience", "another issuer", "not before a later time", "issued in the future",
         "no expiry", "no subject", "an empty subject", "a malformed issue time"],
)  # fmt: skip
def test_tokens_with_wrong_claims_are_refused_naming_the_claim(
    kid: str,
    signing_key: Ed25519PrivateKey,
    verifier: TokenVerifier,
    changes: dict[str, Any],
    reason: str,
    message: str,
) -> None:
    error = refused(verifier, sign(signing_key, claims(**changes), kid))

    assert error.reason == reason
    assert str(error).startswith(message)


def test_a_token_signed_by_another_key_is_refused(kid: str, verifier: TokenVerifier) -> None:
    forged = sign(Ed25519PrivateKey.generate(), claims(), kid)

    error = refused(verifier, forged)

    assert (error.reason, str(error)) == ("bad_signature", "token signature is invalid")


@pytest.mark.parametrize(
    ("key", "algorithm"),
    [(None, "none"), ("a-shared-secret-of-at-least-32-bytes!!", "HS256")],
    ids=["alg none", "a shared secret (HS256)"],
)
def test_unsigned_and_symmetric_tokens_are_refused(
    kid: str, verifier: TokenVerifier, key: str | None, algorithm: str
) -> None:
    token = sign(key, claims(), kid, algorithm)

    error = refused(verifier, token)

    assert error.reason == "algorithm"
    assert str(error) == (
        f"token algorithm '{algorithm}' is not accepted: expected ES256, EdDSA, RS256"
    )


def test_a_token_whose_algorithm_is_not_its_keys_is_refused(
    kid: str, verifier: TokenVerifier
) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    error = refused(verifier, sign(rsa_key, claims(), kid, "RS256"))

    assert str(error) == "token algorithm RS256 does not match its key's EdDSA"


def test_a_token_without_a_known_key_id_is_refused(
    signing_key: Ed25519PrivateKey, verifier: TokenVerifier
) -> None:
    unnamed = refused(verifier, sign(signing_key, claims(), None))
    unknown = refused(verifier, sign(signing_key, claims(), "k" * 100))

    assert (unnamed.reason, str(unnamed)) == ("no_kid", "token names no key id (kid)")
    assert unknown.reason == "unknown_kid"
    assert str(unknown) == f"token key id '{'k' * 64}...' is not a key of the issuer"


def test_a_malformed_token_is_refused(verifier: TokenVerifier) -> None:
    error = refused(verifier, "not-a-token")

    assert (error.reason, str(error)) == ("malformed_token", "bearer token is malformed")


def test_a_long_algorithm_name_is_cut_short(verifier: TokenVerifier) -> None:
    header = jwt.utils.base64url_encode(b'{"alg": "' + b"X" * 80 + b'"}').decode()
    error = refused(verifier, f"{header}.e30.c2ln")

    assert str(error).startswith("token algorithm 'XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX...")


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ("audit:read decisions:write", {"audit:read", "decisions:write"}),
        (["audit:read", 7, "metrics:read"], {"audit:read", "metrics:read"}),
        (None, set()),
        (42, set()),
    ],
    ids=["a space-separated string", "a list", "no scope claim", "a scope claim of no use"],
)
def test_scopes_come_from_the_scope_claim(
    kid: str,
    signing_key: Ed25519PrivateKey,
    verifier: TokenVerifier,
    scope: Any,
    expected: set[str],
) -> None:
    token = sign(signing_key, claims(scope=scope), kid)

    assert verifier.verify(token).scopes == expected


@pytest.mark.parametrize(
    ("private", "algorithm", "to_jwk"),
    [
        (lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256",
         RSAAlgorithm.to_jwk),
        (lambda: ec.generate_private_key(ec.SECP256R1()), "ES256", ECAlgorithm.to_jwk),
        (Ed25519PrivateKey.generate, "EdDSA", OKPAlgorithm.to_jwk),
    ],
    ids=["RS256", "ES256", "EdDSA"],
)  # fmt: skip
def test_identity_provider_tokens_of_each_accepted_algorithm_verify(
    private: Any, algorithm: str, to_jwk: Any
) -> None:
    key = private()
    jwk = {**to_jwk(key.public_key(), as_dict=True), "kid": "idp-1", "use": "sig"}
    verifier = TokenVerifier(
        StaticKeySet({"keys": [jwk]}), issuer="https://idp.example", audience=AUDIENCE,
        skew_seconds=0,
    )  # fmt: skip
    token = sign(key, claims(iss="https://idp.example", scope="audit:read"), "idp-1", algorithm)

    assert verifier.verify(token).scopes == {"audit:read"}
