"""The embedded token issuer: bearer tokens for people when no identity provider is set.

Tokens are JWTs signed with EdDSA (Ed25519) under key id ``kid`` (the first 16 hex digits
of SHA-256 over the raw public key); their claims are ``iss``, ``aud``, ``sub`` (the
person), ``iat``, ``nbf``, ``exp``, ``jti`` and ``scope`` (space-separated).  The public
key is served as a JWKS so that anyone can check a token.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr

from gateway.audit.keys import key_id, raw_public_key
from gateway.callers.errors import CallerRequestError
from gateway.callers.scopes import PERSON_DEFAULT_SCOPES, check_scopes
from gateway.callers.settings import ApiConfig
from gateway.callers.signing_key import load_signing_key
from gateway.clock import Clock, utcnow

__all__ = ["EMBEDDED_ISSUER", "IssuedToken", "TokenIssuer", "check_subject"]

EMBEDDED_ISSUER = "urn:it-support-gateway:embedded-issuer"
MIN_TTL_SECONDS = 60
MAX_TTL_SECONDS = 86_400


def check_subject(subject: object) -> str:
    """A person's id as tokens carry it: 1 to 256 printable characters."""
    if not isinstance(subject, str) or not 0 < len(subject) <= 256 or not subject.isprintable():
        raise CallerRequestError("a token subject must be 1 to 256 printable characters")
    return subject


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A signed token, shown to its holder once; ``jti`` names it in audit records."""

    token: SecretStr
    subject: str
    scopes: frozenset[str]
    expires_at: datetime
    jti: str


class TokenIssuer:
    """Signs bearer tokens for people; ``jwks()`` is what verifiers need."""

    def __init__(
        self,
        private_key: Ed25519PrivateKey,
        *,
        audience: str,
        issuer: str = EMBEDDED_ISSUER,
        lifetime_seconds: int = 3600,
        clock: Clock = utcnow,
    ) -> None:
        self._private_key = private_key
        self.audience = audience
        self.issuer = issuer
        self.lifetime_seconds = lifetime_seconds
        self.kid = key_id(private_key.public_key())
        self._clock = clock

    @classmethod
    def from_config(cls, config: ApiConfig, *, create_key: bool = True) -> TokenIssuer:
        """The issuer of ``config``, its key made first when missing and allowed."""
        key = load_signing_key(config.token_signing_key, create=create_key)
        return cls(key, audience=config.audience, lifetime_seconds=config.token_lifetime_seconds)

    def issue(
        self,
        subject: str,
        scopes: Iterable[str] = PERSON_DEFAULT_SCOPES,
        *,
        ttl_seconds: int | None = None,
    ) -> IssuedToken:
        """A token for ``subject`` granting ``scopes``, valid ``ttl_seconds`` (60 to 86,400;
        the configured lifetime when omitted)."""
        check_subject(subject)
        granted = check_scopes(scopes, for_api_key=False)
        ttl = self.lifetime_seconds if ttl_seconds is None else ttl_seconds
        if not MIN_TTL_SECONDS <= ttl <= MAX_TTL_SECONDS:
            raise CallerRequestError(
                f"token lifetime must be {MIN_TTL_SECONDS} to {MAX_TTL_SECONDS} seconds, "
                f"found {ttl}"
            )
        now = self._clock().astimezone(UTC).replace(microsecond=0)
        expires = now + timedelta(seconds=ttl)
        jti = uuid.uuid4().hex
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": jti,
            "scope": " ".join(sorted(granted)),
        }
        token = jwt.encode(claims, self._private_key, algorithm="EdDSA", headers={"kid": self.kid})
        return IssuedToken(SecretStr(token), subject, granted, expires, jti)

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The public key as a JSON Web Key Set (RFC 7517, OKP keys per RFC 8037)."""
        raw = raw_public_key(self._private_key.public_key())
        return {
            "keys": [
                {
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii"),
                    "kid": self.kid,
                    "alg": "EdDSA",
                    "use": "sig",
                }
            ]
        }

    def __repr__(self) -> str:  # never show key material
        return f"TokenIssuer(issuer={self.issuer!r}, kid={self.kid!r})"
