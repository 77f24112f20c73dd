"""The Bot Framework key set as the JWKS URL serves it, good or bad."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gateway.chat.errors import ChatRefusedError
from gateway.chat.settings import TeamsChatSettings
from gateway.chat.teams_auth import BotFrameworkTokens
from tests.chat.teams_server import APP_ID, SERVICE_URL, KeyStandIn, new_key, public_jwk

SETTINGS = TeamsChatSettings(app_id=APP_ID, jwks_url="https://keys.example/keys")


def _tokens(answer: httpx.Response) -> BotFrameworkTokens:
    return BotFrameworkTokens(SETTINGS, transport=httpx.MockTransport(lambda request: answer))


def _verify(tokens: BotFrameworkTokens, token: str) -> dict[str, Any]:
    try:
        return tokens.verify({"Authorization": f"Bearer {token}"}, SERVICE_URL)
    finally:
        tokens.close()


KEYS = KeyStandIn({"k1": new_key()})


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="<html>"),
        httpx.Response(200, json={"no": "keys"}),
        httpx.Response(404, json={"keys": []}),
        httpx.Response(503, text="down"),
    ],
    ids=["not JSON", "no key set", "not found", "unavailable"],
)
def test_a_key_set_that_cannot_be_read_refuses_as_unavailable(answer: httpx.Response) -> None:
    with pytest.raises(ChatRefusedError) as caught:
        _verify(_tokens(answer), KEYS.token())
    assert (caught.value.reason, caught.value.status) == ("keys_unavailable", 503)


def test_keys_of_other_kinds_or_without_an_id_are_left_out() -> None:
    keys = [
        {"kty": "RSA", "kid": "broken", "n": "x"},  # missing e: not a key
        {k: v for k, v in public_jwk(KEYS.keys["k1"], "k1").items() if k != "kid"},
        public_jwk(KEYS.keys["k1"], "k1"),
    ]
    claims = _verify(_tokens(httpx.Response(200, json={"keys": keys})), KEYS.token())
    assert claims["aud"] == APP_ID
