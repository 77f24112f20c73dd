"""One outbound call, tried again as the ``RetryPolicy`` says, on tenacity.

``RetryingClient.request`` answers with the response when it is neither HTTP 429 nor 5xx
(a success or a refusal, for the connector to judge).  Otherwise (no answer at all, or
still 429/5xx after the last attempt) it raises the connector's own error, made by the
``unavailable`` function from a ``Failure`` (see ``gateway.http.failure``).

Waits go through ``sleep`` and "now" comes from ``clock``, so tests record the waits instead
of sleeping.  Each retry is logged at WARNING (``<where>: HTTP 503, retrying in 1.0s``),
each answer at DEBUG; neither holds a secret of the call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import httpx
import tenacity

from gateway.clock import Clock, utcnow
from gateway.http.failure import Failure, redact
from gateway.http.policy import RetryPolicy, WaitHint, is_retryable, retry_after

__all__ = ["RetryingClient"]

_log = logging.getLogger(__name__)


class RetryingClient:
    """An ``httpx.Client`` behind one retry policy and one error mapping.

    ``name`` labels log lines (``<name> <method> <url>`` unless a call gives ``where``);
    ``secrets`` (the credential) and each call's own ``secrets`` are redacted from the
    error that ``unavailable`` makes.
    """

    def __init__(
        self,
        client: httpx.Client,
        *,
        name: str,
        policy: RetryPolicy,
        unavailable: Callable[[Failure], Exception],
        sleep: Callable[[float], None] = time.sleep,
        clock: Clock = utcnow,
        hint: WaitHint = retry_after,
        secrets: Iterable[str] = (),
    ) -> None:
        self.client = client
        self.name = name
        self.policy = policy
        self._unavailable = unavailable
        self._sleep = sleep
        self._clock = clock
        self._hint = hint
        self._secrets = tuple(secrets)

    def __repr__(self) -> str:
        return f"RetryingClient(name={self.name!r}, policy={self.policy!r})"

    def close(self) -> None:
        self.client.close()

    def _asked(self, response: httpx.Response) -> float | None:
        return self._hint(response, self._clock())

    def _wait(self, state: tenacity.RetryCallState) -> float:
        outcome = state.outcome
        asked = None
        if outcome is not None and not outcome.failed:
            asked = self._asked(outcome.result())
        return self.policy.wait(state.attempt_number - 1, asked)

    def _retrying(self, label: str) -> tenacity.Retrying:
        retry: tenacity.retry_base = tenacity.retry_if_result(_retryable_answer)
        if self.policy.retry_transport_errors:
            retry = retry | tenacity.retry_if_exception_type(httpx.TransportError)

        def log_retry(state: tenacity.RetryCallState) -> None:
            _log.warning("%s: %s, retrying in %.1fs", label, _problem(state), state.upcoming_sleep)

        return tenacity.Retrying(
            sleep=self._sleep,
            stop=tenacity.stop_after_attempt(self.policy.max_retries + 1),
            wait=self._wait,
            retry=retry,
            before_sleep=log_retry,
            retry_error_callback=_last_answer,
            reraise=True,
        )

    def request(
        self,
        method: str,
        url: str,
        *,
        where: str | None = None,
        secrets: Iterable[str] = (),
        **options: Any,
    ) -> httpx.Response:
        """The answer unless it is 429 or 5xx; ``options`` go to ``httpx.Client.request``
        (``params``, ``json``, ``headers``)."""
        hidden = (*self._secrets, *secrets)
        label = redact(where or f"{self.name} {method} {url}", hidden)
        attempts = 0

        def attempt() -> httpx.Response:
            nonlocal attempts
            attempts += 1
            response = self.client.request(method, url, **options)
            _log.debug("%s -> HTTP %d", label, response.status_code)
            return response

        try:
            response: httpx.Response = self._retrying(label)(attempt)
        except httpx.RequestError as exc:
            failure = Failure(label, method, url, attempts, error=exc, secrets=hidden)
            raise self._unavailable(failure) from None
        if not is_retryable(response.status_code):
            return response
        asked = self._asked(response)
        failure = Failure(label, method, url, attempts, response, retry_after=asked, secrets=hidden)
        raise self._unavailable(failure) from None


def _retryable_answer(response: httpx.Response) -> bool:
    return is_retryable(response.status_code)


def _last_answer(state: tenacity.RetryCallState) -> object:
    """After the last attempt: its answer, or its exception raised again."""
    return state.outcome.result() if state.outcome is not None else None


def _problem(state: tenacity.RetryCallState) -> str:
    outcome = state.outcome
    if outcome is not None and outcome.failed:
        return f"cannot be reached ({type(outcome.exception()).__name__})"
    return f"HTTP {outcome.result().status_code if outcome is not None else 0}"
