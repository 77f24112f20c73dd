"""Settings of the Prometheus monitoring source (``[troubleshooting.prometheus]``), in a
module that imports pydantic only, so that loading the configuration stays light.

With this table set, the ``monitoring`` checks of troubleshooting ask Prometheus's HTTP
API instead of the status file (``docs/troubleshooting.md``, "Prometheus").  A check's
``query`` reads ``<kind>:<target>``: ``kind`` names one of ``queries`` (a PromQL template)
or is ``alerts`` (the active alerts about the target).  The optional bearer token is read
from the environment variable named by ``token_env`` (``gateway.secrets``), never from the
file.
"""

from __future__ import annotations

from string import Template
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, field_validator, model_validator

from gateway.secrets import EnvSecret, EnvSecrets
from gateway.urls import is_loopback_host

__all__ = ["ALERTS_KIND", "DEFAULT_QUERIES", "PLACEHOLDERS", "PrometheusSettings"]

ALERTS_KIND = "alerts"
"""The kind of query answered from ``/api/v1/alerts`` rather than a PromQL template."""

PLACEHOLDERS = frozenset({"target", "instance"})
"""``$target``: the target as a PromQL string literal (``"printer-3f"``); ``$instance``: a
quoted regular expression matching the target with or without a ``:port``."""

DEFAULT_QUERIES = {
    "host_up": "up{instance=~$instance}",
    "service": "up{job=$target}",
}


class PrometheusSettings(EnvSecrets):
    """Where Prometheus answers and what the checks ask it.

    ``url`` is the server (``https://prometheus.example.com``; plain http only for a
    loopback host or when ``allow_plain_http`` says so, for a server on a trusted network).
    ``timeout_seconds`` bounds each call and is passed to Prometheus as the query's own
    ``timeout``; ``max_retries`` extra attempts follow a 5xx answer or a connection failure.
    ``alert_labels`` are the labels of an alert that may name the target.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    url: str
    timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    max_retries: int = Field(default=1, ge=0, le=5)
    allow_plain_http: bool = False
    token: EnvSecret = Field(default=None, min_length=1)
    token_env: str | None = Field(default=None, min_length=1)
    queries: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_QUERIES))
    alert_labels: list[str] = Field(
        default_factory=lambda: ["instance", "host", "service", "job"], min_length=1
    )

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("expected an http(s):// URL such as https://prometheus.example.com")
        if parts.username or parts.password or parts.query or parts.fragment:
            raise ValueError("expected scheme, host, port and path only")
        return value.rstrip("/")

    @field_validator("queries")
    @classmethod
    def _check_queries(cls, value: dict[str, str]) -> dict[str, str]:
        for kind, template in value.items():
            if not kind.isidentifier() or kind == ALERTS_KIND:
                raise ValueError(f"query kind {kind!r}: expected a name other than 'alerts'")
            parsed = Template(template)
            names = set(parsed.get_identifiers())
            if not parsed.is_valid() or not names or not names <= PLACEHOLDERS:
                raise ValueError(
                    f"query {kind!r}: use $target or $instance for the target, and no other $"
                )
        return value

    @field_validator("alert_labels")
    @classmethod
    def _check_labels(cls, value: list[str]) -> list[str]:
        for label in value:
            if not label.isidentifier():
                raise ValueError(f"alert label {label!r}: expected a Prometheus label name")
        return value

    @model_validator(mode="after")
    def _check_plain_http(self) -> PrometheusSettings:
        host = urlsplit(self.url).hostname or ""
        if self.url.startswith("http://") and not (self.allow_plain_http or is_loopback_host(host)):
            raise ValueError(
                "url: plain http is allowed only for a loopback host or with "
                "allow_plain_http = true; use https://"
            )
        return self
