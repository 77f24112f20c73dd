"""HTTP calls to a help desk, their failures in the help desk's terms (``gateway.http``).

HTTP 429 and 5xx are tried again (waiting what ``Retry-After`` asks, seconds or an
HTTP-date, else backing off exponentially, each wait capped by ``max_wait_seconds``), for at
most ``max_retries`` extra attempts; then the help desk counts as unavailable
(``HelpDeskUnavailableError``, carrying the last ``Retry-After``).  Connection failures
and timeouts are unavailable at once.  A 4xx is a refusal (``HelpDeskError``) with the
desk's own message.  Errors name the desk and the path, never a credential.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from gateway.http import Failure, RetryingClient, RetryPolicy, map_failure
from gateway.tickets.errors import HelpDeskError, HelpDeskUnavailableError
from gateway.tickets.jsontext import parse_json

__all__ = ["DeskHttp", "desk_policy"]


def desk_policy(max_retries: int, max_wait_seconds: float) -> RetryPolicy:
    """A help desk's limits: connection failures are not retried, answers are."""
    return RetryPolicy(
        max_retries=max_retries,
        backoff_seconds=0.5,
        max_wait_seconds=max_wait_seconds,
        retry_transport_errors=False,
    )


class DeskHttp:
    """One help desk's HTTP client; ``describe_error`` reads the desk's error body."""

    def __init__(
        self,
        desk: str,
        client: httpx.Client,
        policy: RetryPolicy,
        describe_error: Callable[[httpx.Response], str],
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.desk = desk
        self._describe = describe_error
        self._http = RetryingClient(
            client, name=desk, policy=policy, unavailable=self._unavailable, sleep=sleep
        )

    def _unavailable(self, failure: Failure) -> HelpDeskUnavailableError:
        if failure.response is None:
            return map_failure(
                failure,
                HelpDeskUnavailableError,
                lambda f: f"{f.where}: cannot reach the help desk ({f.error_name})",
            )
        answer = failure.response
        return map_failure(
            failure,
            lambda text: HelpDeskUnavailableError(text, failure.retry_after),
            lambda f: (
                f"{f.where}: {f.problem} after {f.attempts} attempts: {self._describe(answer)}"
            ),
        )

    def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        not_found: Callable[[], Exception] | None = None,
        refusals: Mapping[int, Callable[[], Exception]] | None = None,
    ) -> httpx.Response:
        """The 2xx answer, or the error saying why not (``refusals`` names the error of
        other statuses that mean something to the caller, such as 410 Gone)."""
        response = self._http.request(method, path, params=params, json=json)
        status = response.status_code
        if status < 300:
            return response
        if status == 404 and not_found is not None:
            raise not_found()
        if refusals is not None and status in refusals:
            raise refusals[status]()
        where = f"{self.desk} {method} {path}"
        raise HelpDeskError(f"{where}: HTTP {status}: {self._describe(response)}")

    def json(self, response: httpx.Response) -> Any:
        """The answer's JSON, overlong integers as markers (``jsontext``)."""
        try:
            return parse_json(response.text)
        except (ValueError, RecursionError) as exc:
            raise HelpDeskError(f"{self.desk}: answer is not JSON") from exc

    def close(self) -> None:
        self._http.close()
