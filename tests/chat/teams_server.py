"""A local stand-in for the Bot Framework's signing keys, and activities as Teams sends them.

Documents followed (learn.microsoft.com, read through the search tool):

- "Authentication with the Bot Connector API" (azure/bot-service/rest-api/bot-framework-
  rest-connector-authentication): the OpenID metadata's ``jwks_uri`` serves ``{"keys":
  [{"kty": "RSA", "use": "sig", "kid", "n", "e", "endorsements": [...]}]}``; a connector's
  token is an RS256 JWT with ``iss`` ``https://api.botframework.com``, ``aud`` the bot's
  app id, ``exp``, ``nbf`` and ``serviceurl``;
- "Universal Actions for Adaptive Cards" (microsoftteams/platform/task-modules-and-cards/
  cards/universal-actions-for-adaptive-cards/work-with-universal-actions-for-adaptive-cards):
  the ``invoke`` activity named ``adaptiveCard/action`` with ``value.action`` (``type``
  ``Action.Execute``, ``verb``, ``data``) and ``from.aadObjectId``;
- "Get Teams specific context for your bot" (microsoftteams/platform/bots/how-to/get-teams-
  context): an activity's ``from`` carries the Teams user ``id``, ``name`` and
  ``aadObjectId`` (a GUID); ``userPrincipalName`` and ``email`` come only from the
  conversation-members API (``TeamsInfo.getMember``), so they are not in ``execute``.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.integration.quiet_http import QuietHandler, QuietServer

APP_ID = "00000000-0000-0000-0000-00000000b07a"
SERVICE_URL = "https://smba.trafficmanager.net/amer/"
ISSUER = "https://api.botframework.com"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "use": "sig", "endorsements": ["msteams"]}


@dataclass
class KeyStandIn:
    keys: dict[str, rsa.RSAPrivateKey] = field(default_factory=dict)
    fetches: int = 0
    base_url: str = ""

    @property
    def jwks_url(self) -> str:
        return f"{self.base_url}/v1/.well-known/keys"

    def token(self, kid: str = "k1", **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": ISSUER, "aud": APP_ID, "exp": now + 3600, "nbf": now - 10,
                "serviceurl": SERVICE_URL, **claims}  # fmt: skip
        return jwt.encode(body, self.keys[kid], algorithm="RS256", headers={"kid": kid})


@contextlib.contextmanager
def running_keys() -> Iterator[KeyStandIn]:
    stand_in = KeyStandIn({"k1": new_key()})

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            stand_in.fetches += 1
            keys = [public_jwk(key, kid) for kid, key in stand_in.keys.items()]
            keys.append({"kty": "oct", "kid": "symmetric", "k": "c2VjcmV0"})  # ignored kind
            data = json.dumps({"keys": keys}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = QuietServer(("127.0.0.1", 0), Handler)
    stand_in.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()


def execute(aad_object_id: str, verb: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "invoke",
        "name": "adaptiveCard/action",
        "id": "f:1234567890",
        "timestamp": "2024-06-05T12:00:00.000Z",
        "serviceUrl": SERVICE_URL,
        "channelId": "msteams",
        "from": {"id": "29:1abcdef", "name": "Someone", "aadObjectId": aad_object_id},
        "conversation": {"id": "a:1conversation", "conversationType": "personal"},
        "recipient": {"id": f"28:{APP_ID}", "name": "IT gateway"},
        "value": {"action": {"type": "Action.Execute", "verb": verb, "data": data},
                  "trigger": "manual"},
    }  # fmt: skip
