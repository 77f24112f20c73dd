"""Where token verification finds public keys: a JSON Web Key Set (RFC 7517).

Only signing keys for the accepted asymmetric algorithms (EdDSA, ES256, RS256) with a key
id are kept; symmetric (``oct``) keys, private keys and keys for other uses are ignored,
so a token can never be checked with a shared secret.

``RemoteKeySet`` fetches the identity provider's ``jwks_url`` with httpx and caches it
for ``ttl_seconds``.  A token naming an unknown key id triggers one refresh.  Fetches are
at least ``min_refresh_seconds`` apart, so neither random key ids nor a provider that is
down make every request wait on it.  When a refresh fails, the keys already fetched stay
in use; with none at all, ``KeySetUnavailableError`` is raised.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import httpx
from jwt import PyJWK, PyJWTError

from gateway.callers.errors import AuthenticationError, KeySetUnavailableError

__all__ = ["ACCEPTED_ALGORITHMS", "KeySet", "RemoteKeySet", "StaticKeySet", "parse_key_set"]

log = logging.getLogger(__name__)

ACCEPTED_ALGORITHMS = frozenset({"EdDSA", "ES256", "RS256"})


class KeySet(Protocol):
    """Public keys by key id."""

    def key(self, kid: str) -> PyJWK:
        """The key named ``kid``; ``AuthenticationError`` when there is none."""
        ...


def _unknown(kid: str) -> AuthenticationError:
    shown = kid if len(kid) <= 64 else kid[:64] + "..."
    return AuthenticationError("unknown_kid", f"token key id {shown!r} is not a key of the issuer")


def parse_key_set(document: Any, source: str) -> dict[str, PyJWK]:
    """The usable keys of a JWKS document, by key id."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise KeySetUnavailableError(f"{source}: not a JWKS document (no 'keys' list)")
    keys: dict[str, PyJWK] = {}
    for entry in document["keys"]:
        if not isinstance(entry, dict) or "d" in entry or entry.get("use", "sig") != "sig":
            continue
        kid = entry.get("kid")
        if not isinstance(kid, str):
            continue
        try:
            key = PyJWK(entry)
        except PyJWTError:
            continue  # a key type or curve PyJWT cannot use
        if key.algorithm_name in ACCEPTED_ALGORITHMS:
            keys[kid] = key
    return keys


class StaticKeySet:
    """Keys known up front (the embedded issuer's)."""

    def __init__(self, document: Any, source: str = "embedded issuer") -> None:
        self._keys = parse_key_set(document, source)

    def key(self, kid: str) -> PyJWK:
        try:
            return self._keys[kid]
        except KeyError:
            raise _unknown(kid) from None


class RemoteKeySet:
    """The identity provider's keys, fetched from ``url`` and cached; thread-safe."""

    def __init__(
        self,
        url: str,
        *,
        client: httpx.Client | None = None,
        ttl_seconds: float = 300.0,
        min_refresh_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self._client = client if client is not None else httpx.Client(timeout=5.0)
        self._ttl = ttl_seconds
        self._min_refresh = min_refresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, PyJWK] | None = None
        self._fetched_at = 0.0
        self._tried_at: float | None = None
        self.fetches = 0  # requests made, for tests and measurements

    def key(self, kid: str) -> PyJWK:
        with self._lock:
            now = self._clock()
            keys = self._keys
            wanted = keys is None or kid not in keys or now - self._fetched_at >= self._ttl
            if wanted and (self._tried_at is None or now - self._tried_at >= self._min_refresh):
                self._refresh(now)
            keys = self._keys
        if keys is None:
            raise KeySetUnavailableError(f"{self.url}: the identity provider's keys are unknown")
        try:
            return keys[kid]
        except KeyError:
            raise _unknown(kid) from None

    def _refresh(self, now: float) -> None:
        self._tried_at = now
        self.fetches += 1
        try:
            response = self._client.get(self.url, headers={"Accept": "application/json"})
            response.raise_for_status()
            keys = parse_key_set(response.json(), self.url)
        except (httpx.HTTPError, ValueError, KeySetUnavailableError) as exc:
            log.warning("cannot fetch token keys from %s: %s", self.url, _describe(exc))
            return
        self._keys, self._fetched_at = keys, now

    def close(self) -> None:
        self._client.close()


def _describe(exc: Exception) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    if isinstance(exc, KeySetUnavailableError):
        return str(exc)
    return type(exc).__name__
