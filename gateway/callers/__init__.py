"""Caller authentication: who is calling the HTTP API, and with which scopes.

Services present API keys (``gwk_<id>_<secret>``; stored hashed, with scopes, an optional
expiry and a last-used time).  People present bearer JWTs, from the gateway's embedded
issuer or from an identity provider whose JWKS the gateway fetches; a person must also be
active in the directory, at issuance and on every request (``standing``).  Making and
revoking keys and issuing tokens are audited first (``administration``).  See
``docs/api.md``.
"""

from gateway.callers.api_keys import ApiKey, ApiKeyStore, IssuedKey
from gateway.callers.authentication import CallerAuthenticator, Callers, open_callers
from gateway.callers.caller import Caller, CallerKind
from gateway.callers.errors import (
    AuthenticationError,
    CallerError,
    CallerRequestError,
    CallerStoreError,
    ForbiddenError,
    InactivePersonError,
    KeySetUnavailableError,
    MissingScopeError,
    SigningKeyError,
    TokenExpiredError,
)
from gateway.callers.issuer import EMBEDDED_ISSUER, IssuedToken, TokenIssuer
from gateway.callers.key_sets import KeySet, RemoteKeySet, StaticKeySet
from gateway.callers.tokens import TokenVerifier

__all__ = [
    "EMBEDDED_ISSUER",
    "ApiKey",
    "ApiKeyStore",
    "AuthenticationError",
    "Caller",
    "CallerAuthenticator",
    "CallerError",
    "CallerKind",
    "CallerRequestError",
    "CallerStoreError",
    "Callers",
    "ForbiddenError",
    "InactivePersonError",
    "IssuedKey",
    "IssuedToken",
    "KeySet",
    "KeySetUnavailableError",
    "MissingScopeError",
    "RemoteKeySet",
    "SigningKeyError",
    "StaticKeySet",
    "TokenExpiredError",
    "TokenIssuer",
    "TokenVerifier",
    "open_callers",
]
