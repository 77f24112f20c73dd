"""Credentials of outbound calls kept out of log lines: ``hide_url_in_logs`` keeps a secret
URL (a webhook's path is its credential) out of httpx's own request log lines.  (Connector
settings read their secrets from the environment through ``gateway.secrets``.)
"""

from __future__ import annotations

import logging

import httpx

__all__ = ["hide_url_in_logs"]


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
