"""Settings of the Snipe-IT asset manager (``[selfservice.snipeit]``), in a module that
imports pydantic only, so that loading the configuration does not load the connector.

The API token is read from the environment variable named by ``token_env`` when the
connector is built (``gateway.secrets``), never from the file.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, field_validator

from gateway.secrets import EnvSecret, EnvSecrets
from gateway.urls import is_loopback_host

__all__ = ["SnipeItSettings"]


class SnipeItSettings(EnvSecrets):
    """``base_url`` is the Snipe-IT site (``https://assets.example.com``); plain http only
    for a loopback host (tests)."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)
    required_secrets = ("token",)

    base_url: str
    token: EnvSecret = Field(default=None, min_length=1)
    token_env: str | None = Field(default=None, min_length=1)
    name: str = Field(default="snipe-it", min_length=1)
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    page_size: int = Field(default=500, ge=1, le=500)
    note: str = Field(default="installed through the IT support gateway", max_length=200)

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("expected an https:// URL such as https://assets.example.com")
        if parts.scheme == "http" and not is_loopback_host(parts.hostname):
            raise ValueError("plain http is allowed only for a loopback host; use https://")
        if parts.username or parts.password or parts.query or parts.fragment:
            raise ValueError("expected scheme, host, port and path only")
        return value.rstrip("/")
