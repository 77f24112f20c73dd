"""A local HTTP server speaking the Jira REST (v2) shapes the gateway uses.

``GET /rest/api/2/search?jql=&startAt=&maxResults=`` (the JQL is recorded; issues are
returned in ``updated`` order, those at or after an ``updated >= "yyyy/MM/dd HH:mm"``
clause), ``{"startAt", "maxResults", "total", "issues"}``; ``GET /rest/api/2/issue/KEY``;
``POST .../comment``; ``GET``/``POST .../transitions``.  Errors as
``{"errorMessages": [...], "errors": {}}``; basic authentication with email and token.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.integration.quiet_http import QuietHandler, QuietServer

_SINCE = re.compile(r'updated >= "(\d{4}/\d{2}/\d{2} \d{2}:\d{2})"')


def issue(key: str, updated: str, summary: str, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(10000 + int(key.split("-")[1])),
        "key": key,
        "self": f"https://example.atlassian.net/rest/api/2/issue/{key}",
        "fields": {
            "summary": summary,
            "description": "",
            "reporter": {"accountId": "5b10", "emailAddress": "", "displayName": ""},
            "status": {"name": "Open", "statusCategory": {"key": "new"}},
            "priority": {"name": "Medium", "id": "3"},
            "updated": updated,
            "labels": [],
            "issuetype": {"name": "Service Request"},
            "components": [],
        },
    }
    body["fields"].update(fields)
    return body


def _updated(item: dict[str, Any]) -> datetime:
    try:
        return datetime.strptime(item["fields"]["updated"][:16], "%Y-%m-%dT%H:%M")
    except ValueError:
        return datetime.max  # an unreadable time: always returned


@dataclass
class JiraServer:
    email: str = "svc@example.com"
    token: str = "jira-Token-1"
    issues: dict[str, dict[str, Any]] = field(default_factory=dict)
    comments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    transitions: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {"id": "11", "name": "In Progress", "to": {"name": "In Progress"}},
            {"id": "31", "name": "Resolve", "to": {"name": "Resolved"}},
        ]
    )
    transitioned: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    jql: list[str] = field(default_factory=list)
    canned: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    connections: set[socket.socket] = field(default_factory=set)
    base_url: str = ""
    _httpd: QuietServer | None = None

    def add(self, item: dict[str, Any]) -> None:
        self.issues[item["key"]] = item

    def start(self) -> None:
        server = self

        class Handler(_Handler):
            desk = server

        self._httpd = QuietServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        threading.Thread(target=self._httpd.serve_forever, args=(0.01,), daemon=True).start()

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        with self.lock:
            for connection in self.connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
                connection.close()
            self.connections.clear()

    def handle(self, method: str, path: str, query: dict[str, str], body: Any, auth: str) -> Any:
        expected = "Basic " + base64.b64encode(f"{self.email}:{self.token}".encode()).decode()
        if auth != expected:
            return 401, {"errorMessages": ["You are not authenticated."], "errors": {}}
        if self.canned:
            return self.canned.pop(0)
        if path == "/rest/api/2/search":
            return self._search(query)
        parts = path.split("/")
        if len(parts) < 6 or parts[1:5] != ["rest", "api", "2", "issue"]:
            return 404, {"errorMessages": ["Not found"], "errors": {}}
        key = unquote(parts[5])
        if key not in self.issues:
            return 404, {"errorMessages": ["Issue does not exist or you do not have permission"],
                         "errors": {}}  # fmt: skip
        tail = parts[6] if len(parts) > 6 else ""
        if tail == "comment" and method == "POST":
            self.comments.setdefault(key, []).append(body)
            return 201, {"id": str(len(self.comments[key])), "body": body.get("body")}
        if tail == "transitions" and method == "GET":
            return 200, {"transitions": self.transitions}
        if tail == "transitions" and method == "POST":
            self.transitioned.append((key, body))
            return 204, {}
        return 200, self.issues[key]

    def _search(self, query: dict[str, str]) -> Any:
        jql = query.get("jql", "")
        self.jql.append(jql)
        found = sorted(self.issues.values(), key=lambda i: i["fields"]["updated"])
        since = _SINCE.search(jql)
        if since is not None:
            moment = datetime.strptime(since.group(1), "%Y/%m/%d %H:%M")
            found = [i for i in found if _updated(i) >= moment]
        start = int(query.get("startAt", "0"))
        size = int(query.get("maxResults", "50"))
        page = found[start : start + size]
        return 200, {"startAt": start, "maxResults": size, "total": len(found), "issues": page}


class _Handler(QuietHandler):
    desk: JiraServer

    def setup(self) -> None:
        super().setup()
        with self.desk.lock:
            self.desk.connections.add(self.connection)

    def _serve(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.loads(raw) if raw else None
        with self.desk.lock:
            status, answer = self.desk.handle(
                method, parts.path, query, body, self.headers.get("Authorization", "")
            )
        data = b"" if status == 204 else json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")
