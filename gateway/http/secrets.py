"""Credentials of outbound calls: read from the environment, kept out of log lines.

``secret_from_env`` reads a connector's secret from the environment variable that its
configuration table names in ``<key>_env`` (a secret is never written in the file).
``hide_url_in_logs`` keeps a secret URL (a webhook's path is its credential) out of
httpx's own request log lines.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import httpx

from gateway.errors import ConfigError

__all__ = ["hide_url_in_logs", "secret_from_env"]


def secret_from_env(
    section: str, table: Mapping[str, Any], key: str, *, required: bool = False
) -> dict[str, Any]:
    """``table`` with ``key`` read from the environment variable that ``<key>_env`` names;
    ``table`` unchanged (without ``<key>_env``) when it names none and none is ``required``.
    Errors name the setting and the variable, never a value."""
    settings = {name: value for name, value in table.items() if name != f"{key}_env"}
    variable = table.get(f"{key}_env")
    if variable is None and not required:
        return settings
    if not variable:
        raise ConfigError(f"{section}.{key}_env: name the environment variable holding it")
    value = os.environ.get(str(variable))
    if not value:
        raise ConfigError(f"{section}.{key}_env: environment variable {variable} is not set")
    settings[key] = value
    return settings


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
    parsed = httpx.URL(url)
    shown = f"{parsed.scheme}://{parsed.host}/[redacted]"
    _FILTER.secrets[url] = shown
    return shown
