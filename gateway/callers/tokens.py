"""Checking a person's bearer token (a JWT) against the issuer's public keys.

In order: the header's algorithm must be EdDSA, ES256 or RS256 (``none`` and the HS*
family are refused before any key is looked at); the header must name a key id the key
set knows, whose algorithm is the header's; then the signature, and the ``iss``, ``aud``,
``exp``, ``nbf`` (when present) and ``iat`` claims, allowing ``skew_seconds`` of clock
difference.  The subject (``sub``) is the person; the ``scope`` claim (space-separated,
or a list) holds the scopes.  No message holds the token.
"""

from __future__ import annotations

from typing import Any

import jwt
from jwt import (
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidSignatureError,
    MissingRequiredClaimError,
    PyJWTError,
)

from gateway.callers.caller import Caller, CallerKind
from gateway.callers.errors import AuthenticationError, CallerRequestError, TokenExpiredError
from gateway.callers.issuer import check_subject
from gateway.callers.key_sets import ACCEPTED_ALGORITHMS, KeySet

__all__ = ["TokenVerifier"]

_REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]
_ACCEPTED = ", ".join(sorted(ACCEPTED_ALGORITHMS))


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "..."


def _scopes(claim: Any) -> frozenset[str]:
    if isinstance(claim, str):
        return frozenset(claim.split())
    if isinstance(claim, list):
        return frozenset(item for item in claim if isinstance(item, str))
    return frozenset()


class TokenVerifier:
    """Turns a bearer token into the person it names, or ``AuthenticationError``."""

    def __init__(self, keys: KeySet, *, issuer: str, audience: str, skew_seconds: int) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.skew_seconds = skew_seconds

    def verify(self, token: str) -> Caller:
        try:
            header = jwt.get_unverified_header(token)
        except PyJWTError:
            raise AuthenticationError("malformed_token", "bearer token is malformed") from None
        algorithm = header.get("alg")
        if algorithm not in ACCEPTED_ALGORITHMS:
            raise AuthenticationError(
                "algorithm",
                f"token algorithm {_short(algorithm)} is not accepted: expected {_ACCEPTED}",
            )
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise AuthenticationError("no_kid", "token names no key id (kid)")
        key = self.keys.key(kid)
        if key.algorithm_name != algorithm:
            raise AuthenticationError(
                "algorithm",
                f"token algorithm {algorithm} does not match its key's {key.algorithm_name}",
            )
        claims = self._decode(token, key, algorithm)
        try:
            subject = check_subject(claims["sub"])
        except CallerRequestError:
            raise AuthenticationError(
                "bad_subject", "token subject (sub) must be 1 to 256 printable characters"
            ) from None
        return Caller(CallerKind.PERSON, subject, subject, _scopes(claims.get("scope")))

    def _decode(self, token: str, key: jwt.PyJWK, algorithm: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.skew_seconds,
                options={"require": _REQUIRED_CLAIMS},
            )
        except ExpiredSignatureError:
            raise TokenExpiredError() from None
        except InvalidAudienceError:
            raise AuthenticationError(
                "wrong_audience", f"token audience (aud) is not {self.audience}"
            ) from None
        except InvalidIssuerError:
            raise AuthenticationError(
                "wrong_issuer", f"token issuer (iss) is not {self.issuer}"
            ) from None
        except ImmatureSignatureError:
            raise AuthenticationError(
                "not_yet_valid", "token is not valid yet (nbf or iat is in the future)"
            ) from None
        except MissingRequiredClaimError as exc:
            raise AuthenticationError(
                "missing_claim", f"token lacks the {exc.claim} claim"
            ) from None
        except InvalidSignatureError:
            raise AuthenticationError("bad_signature", "token signature is invalid") from None
        except PyJWTError:
            raise AuthenticationError("invalid_token", "bearer token is invalid") from None
        return claims
