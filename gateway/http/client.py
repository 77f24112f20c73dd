"""The one way a connector opens an ``httpx.Client``.

Every client: the base URL, a timeout, ``Accept: application/json``, redirects never
followed (a redirect could carry the credential to another host), and the credential from
a ``SecretStr``: ``Authorization: <scheme> <token>`` or HTTP Basic.  The credential's value
is read only here, when the client is built.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from pydantic import SecretStr

__all__ = ["open_client"]


def open_client(
    *,
    timeout: float,
    base_url: str = "",
    token: SecretStr | None = None,
    scheme: str = "Bearer",
    basic: tuple[str, SecretStr] | None = None,
    headers: Mapping[str, str] | None = None,
    verify: bool = True,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """A pooled client; ``transport`` replaces the network (tests)."""
    sent = {"Accept": "application/json", **(headers or {})}
    if token is not None:
        sent["Authorization"] = f"{scheme} {token.get_secret_value()}"
    auth = None if basic is None else httpx.BasicAuth(basic[0], basic[1].get_secret_value())
    return httpx.Client(
        base_url=base_url.rstrip("/"),
        headers=sent,
        auth=auth,
        timeout=timeout,
        verify=verify,
        transport=transport,
        follow_redirects=False,
    )
