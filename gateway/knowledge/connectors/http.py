"""HTTP calls to a knowledge base, their failures in the gateway's terms.

Connection failures, timeouts, 429 and 5xx answers mean the system is unavailable
(``TargetUnavailableError``: the runtime tries again later); any other 4xx is a refusal
(``PublishError`` with the status and the system's own short message).  Errors name the
system, the method and the path, never a credential.
"""

from __future__ import annotations

import os
from typing import Any

import httpx

from gateway.errors import ConfigError, TargetUnavailableError
from gateway.knowledge.errors import PublishError
from gateway.knowledge.text import one_line

__all__ = ["call_json", "secret_from_env"]


def secret_from_env(section: str, table: dict[str, Any], key: str) -> dict[str, Any]:
    """``table`` with ``key`` read from the environment variable ``KEY_env`` names."""
    settings = {name: value for name, value in table.items() if name != f"{key}_env"}
    variable = table.get(f"{key}_env")
    if variable is None:
        return settings
    value = os.environ.get(str(variable))
    if not value:
        raise ConfigError(f"{section}.{key}_env: environment variable {variable} is not set")
    settings[key] = value
    return settings


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


def call_json(
    client: httpx.Client, system: str, method: str, path: str, **options: Any
) -> dict[str, Any]:
    """One request; the JSON object it answers with."""
    try:
        response = client.request(method, path, **options)
    except httpx.TimeoutException:
        raise TargetUnavailableError(system, f"{method} {path} timed out") from None
    except httpx.TransportError as exc:
        raise TargetUnavailableError(system, f"{method} {path}: {type(exc).__name__}") from None
    if response.status_code == 429 or response.status_code >= 500:
        raise TargetUnavailableError(system, f"{method} {path} answered {response.status_code}")
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
