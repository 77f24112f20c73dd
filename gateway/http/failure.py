"""Why an outbound call got no usable answer, and the connector's error for it.

A ``Failure`` is a call that got no answer (a connection failure, a timeout, any other
``httpx.RequestError``) or whose last answer was still HTTP 429 or 5xx after every attempt
the ``RetryPolicy`` allows.  ``map_failure`` turns it into the connector's own domain error
(``DirectoryUnavailableError``, ``HelpDeskUnavailableError``, ``NotificationError``,
``TargetUnavailableError``, ...) with every secret of the call replaced by ``[redacted]``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

import httpx

__all__ = ["REDACTED", "Failure", "gave_up", "map_failure", "redact"]

REDACTED = "[redacted]"

_E = TypeVar("_E", bound=Exception)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every non-empty secret replaced by ``[redacted]``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


@dataclass(frozen=True, slots=True, repr=False)
class Failure:
    """One call that failed for want of a usable answer.

    Exactly one of ``response`` (the last answer: 429 or 5xx) and ``error`` (why there was
    no answer) is set.  ``where`` names the call without a secret (``okta GET /api/v1/users``,
    ``Slack webhook at hooks.slack.com``); ``retry_after`` is the wait the last answer asked
    for, uncapped.  The ``repr`` shows no secret.
    """

    where: str
    method: str
    url: str
    attempts: int
    response: httpx.Response | None = None
    error: httpx.RequestError | None = None
    retry_after: float | None = None
    secrets: tuple[str, ...] = ()

    def __repr__(self) -> str:
        shown = self.error_name or f"HTTP {self.status}"
        return redact(
            f"Failure({self.where!r}, {self.method} {self.url}, {shown}, "
            f"attempts={self.attempts}, retry_after={self.retry_after})",
            self.secrets,
        )

    @property
    def status(self) -> int | None:
        return None if self.response is None else self.response.status_code

    @property
    def timed_out(self) -> bool:
        return isinstance(self.error, httpx.TimeoutException)

    @property
    def rate_limited(self) -> bool:
        return self.status == 429

    @property
    def error_name(self) -> str:
        """The class of the request error (``ConnectError``, ``ReadTimeout``), or ``""``."""
        return "" if self.error is None else type(self.error).__name__

    @property
    def detail(self) -> str:
        """The request error's own words, without a secret."""
        return "" if self.error is None else redact(str(self.error), self.secrets)

    @property
    def problem(self) -> str:
        """``cannot be reached (ConnectError)``, ``rate limited (HTTP 429)`` or ``HTTP 503``."""
        if self.error is not None:
            return f"cannot be reached ({self.error_name})"
        if self.rate_limited:
            return "rate limited (HTTP 429)"
        return f"HTTP {self.status}"


def gave_up(failure: Failure) -> str:
    """The usual message: ``<where>: <problem>; gave up after <n> attempts``."""
    return f"{failure.where}: {failure.problem}; gave up after {failure.attempts} attempts"


def map_failure(
    failure: Failure,
    error: Callable[[str], _E],
    message: Callable[[Failure], str] = gave_up,
) -> _E:
    """The connector's domain error for ``failure``: ``error`` of ``message(failure)``, every
    secret of the call replaced by ``[redacted]``."""
    return error(redact(message(failure), failure.secrets))
