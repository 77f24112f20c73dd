"""Every connector's client: base URL, timeout, the credential, no redirects."""

from __future__ import annotations

import httpx
from pydantic import SecretStr

from gateway.http import open_client


def _seen(**options: object) -> tuple[httpx.Request, httpx.Response, httpx.Client]:
    seen: list[httpx.Request] = []

    def reply(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(302, headers={"Location": "https://elsewhere.example/steal"})

    client = open_client(transport=httpx.MockTransport(reply), **options)  # type: ignore[arg-type]
    with client:
        response = client.get("/items")
    return seen[0], response, client


def test_a_token_is_sent_with_its_scheme_to_the_base_url() -> None:
    request, response, client = _seen(
        base_url="https://okta.example/", timeout=3.5, token=SecretStr("t0k"), scheme="SSWS"
    )
    assert str(request.url) == "https://okta.example/items"
    assert request.headers["Authorization"] == "SSWS t0k"
    assert request.headers["Accept"] == "application/json"
    assert client.timeout == httpx.Timeout(3.5)
    assert response.status_code == 302  # never followed: the credential stays home


def test_basic_credentials_and_extra_headers() -> None:
    request, _, _ = _seen(
        base_url="https://desk.example",
        timeout=1,
        basic=("elena", SecretStr("pw")),
        headers={"Accept": "text/plain", "X-Id": "1"},
    )
    assert request.headers["Authorization"] == "Basic ZWxlbmE6cHc="
    assert (request.headers["Accept"], request.headers["X-Id"]) == ("text/plain", "1")


def test_a_client_without_a_credential_sends_none() -> None:
    request, _, _ = _seen(base_url="https://hooks.example", timeout=1)
    assert "Authorization" not in request.headers
    assert "Bearer" not in repr(request.headers)
