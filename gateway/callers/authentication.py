"""Turning a request's credentials into a ``Caller``, and building what that needs.

A request carries one credential: ``Authorization: Bearer <API key or token>`` or
``X-API-Key: <API key>``.  A bearer credential starting ``gwk_`` is an API key; anything
else is a person's token.  Both headers at once is refused, so a caller never gets the
rights of the other credential by mistake.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from gateway.callers.api_keys import ApiKeyStore, looks_like_api_key
from gateway.callers.caller import Caller
from gateway.callers.errors import AuthenticationError
from gateway.callers.issuer import TokenIssuer
from gateway.callers.key_sets import RemoteKeySet, StaticKeySet
from gateway.callers.settings import ApiConfig
from gateway.callers.tokens import TokenVerifier
from gateway.storage import Backend

__all__ = ["CallerAuthenticator", "Callers", "open_callers"]


class CallerAuthenticator:
    """Checks API keys against the store and tokens against the issuer's keys."""

    def __init__(self, api_keys: ApiKeyStore, tokens: TokenVerifier) -> None:
        self.api_keys = api_keys
        self.tokens = tokens

    def authenticate(self, authorization: str | None, api_key: str | None) -> Caller:
        """The caller behind the ``Authorization`` and ``X-API-Key`` header values."""
        if authorization is not None and api_key is not None:
            raise AuthenticationError(
                "ambiguous", "send one credential: Authorization or X-API-Key, not both"
            )
        if api_key is not None:
            return self.api_keys.authenticate(api_key.strip())
        if authorization is None:
            raise AuthenticationError(
                "missing", "credentials required: an API key or a bearer token"
            )
        scheme, _, credential = authorization.strip().partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise AuthenticationError(
                "scheme", "Authorization must read 'Bearer <token or API key>'"
            )
        if looks_like_api_key(credential):
            return self.api_keys.authenticate(credential)
        return self.tokens.verify(credential)


@dataclass
class Callers:
    """Caller authentication as configured: the authenticator, the API key store, and the
    embedded issuer (``None`` when an identity provider issues the tokens)."""

    authenticator: CallerAuthenticator
    api_keys: ApiKeyStore
    issuer: TokenIssuer | None
    remote_keys: RemoteKeySet | None = None

    def close(self) -> None:
        self.api_keys.close()
        if self.remote_keys is not None:
            self.remote_keys.close()


def open_callers(
    config: ApiConfig, *, http_client: httpx.Client | None = None, backend: Backend | None = None
) -> Callers:
    """Caller authentication for ``config``: the embedded issuer (its key made on first
    use) unless ``token_issuer`` and ``jwks_url`` name an identity provider; API keys on
    ``backend`` (the gateway's storage; the ``api_keys`` SQLite file when not given)."""
    api_keys = ApiKeyStore(config.api_keys, backend=backend)
    skew = config.clock_skew_seconds
    if config.token_issuer is None or config.jwks_url is None:
        issuer = TokenIssuer.from_config(config)
        verifier = TokenVerifier(
            StaticKeySet(issuer.jwks()), issuer=issuer.issuer, audience=issuer.audience,
            skew_seconds=skew,
        )  # fmt: skip
        return Callers(CallerAuthenticator(api_keys, verifier), api_keys, issuer)
    remote = RemoteKeySet(config.jwks_url, client=http_client)
    verifier = TokenVerifier(
        remote, issuer=config.token_issuer, audience=config.audience, skew_seconds=skew
    )
    return Callers(CallerAuthenticator(api_keys, verifier), api_keys, None, remote)
