"""A local HTTP server speaking the Slack and Teams webhook shapes the notifiers use.

Routes (any host path prefix is irrelevant; only the path is checked):

- ``POST /services/<team>/<bot>/<secret>``: a Slack incoming webhook.  ``200 ok``; ``400
  invalid_payload`` for a body that is not JSON, ``400 no_text`` without ``text``, ``404
  no_service`` for an unknown secret.
- ``POST /api/chat.postMessage``: Slack's Web API.  ``Authorization: Bearer <token>`` or
  ``{"ok": false, "error": "not_authed"|"invalid_auth"}``; a channel not in ``channels``
  gives ``channel_not_found``; else ``{"ok": true, "channel", "ts"}``.
- ``POST /webhookb2/<secret>``: a legacy Teams connector, ``200 1`` for a MessageCard with a
  ``text`` or ``summary`` or for an Adaptive Card message, else ``400 Summary or Text is
  required.``
- ``POST /workflows/<secret>``: a Teams Workflows webhook, ``202`` with an empty body for a
  message with an attachment, else ``400``.

Switches for failure tests: ``rate_limit(n, retry_after)`` answers the next ``n`` requests
with 429 (and ``Retry-After`` unless ``None``), ``fail(n, status, body)`` with that status,
``answer_raw(n, status, body, content_type)`` with exactly those bytes.  Every request is
recorded in ``requests`` (method, path, headers, decoded JSON body or ``None``).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.integration.quiet_http import QuietHandler, QuietServer

SLACK_WEBHOOK_PATH = "/services/T0001/B0001/"
TEAMS_LEGACY_PATH = "/webhookb2/"
TEAMS_WORKFLOW_PATH = "/workflows/"


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class _Canned:
    status: int
    body: bytes
    content_type: str = "text/plain"
    headers: list[tuple[str, str]] = field(default_factory=list)


class WebhookServer:
    """Start with ``start()``, stop with ``stop()``; ``base_url`` is ``http://127.0.0.1:PORT``."""

    def __init__(self, *, secret: str, token: str, channels: tuple[str, ...] = ("C0001",)):
        self.secret = secret
        self.token = token
        self.channels = set(channels)
        self.requests: list[Recorded] = []
        self.canned: list[_Canned] = []
        self.lock = threading.RLock()
        self._httpd: QuietServer | None = None
        self._connections: set[socket.socket] = set()
        self.base_url = ""

    @property
    def slack_webhook_url(self) -> str:
        return f"{self.base_url}{SLACK_WEBHOOK_PATH}{self.secret}"

    @property
    def teams_legacy_url(self) -> str:
        return f"{self.base_url}{TEAMS_LEGACY_PATH}{self.secret}"

    @property
    def teams_workflow_url(self) -> str:
        return f"{self.base_url}{TEAMS_WORKFLOW_PATH}{self.secret}"

    def start(self, port: int = 0) -> None:
        server = self

        class Handler(_Handler):
            hooks = server

        self._httpd = QuietServer(("127.0.0.1", port), Handler)
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        threading.Thread(target=self._httpd.serve_forever, args=(0.01,), daemon=True).start()

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        with self.lock:
            for connection in self._connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
        self._httpd = None

    def rate_limit(self, count: int, retry_after: str | None = "1") -> None:
        headers = [] if retry_after is None else [("Retry-After", retry_after)]
        self.canned.extend([_Canned(429, b"rate limited", headers=headers)] * count)

    def fail(self, count: int, status: int = 500, body: bytes = b"internal error") -> None:
        self.canned.extend([_Canned(status, body)] * count)

    def answer_raw(self, count: int, status: int, body: bytes, content_type: str) -> None:
        self.canned.extend([_Canned(status, body, content_type)] * count)

    def handle(self, path: str, headers: dict[str, str], body: Any) -> tuple[int, Any]:
        """The answer as (status, str or JSON-able object)."""
        if path == "/api/chat.postMessage":
            return 200, self._post_message(headers, body)
        if path.startswith(SLACK_WEBHOOK_PATH):
            if path != SLACK_WEBHOOK_PATH + self.secret:
                return 404, "no_service"
            if not isinstance(body, dict):
                return 400, "invalid_payload"
            return (200, "ok") if body.get("text") else (400, "no_text")
        if path in (TEAMS_LEGACY_PATH + self.secret, TEAMS_WORKFLOW_PATH + self.secret):
            return self._teams(path.startswith(TEAMS_LEGACY_PATH), body)
        return 404, "not found"

    def _post_message(self, headers: dict[str, str], body: Any) -> dict[str, Any]:
        authorization = headers.get("Authorization", "")
        if not authorization.startswith("Bearer "):
            return {"ok": False, "error": "not_authed"}
        if authorization != f"Bearer {self.token}":
            return {"ok": False, "error": "invalid_auth"}
        if not isinstance(body, dict) or not body.get("text"):
            return {"ok": False, "error": "no_text"}
        if body.get("channel") not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        return {
            "ok": True,
            "channel": body["channel"],
            "ts": f"1700000000.{len(self.requests):06d}",
        }

    @staticmethod
    def _teams(legacy: bool, body: Any) -> tuple[int, Any]:
        adaptive = isinstance(body, dict) and body.get("type") == "message"
        adaptive = adaptive and bool(body.get("attachments"))
        if legacy:
            card = isinstance(body, dict) and bool(body.get("text") or body.get("summary"))
            return (200, "1") if adaptive or card else (400, "Summary or Text is required.")
        return (202, "") if adaptive else (400, "Bad Request")


class _Handler(QuietHandler):
    hooks: WebhookServer

    def setup(self) -> None:
        super().setup()
        with self.hooks.lock:
            self.hooks._connections.add(self.connection)

    def _answer(
        self, status: int, data: bytes, content_type: str, headers: list[tuple[str, str]]
    ) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        hooks = self.hooks
        with hooks.lock:
            hooks.requests.append(Recorded("POST", self.path, dict(self.headers.items()), body))
            canned = hooks.canned.pop(0) if hooks.canned else None
            if canned is None:
                status, answer = hooks.handle(self.path, dict(self.headers.items()), body)
        if canned is not None:
            return self._answer(canned.status, canned.body, canned.content_type, canned.headers)
        if isinstance(answer, str):
            return self._answer(status, answer.encode(), "text/html", [])
        return self._answer(status, json.dumps(answer).encode(), "application/json", [])


SECRET = "XyZ-webhook-secret-0123456789"
TOKEN = "xoxb-0000-bot-token-abcdef"


def running_server() -> Iterator[WebhookServer]:
    """A started server with the test ``SECRET`` and ``TOKEN``; stopped afterwards."""
    server = WebhookServer(secret=SECRET, token=TOKEN)
    server.start()
    try:
        yield server
    finally:
        server.stop()
