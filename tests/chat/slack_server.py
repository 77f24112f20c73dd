"""A local HTTP server that answers as Slack's Web API and response URLs do.

Documents followed (api.slack.com, read through the search tool):

- "users.info" (api.slack.com/methods/users.info): ``GET /api/users.info?user=U...`` with
  ``Authorization: Bearer <token>``; form arguments only; ``{"ok": true, "user": {"id",
  "name", "deleted", "is_bot", "is_email_confirmed", "profile": {"email", "real_name"}}}``;
  an unknown user ``{"ok": false, "error": "user_not_found"}``; no or a wrong token
  ``{"ok": false, "error": "not_authed" | "invalid_auth"}``.
- "chat.update" (api.slack.com/methods/chat.update): JSON ``{"channel", "ts", "text",
  "blocks"}`` → ``{"ok": true, "channel", "ts", "text"}``.
- "views.open" (api.slack.com/methods/views.open): JSON ``{"trigger_id", "view"}`` →
  ``{"ok": true, "view": {"id": "V...", ...}}``; a trigger id used twice →
  ``{"ok": false, "error": "expired_trigger_id"}`` (trigger ids are single-use, 3 s).
- "Handling user interaction" (api.slack.com/interactivity/handling#message_responses): a
  ``response_url`` takes a POST JSON body (``text``, ``blocks``, ``replace_original``,
  ``response_type``) and answers ``200``.

Every request is recorded (``requests``); the response URL posts are in ``responses``.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.integration.quiet_http import QuietHandler, QuietServer

TOKEN = "xoxb-test-bot-token-0123456789"


@dataclass
class SlackUserRecord:
    id: str
    email: str | None
    confirmed: bool = True
    deleted: bool = False


@dataclass
class SlackStandIn:
    users: dict[str, SlackUserRecord] = field(default_factory=dict)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    responses: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    views: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    used_triggers: set[str] = field(default_factory=set)
    base_url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api"

    def response_url(self, name: str) -> str:
        return f"{self.base_url}/actions/T0001/{name}/xyzResponseSecret"

    def answer(self, method: str, path: str, headers: Any, raw: bytes) -> tuple[int, Any]:
        parts = urlsplit(path)
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode()
        with self.lock:
            self.requests.append((method, parts.path, body))
        if parts.path.startswith("/actions/"):
            with self.lock:
                self.responses.append((parts.path, body))
            return 200, {"ok": True}
        if headers.get("Authorization") != f"Bearer {TOKEN}":
            return 200, {
                "ok": False,
                "error": "not_authed" if not headers.get("Authorization") else "invalid_auth",
            }
        if parts.path == "/api/users.info" and method == "GET":
            user_id = parse_qs(parts.query).get("user", [""])[0]
            found = self.users.get(user_id)
            if found is None:
                return 200, {"ok": False, "error": "user_not_found"}
            profile = {"real_name": found.id, "display_name": found.id}
            if found.email is not None:
                profile["email"] = found.email
            return 200, {
                "ok": True,
                "user": {
                    "id": found.id,
                    "team_id": "T0001",
                    "name": found.id,
                    "deleted": found.deleted,
                    "is_bot": False,
                    "is_email_confirmed": found.confirmed,
                    "profile": profile,
                },
            }
        if parts.path == "/api/chat.update" and method == "POST":
            with self.lock:
                self.updates.append(body)
            return 200, {
                "ok": True,
                "channel": body["channel"],
                "ts": body["ts"],
                "text": body.get("text", ""),
            }
        if parts.path == "/api/views.open" and method == "POST":
            trigger = body.get("trigger_id", "")
            with self.lock:
                if trigger in self.used_triggers:
                    return 200, {"ok": False, "error": "expired_trigger_id"}
                self.used_triggers.add(trigger)
                self.views.append(body["view"])
                view_id = f"V{len(self.views):08d}"
            return 200, {"ok": True, "view": {"id": view_id, **body["view"]}}
        return 404, {"ok": False, "error": "unknown_method"}


def _handler(stand_in: SlackStandIn) -> type[QuietHandler]:
    class Handler(QuietHandler):
        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            status, body = stand_in.answer(method, self.path, self.headers, raw)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

    return Handler


@contextlib.contextmanager
def running_slack() -> Iterator[SlackStandIn]:
    stand_in = SlackStandIn()
    server = QuietServer(("127.0.0.1", 0), _handler(stand_in))
    stand_in.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()
