"""The embedded issuer: its key is made once and kept private; its tokens verify with the
keys it publishes."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gateway.callers import EMBEDDED_ISSUER, TokenIssuer
from gateway.callers.errors import CallerRequestError, SigningKeyError
from gateway.callers.scopes import PERSON_DEFAULT_SCOPES
from gateway.callers.signing_key import load_signing_key
from gateway.config import ApiConfig


def test_the_key_is_made_on_first_use_private_and_then_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "api-tokens.key"

    first = load_signing_key(path)
    second = load_signing_key(path)

    assert path.stat().st_mode & 0o777 == 0o600
    assert first.private_bytes_raw() == second.private_bytes_raw()
    assert [item.name for item in path.parent.iterdir()] == ["api-tokens.key"]


def test_a_missing_key_is_an_error_when_it_may_not_be_made(tmp_path: Path) -> None:
    with pytest.raises(SigningKeyError, match="no token signing key"):
        load_signing_key(tmp_path / "api-tokens.key", create=False)


def test_a_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "api-tokens.key"
    load_signing_key(path)
    path.chmod(0o644)

    with pytest.raises(SigningKeyError, match=r"readable by others \(mode 644\); chmod 600 it"):
        load_signing_key(path)


def test_a_file_that_is_not_a_pem_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "api-tokens.key"
    path.write_text("not a key")
    path.chmod(0o600)

    with pytest.raises(SigningKeyError, match="not a PEM private key"):
        load_signing_key(path)


def test_a_key_of_another_kind_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "api-tokens.key"
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.write_bytes(pem)
    path.chmod(0o600)

    with pytest.raises(SigningKeyError, match="expected an Ed25519 key, found"):
        load_signing_key(path)


def test_a_key_that_cannot_be_written_or_read_is_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    unreadable = tmp_path / "folder.key"
    unreadable.mkdir()

    with pytest.raises(SigningKeyError, match="cannot write token signing key"):
        load_signing_key(blocker / "api-tokens.key")
    with pytest.raises(SigningKeyError, match="cannot read token signing key"):
        load_signing_key(unreadable)


def test_two_makers_at_once_agree_on_one_key(tmp_path: Path) -> None:
    path = tmp_path / "api-tokens.key"
    theirs = load_signing_key(tmp_path / "theirs.key")
    os.link(tmp_path / "theirs.key", path)  # another process won the race

    ours = load_signing_key(path)

    assert ours.private_bytes_raw() == theirs.private_bytes_raw()


def issuer_at(tmp_path: Path, moment: datetime | None = None) -> TokenIssuer:
    key = load_signing_key(tmp_path / "api-tokens.key")
    if moment is None:
        return TokenIssuer(key, audience="it-support-gateway")
    return TokenIssuer(key, audience="it-support-gateway", clock=lambda: moment)


def test_a_token_carries_the_person_and_scopes_and_verifies_with_the_jwks(tmp_path: Path) -> None:
    issuer = issuer_at(tmp_path)

    issued = issuer.issue("elena", ["decisions:write", "audit:read"], ttl_seconds=600)

    token = issued.token.get_secret_value()
    (jwk,) = issuer.jwks()["keys"]
    assert jwt.get_unverified_header(token) == {"alg": "EdDSA", "kid": issuer.kid, "typ": "JWT"}
    claims = jwt.decode(token, jwt.PyJWK(jwk), algorithms=["EdDSA"], audience="it-support-gateway")
    assert (claims["iss"], claims["sub"], claims["scope"]) == (
        EMBEDDED_ISSUER,
        "elena",
        "audit:read decisions:write",
    )
    assert claims["exp"] - claims["iat"] == 600
    assert issued.expires_at.timestamp() == claims["exp"]
    assert "d" not in jwk
    assert token not in repr(issued)
    assert "PRIVATE" not in repr(issuer)


def test_a_person_gets_the_person_scopes_and_the_configured_lifetime_by_default(
    tmp_path: Path,
) -> None:
    config = ApiConfig(token_signing_key=tmp_path / "k.key", token_lifetime_seconds=900)
    issuer = TokenIssuer.from_config(config)

    issued = issuer.issue("elena")

    claims = jwt.decode(issued.token.get_secret_value(), options={"verify_signature": False})
    assert issued.scopes == PERSON_DEFAULT_SCOPES
    assert {"decisions:write", "stepup:write", "approvals:write"} <= issued.scopes
    assert claims["exp"] - claims["iat"] == 900


@pytest.mark.parametrize(
    ("subject", "scopes", "ttl", "message"),
    [
        ("", ["audit:read"], 600, "subject must be 1 to 256 printable characters"),
        ("el\nena", ["audit:read"], 600, "subject must be 1 to 256 printable characters"),
        ("elena", ["root"], 600, "unknown scope 'root'"),
        ("elena", ["audit:read"], 59, "token lifetime must be 60 to 86400 seconds, found 59"),
        ("elena", ["audit:read"], 86_401, "found 86401"),
    ],
    ids=["an empty subject", "a subject with a newline", "an unknown scope",
         "a lifetime too short", "a lifetime too long"],
)  # fmt: skip
def test_bad_token_requests_are_refused(
    tmp_path: Path, subject: str, scopes: list[str], ttl: int, message: str
) -> None:
    with pytest.raises(CallerRequestError, match=message):
        issuer_at(tmp_path).issue(subject, scopes, ttl_seconds=ttl)
