"""The Bot Framework's bearer token on every activity sent to the bot.

"Authentication with the Bot Connector API" (learn.microsoft.com/azure/bot-service/rest-
api/bot-framework-rest-connector-authentication), connector to bot: the request carries
``Authorization: Bearer <JWT>``; the token must be signed (RS256) by a key of the Bot
Framework's OpenID metadata JWKS, with issuer ``https://api.botframework.com``, audience
the bot's Microsoft App ID, not expired (five minutes of clock skew allowed), and, when it
has a ``serviceurl`` claim, that claim must equal the activity's ``serviceUrl``.

The keys are fetched from the configured JWKS URL through ``gateway.http`` and kept
``jwks_cache_seconds``; a token naming a key id not in the set fetches the set again at
most once a minute (keys rotate), then is refused.  PyJWT checks signature and claims.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import jwt

from gateway.chat.errors import ChatRefusedError
from gateway.chat.settings import TeamsChatSettings
from gateway.errors import GatewayError
from gateway.http import RetryingClient, RetryPolicy, map_failure, open_client

__all__ = ["BotFrameworkTokens"]

_REFETCH_AFTER = 60.0


class _JwksError(GatewayError):
    pass


class BotFrameworkTokens:
    def __init__(
        self,
        settings: TeamsChatSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._monotonic = monotonic
        self._http = RetryingClient(
            open_client(timeout=settings.timeout_seconds, transport=transport),
            name="bot-framework-jwks",
            policy=RetryPolicy(max_retries=1),
            unavailable=lambda failure: map_failure(failure, _JwksError),
        )
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None
        self._missed_at: float | None = None  # the last fetch for an unknown key id
        self._lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    def _fetch(self) -> None:
        response = self._http.request("GET", self._settings.jwks_url, where="Bot Framework JWKS")
        try:
            found = response.json() if response.status_code == 200 else None
        except ValueError:
            found = None
        keys = found.get("keys") if isinstance(found, dict) else None
        if not isinstance(keys, list):
            raise _JwksError(f"Bot Framework JWKS: HTTP {response.status_code}, no key set")
        parsed: dict[str, Any] = {}
        for entry in keys:
            try:
                key = jwt.PyJWK(entry)
            except (jwt.PyJWTError, TypeError, ValueError):
                continue  # a key of a kind we do not use
            if key.key_id:
                parsed[key.key_id] = key.key
        self._keys = parsed
        self._fetched_at = self._monotonic()

    def _key(self, kid: str) -> Any:
        with self._lock:
            now = self._monotonic()
            stale = self._fetched_at is None or (
                now - self._fetched_at >= self._settings.jwks_cache_seconds
            )
            missing = (
                not stale
                and kid not in self._keys
                and (self._missed_at is None or now - self._missed_at >= _REFETCH_AFTER)
            )
            if missing:
                self._missed_at = now
            if stale or missing:
                try:
                    self._fetch()
                except GatewayError as exc:
                    raise ChatRefusedError(
                        "keys_unavailable", f"the signing keys cannot be read: {exc}", status=503
                    ) from exc
            key = self._keys.get(kid)
        if key is None:
            raise ChatRefusedError("bad_token", "the token is signed by an unknown key")
        return key

    def verify(self, headers: Mapping[str, str], service_url: str | None) -> dict[str, Any]:
        """The token's claims; ``ChatRefusedError`` for anything but a valid token."""
        lowered = {k.lower(): v for k, v in headers.items()}
        scheme, _, token = lowered.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ChatRefusedError("unsigned", "the activity carries no bearer token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise ChatRefusedError("bad_token", "the bearer token is not a JWT") from None
        kid = header.get("kid")
        if header.get("alg") != "RS256" or not isinstance(kid, str):
            raise ChatRefusedError("bad_token", "the token is not signed with RS256 and a key id")
        key = self._key(kid)
        settings = self._settings
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience=settings.app_id,
                issuer=settings.issuer,
                leeway=settings.leeway_seconds,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.InvalidAudienceError:
            raise ChatRefusedError("bad_token", "the token is for another audience") from None
        except jwt.InvalidIssuerError:
            raise ChatRefusedError("bad_token", "the token has another issuer") from None
        except jwt.ExpiredSignatureError:
            raise ChatRefusedError("expired", "the token has expired") from None
        except jwt.PyJWTError as exc:
            raise ChatRefusedError("bad_token", f"the token is refused: {exc}") from None
        claimed = claims.get("serviceurl")
        if claimed is not None and claimed != service_url:
            raise ChatRefusedError("bad_token", "the token is for another service URL")
        return claims
