"""HTTP calls to a help desk: rate limits, retries and errors that say what happened.

HTTP 429 waits for ``Retry-After`` (seconds), a 5xx backs off exponentially, each wait
capped by ``max_wait_seconds``, for at most ``max_retries`` extra attempts; then the help
desk counts as unavailable (``HelpDeskUnavailableError``, carrying the last
``Retry-After``).  Connection failures and timeouts are unavailable at once.  A 4xx is a
refusal (``HelpDeskError``) with the desk's own message.  Errors name the desk and the
path, never a credential.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from gateway.tickets.errors import HelpDeskError, HelpDeskUnavailableError
from gateway.tickets.jsontext import parse_json

__all__ = ["DeskHttp", "RetryLimits"]


@dataclass(frozen=True, slots=True)
class RetryLimits:
    max_retries: int = 3
    backoff_seconds: float = 0.5
    max_wait_seconds: float = 30.0


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return None if value is None else max(0.0, float(value))
    except ValueError:
        return None


class DeskHttp:
    """One help desk's HTTP client; ``describe_error`` reads the desk's error body."""

    def __init__(
        self,
        desk: str,
        client: httpx.Client,
        limits: RetryLimits,
        describe_error: Callable[[httpx.Response], str],
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.desk = desk
        self.client = client
        self.limits = limits
        self._describe = describe_error
        self._sleep = sleep

    def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        not_found: Callable[[], Exception] | None = None,
    ) -> httpx.Response:
        """The 2xx answer, or the error saying why not."""
        where = f"{self.desk} {method} {path}"
        attempt = 0
        while True:
            try:
                response = self.client.request(method, path, params=params, json=json)
            except httpx.HTTPError as exc:
                raise HelpDeskUnavailableError(
                    f"{where}: cannot reach the help desk ({type(exc).__name__})"
                ) from exc
            status = response.status_code
            if status < 300:
                return response
            if status == 404 and not_found is not None:
                raise not_found()
            if status != 429 and status < 500:
                raise HelpDeskError(f"{where}: HTTP {status}: {self._describe(response)}")
            retry_after = _retry_after(response)
            if attempt >= self.limits.max_retries:
                what = "rate limited (HTTP 429)" if status == 429 else f"HTTP {status}"
                raise HelpDeskUnavailableError(
                    f"{where}: {what} after {attempt + 1} attempts: {self._describe(response)}",
                    retry_after,
                )
            wait = self.limits.backoff_seconds * 2.0**attempt
            if retry_after is not None:
                wait = retry_after
            self._sleep(min(self.limits.max_wait_seconds, wait))
            attempt += 1

    def json(self, response: httpx.Response) -> Any:
        """The answer's JSON, overlong integers as markers (``jsontext``)."""
        try:
            return parse_json(response.text)
        except (ValueError, RecursionError) as exc:
            raise HelpDeskError(f"{self.desk}: answer is not JSON") from exc

    def close(self) -> None:
        self.client.close()
