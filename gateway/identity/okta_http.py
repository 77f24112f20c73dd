"""Calls to Okta's Management API (v1) for ``OktaDirectory``: retries, rate limits,
paging and Okta's error object.

Transport (``gateway.http``): HTTP 429 waits until ``X-Rate-Limit-Reset`` and 5xx backs off
exponentially, each wait capped by ``max_wait_seconds``, for at most ``max_retries`` extra
attempts (a retried write repeats the same change).  Connection failures and timeouts are
not retried; they, and a call that still fails after its attempts, raise
``DirectoryUnavailableError``.  List endpoints are followed page by page through
``Link: <...>; rel="next"``, never outside the org's base URL.
Neither the API token nor a secret of the call appears in an error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from gateway.errors import (
    DirectoryActionError,
    DirectoryUnavailableError,
    IdentityError,
    UnknownActorError,
)
from gateway.http import Failure, RetryingClient, RetryPolicy, map_failure, open_client, redact
from gateway.identity.okta_settings import OktaErrorObject, OktaObject, OktaSettings, parse_answer

__all__ = ["OktaHttp", "search_literal", "segment"]

_M = TypeVar("_M", bound=OktaObject)


def segment(value: str) -> str:
    """``value`` as one URL path segment, whatever it holds (``/``, ``?``, lone surrogates)."""
    return quote(value, safe="", errors="backslashreplace")


def search_literal(value: str) -> str:
    """A value as a quoted string of Okta's (SCIM) search syntax: JSON string escaping, with
    lone surrogates escaped too so that the expression is always valid UTF-8."""
    literal = json.dumps(value, ensure_ascii=False)
    return re.sub("[\ud800-\udfff]", lambda char: f"\\u{ord(char[0]):04x}", literal)


def _error_text(response: httpx.Response) -> str:
    """``HTTP 404 E0000007: Not found: ...`` from Okta's error object."""
    try:
        error = OktaErrorObject.model_validate(response.json())
    except ValueError:
        return f"HTTP {response.status_code} (no Okta error object)"
    causes = "; ".join(cause.errorSummary for cause in error.errorCauses if cause.errorSummary)
    text = f"HTTP {response.status_code} {error.errorCode}: {error.errorSummary}"
    return f"{text} ({causes})" if causes else text


def _rate_limit_reset(response: httpx.Response, now: datetime) -> float | None:
    """Okta's rate limits say when they reset (``X-Rate-Limit-Reset``, epoch seconds)."""
    if response.status_code != 429:
        return None
    try:
        return float(response.headers.get("X-Rate-Limit-Reset", "")) - now.timestamp()
    except ValueError:
        return None


class OktaHttp:
    """One pooled ``httpx.Client`` to an Okta org; ``clock`` (epoch seconds) measures
    ``X-Rate-Limit-Reset``; ``sleep`` performs every wait."""

    def __init__(
        self,
        settings: OktaSettings,
        *,
        transport: httpx.BaseTransport | None,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self._settings = settings
        self.base = settings.base_url
        policy = RetryPolicy(
            max_retries=settings.max_retries,
            backoff_seconds=settings.backoff_seconds,
            max_wait_seconds=settings.max_wait_seconds,
            retry_transport_errors=False,
        )
        client = open_client(
            base_url=settings.base_url,
            timeout=settings.timeout_seconds,
            token=settings.secret("token"),
            scheme="SSWS",
            transport=transport,
        )
        self._http = RetryingClient(
            client,
            name="okta",
            policy=policy,
            unavailable=lambda failure: map_failure(
                failure, DirectoryUnavailableError, self._unavailable_message
            ),
            sleep=sleep,
            clock=lambda: datetime.fromtimestamp(clock(), tz=UTC),
            hint=_rate_limit_reset,
        )

    def close(self) -> None:
        self._http.close()

    def _unavailable_message(self, failure: Failure) -> str:
        method, url = failure.method, failure.url
        if failure.timed_out:
            return (
                f"Okta at {self.base}: no answer to {method} {url} "
                f"within {self._settings.timeout_seconds:g}s"
            )
        if failure.response is None:
            return (
                f"Okta at {self.base} cannot be reached: {method} {url}: "
                f"{failure.error_name}: {failure.detail}"
            )
        where = f"Okta at {self.base}: {method} {url}"
        attempts = f"gave up after {failure.attempts} attempts"
        if failure.rate_limited:
            headers = failure.response.headers
            return (
                f"{where}: rate limited (HTTP 429, X-Rate-Limit-Limit "
                f"{headers.get('X-Rate-Limit-Limit', '?')}, X-Rate-Limit-Remaining "
                f"{headers.get('X-Rate-Limit-Remaining', '?')}); {attempts}"
            )
        return f"{where}: {_error_text(failure.response)}; {attempts}"

    def call(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
        user_id: str | None = None,
        action: bool = False,
        secret: str | None = None,
    ) -> httpx.Response:
        """One request; an Okta error becomes ``UnknownActorError`` (404 on a user named by
        ``user_id``), ``IdentityError`` (bad token, or a refused read) or
        ``DirectoryActionError`` (a refused ``action``)."""
        secrets = (secret,) if secret else ()
        response = self._http.request(method, url, params=params, json=body, secrets=secrets)
        if response.is_success:
            return response
        if response.status_code == 404 and user_id is not None:
            raise UnknownActorError(user_id)
        error = redact(_error_text(response), secrets)
        if response.status_code == 401:
            raise IdentityError(f"Okta at {self.base} rejected the API token: {error}")
        kind = DirectoryActionError if action else IdentityError
        raise kind(f"Okta {method} {url}: {error}")

    def json(self, response: httpx.Response) -> object:
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "no content type")
            request = response.request
            raise IdentityError(
                f"Okta {request.method} {request.url.path}: expected JSON, found {kind}"
            ) from None

    def items(
        self,
        path: str,
        model: type[_M],
        *,
        params: dict[str, str] | None = None,
        user_id: str | None = None,
    ) -> Iterator[_M]:
        """Every item of a list endpoint, following ``Link: <...>; rel="next"``."""
        url = path
        query: dict[str, str] | None = {**(params or {}), "limit": str(self._settings.page_size)}
        while True:
            response = self.call("GET", url, params=query, user_id=user_id)
            data = self.json(response)
            if not isinstance(data, list):
                raise IdentityError(
                    f"Okta GET {path}: expected a list, found {type(data).__name__}"
                )
            for item in data:
                yield parse_answer(model, item, f"GET {path}")
            next_url = response.links.get("next", {}).get("url")
            if not next_url:
                return
            if not next_url.startswith(f"{self.base}/"):
                raise IdentityError(
                    f"Okta GET {path}: refusing a next page outside {self.base}: {next_url}"
                )
            url, query = next_url, None
