"""Errors of caller authentication::

    GatewayError
    └── CallerError                  a caller could not be authenticated or is not allowed
        ├── AuthenticationError      no credentials, or credentials that are unknown, revoked,
        │   │                        expired or invalid (HTTP 401)
        │   └── TokenExpiredError    a bearer token past its expiry
        ├── ForbiddenError           authenticated, but not allowed to do this (HTTP 403)
        │   ├── MissingScopeError    the credentials lack the scope the operation needs
        │   └── InactivePersonError  the directory shows the person disabled, locked or
        │                            suspended
        ├── CallerRequestError       a key or token was asked for with a bad name, scope or
        │                            lifetime
        ├── CallerStoreError         the API key store cannot be used
        ├── SigningKeyError          the token signing key is missing, unsafe or invalid
        └── KeySetUnavailableError   the identity provider's keys (JWKS) cannot be fetched

Every ``AuthenticationError`` carries ``reason``, a short word for metrics and logs.  No
message ever holds an API key secret or a token.
"""

from __future__ import annotations

from gateway.errors import ExitCode, GatewayError

__all__ = [
    "AuthenticationError",
    "CallerError",
    "CallerRequestError",
    "CallerStoreError",
    "ForbiddenError",
    "InactivePersonError",
    "KeySetUnavailableError",
    "MissingScopeError",
    "SigningKeyError",
    "TokenExpiredError",
]


class CallerError(GatewayError):
    """A caller could not be authenticated, or is not allowed to do what it asked."""


class AuthenticationError(CallerError):
    """The credentials are missing, unknown, revoked, expired or invalid."""

    exit_code = ExitCode.DENIED

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


class TokenExpiredError(AuthenticationError):
    """A bearer token is past its expiry (allowing for clock skew)."""

    def __init__(self) -> None:
        super().__init__("token_expired", "token expired")


class ForbiddenError(CallerError):
    """The caller is known but may not do this; ``reason`` names why in one word."""

    exit_code = ExitCode.DENIED

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


class MissingScopeError(ForbiddenError):
    """The credentials do not grant the scope the operation needs."""

    def __init__(self, scope: str) -> None:
        self.scope = scope
        super().__init__("missing_scope", f"the credentials lack the scope {scope}")


class InactivePersonError(ForbiddenError):
    """The directory shows the person as disabled, locked or suspended: no token is issued
    to them and their tokens are refused."""

    def __init__(self, person: str, status: str) -> None:
        self.person = person
        self.status = status
        super().__init__("inactive_person", f"{person} is {status} in the directory")


class CallerRequestError(CallerError):
    """An API key or token was asked for with an invalid name, scope or lifetime."""

    exit_code = ExitCode.INVALID_INPUT


class CallerStoreError(CallerError):
    """The API key store cannot be opened or used."""

    exit_code = ExitCode.UNAVAILABLE


class SigningKeyError(CallerError):
    """The key that signs the gateway's own bearer tokens is missing, unsafe or invalid."""

    exit_code = ExitCode.INVALID_INPUT


class KeySetUnavailableError(CallerError):
    """The identity provider's public keys (JWKS) cannot be fetched or read."""

    exit_code = ExitCode.UNAVAILABLE
