"""Outbound HTTP for every connector: one client factory, one retry policy, one error mapping.

- ``open_client``: an ``httpx.Client`` with base URL, timeout and the credential from a
  ``SecretStr``; redirects are never followed.
- ``RetryPolicy`` and ``RetryingClient``: HTTP 429 and 5xx (and, if the policy says so,
  connection failures and timeouts) are tried again, waiting what ``Retry-After`` asks
  (seconds or an HTTP-date) or an exponential backoff, each wait capped; built on tenacity,
  with an injectable ``sleep`` and clock.
- ``Failure`` and ``map_failure``: a call without a usable answer becomes the connector's
  own domain error, its message free of every secret of the call.
- ``hide_url_in_logs``: a secret URL stays out of log lines (connector settings read their
  credentials from the environment through ``gateway.secrets``).
"""

from gateway.http.client import open_client
from gateway.http.failure import REDACTED, Failure, gave_up, map_failure, redact
from gateway.http.policy import RetryPolicy, WaitHint, is_retryable, retry_after
from gateway.http.retrying import RetryingClient
from gateway.http.secrets import hide_url_in_logs

__all__ = [
    "REDACTED",
    "Failure",
    "RetryPolicy",
    "RetryingClient",
    "WaitHint",
    "gave_up",
    "hide_url_in_logs",
    "is_retryable",
    "map_failure",
    "open_client",
    "redact",
    "retry_after",
]
