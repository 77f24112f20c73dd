"""How the HTTP notifiers retry: exponential backoff on transient failures.

A connection failure or timeout, an HTTP 5xx and an HTTP 429 are retried, at most
``max_retries`` extra times.  The wait before retry ``n`` (0-based) is
``backoff_seconds * 2**n``, or the ``Retry-After`` seconds of a 429 when given; each wait is
capped by ``max_wait_seconds``.  Every other answer is returned to the notifier to judge.
Errors name the service and host, never the URL (a webhook URL's path is its secret).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from gateway.notify.errors import NotificationError

__all__ = ["RetryPolicy", "hide_url_in_logs", "post_with_retries"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Limits for retrying one delivery."""

    max_retries: int = 3
    backoff_seconds: float = 0.5
    max_wait_seconds: float = 30.0

    def wait(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait before retry ``attempt`` (0-based)."""
        if retry_after is not None:
            try:
                seconds = float(retry_after)
            except ValueError:
                pass
            else:
                return min(self.max_wait_seconds, max(0.0, seconds))
        return min(self.max_wait_seconds, self.backoff_seconds * 2.0**attempt)


def post_with_retries(
    client: httpx.Client,
    url: str,
    body: Any,
    *,
    where: str,
    policy: RetryPolicy,
    sleep: Callable[[float], None],
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST ``body`` as JSON; the last answer, or ``NotificationError`` naming ``where``."""
    attempt = 0
    while True:
        try:
            response = client.post(url, json=body, headers=headers)
        except httpx.TransportError as exc:
            problem = f"cannot be reached ({type(exc).__name__})"
            retry_after = None
        else:
            status = response.status_code
            if status != 429 and status < 500:
                return response
            problem = "rate limited (HTTP 429)" if status == 429 else f"HTTP {status}"
            retry_after = response.headers.get("Retry-After") if status == 429 else None
        if attempt >= policy.max_retries:
            raise NotificationError(f"{where}: {problem}; gave up after {attempt + 1} attempts")
        wait = policy.wait(attempt, retry_after)
        _log.warning("%s: %s, retrying in %.1fs", where, problem, wait)
        sleep(wait)
        attempt += 1


class _HideSecretUrls(logging.Filter):
    """Replaces registered secret URLs in ``httpx`` log records by their host."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[str, str] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and self.secrets:
            record.args = tuple(self._clean(arg) for arg in record.args)
        return True

    def _clean(self, arg: object) -> object:
        text = str(arg)
        for secret, shown in self.secrets.items():
            if secret in text:
                return text.replace(secret, shown)
        return arg


_FILTER = _HideSecretUrls()
logging.getLogger("httpx").addFilter(_FILTER)


def hide_url_in_logs(url: str) -> str:
    """Keep ``url`` out of httpx's request log lines; returns what is shown instead."""
    shown = f"{httpx.URL(url).scheme}://{httpx.URL(url).host}/[redacted]"
    _FILTER.secrets[url] = shown
    return shown
