"""HTTP calls to a knowledge base, their failures in the gateway's terms (``gateway.http``).

Connection failures, timeouts, 429 and 5xx answers mean the system is unavailable
(``TargetUnavailableError``: the runtime tries again later, so a call here is made once);
any other 4xx is a refusal (``PublishError`` with the status and the system's own short
message).  Errors name the system, the method and the path, never a credential.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from gateway.errors import TargetUnavailableError
from gateway.http import Failure, RetryingClient, RetryPolicy, map_failure
from gateway.knowledge.errors import PublishError
from gateway.knowledge.text import one_line

__all__ = ["call_json", "knowledge_http"]

_ONCE = RetryPolicy(max_retries=0)


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return one_line(response.text, 200)
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            return one_line(error.get("message") or error.get("detail") or "", 200)
        if "message" in body:
            return one_line(body["message"], 200)
    return ""


def _unavailable(system: str) -> Callable[[Failure], Exception]:
    def message(failure: Failure) -> str:
        call = f"{failure.method} {failure.url}"
        if failure.timed_out:
            return f"{call} timed out"
        if failure.response is None:
            return f"{call}: {failure.error_name}"
        return f"{call} answered {failure.status}"

    def error(failure: Failure) -> TargetUnavailableError:
        return map_failure(failure, lambda text: TargetUnavailableError(system, text), message)

    return error


def knowledge_http(system: str, client: httpx.Client) -> RetryingClient:
    """``client`` behind the knowledge bases' error mapping, each call made once."""
    return RetryingClient(client, name=system, policy=_ONCE, unavailable=_unavailable(system))


def call_json(http: RetryingClient, method: str, path: str, **options: Any) -> dict[str, Any]:
    """One request; the JSON object it answers with."""
    system = http.name
    response = http.request(method, path, **options)
    if response.status_code >= 400:
        why = _message(response)
        raise PublishError(
            f"{system} refused {method} {path}: {response.status_code}" + (f" {why}" if why else "")
        )
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise PublishError(f"{system}: {method} {path} did not answer with a JSON object")
    return body
