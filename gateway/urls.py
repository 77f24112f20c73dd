"""Facts about the URLs that settings name, shared by every connector's settings."""

from __future__ import annotations

import ipaddress

__all__ = ["is_loopback_host"]


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` is this machine (``localhost`` or a loopback address): the only
    place where a connector accepts plain http, for a local test server."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
