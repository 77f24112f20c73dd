"""A local HTTP server answering as Jira Cloud or Jira Data Center document their REST APIs.

Both editions (``JiraServer(edition=...)``):

- ``GET /rest/api/2/serverInfo``: ``deploymentType`` ``Cloud`` or ``Server`` (Atlassian,
  "Jira Cloud platform REST API: Server info" and the Data Center REST reference).
- ``GET /rest/api/{2|3}/myself``: the API user, with ``timeZone`` (Atlassian, "Myself:
  Get current user"); JQL dates are read in that zone (Atlassian, "Advanced search
  reference: JQL fields", date formats ``"yyyy/MM/dd HH:mm"``).
- ``GET /rest/api/{v}/issue/KEY``, ``POST .../comment``, ``GET``/``POST .../transitions``
  (Atlassian, "Issues", "Issue comments"); errors as ``{"errorMessages", "errors"}``;
  basic authentication with email and API token.  A comment's ``body`` is a string in
  REST v2 and an Atlassian Document Format document in REST v3 (Atlassian, "Jira Cloud
  platform REST API v3: Issue comments: Add comment" and the v2 page of the same name);
  any other body is a 400 naming ``comment``.  A transition (``POST .../transitions``
  with ``transition.id`` and ``fields``) answers 204 in both versions (Atlassian, "Issues:
  Transition issue").
- ``GET /rest/servicedeskapi/request/{issueIdOrKey}?expand=requestType``: the customer
  request with ``requestTypeId`` and ``requestType`` (Atlassian, "Jira Service Management
  REST API: Request: Get customer request by id or key"); 404 for other issues.

Cloud only (``edition="cloud"``), following Atlassian's "Jira Cloud platform REST API v3:
Issue search" and the 2025 deprecation notice of the old search:

- ``GET|POST /rest/api/{2|3|latest}/search`` answer ``410 Gone``.
- ``POST /rest/api/3/search/jql``: body ``jql`` (empty is a 400: unbounded), ``fields``
  (without it only ``id``, ``key``, ``self``), ``maxResults``, ``nextPageToken``,
  ``reconcileIssues`` (recorded); answers ``{"issues", "nextPageToken"?, "isLast"}``
  without ``total``.
- v3 issues carry ``description`` in Atlassian Document Format (Atlassian, "Atlassian
  Document Format: structure") and reporters as ``accountId`` without ``emailAddress``;
  ``GET /rest/api/3/user?accountId=`` (Atlassian, "Users: Get user") shows the email only
  of people whose privacy settings let it be seen.

Data Center only: ``GET /rest/api/2/search?jql=&startAt=&maxResults=&fields=`` answering
``{"startAt", "maxResults", "total", "issues"}`` (Atlassian, "Jira Data Center REST API:
Search"); ``/rest/api/3/...`` does not exist (404); descriptions are plain text.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo

from tests.integration.quiet_http import QuietHandler, QuietServer

_SINCE = re.compile(r'updated >= "(\d{4}/\d{2}/\d{2} \d{2}:\d{2})"')
_OLD_SEARCH = re.compile(r"^/rest/api/(2|3|latest)/search$")
_ISSUE = re.compile(r"^/rest/api/(2|3)/issue/([^/]+)(?:/(comment|transitions))?$")
_ID_KEY_SELF = ("id", "key", "self")


def issue(key: str, updated: str, summary: str, **fields: Any) -> dict[str, Any]:
    """An issue as Jira keeps it; the server renders it for the edition and API version."""
    body: dict[str, Any] = {
        "id": str(10000 + int(key.split("-")[1])),
        "key": key,
        "self": f"https://example.atlassian.net/rest/api/2/issue/{key}",
        "fields": {
            "summary": summary,
            "description": "",
            "reporter": None,
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


def adf(text: str) -> dict[str, Any]:
    """``text`` as an Atlassian Document Format document, one paragraph per line."""
    paragraphs = [
        {"type": "paragraph", "content": [{"type": "text", "text": line}] if line else []}
        for line in text.split("\n")
    ]
    return {"type": "doc", "version": 1, "content": paragraphs}


def _comment_body_fits(version: str, body: Any) -> bool:
    """A v2 comment body is text; a v3 one is an ADF document (``doc``, version 1)."""
    if version == "2":
        return isinstance(body, str) and bool(body)
    return (
        isinstance(body, dict)
        and body.get("type") == "doc"
        and body.get("version") == 1
        and isinstance(body.get("content"), list)
    )


def _updated(item: dict[str, Any]) -> datetime:
    try:
        return datetime.strptime(item["fields"]["updated"], "%Y-%m-%dT%H:%M:%S.%f%z")
    except (ValueError, KeyError, TypeError):
        return datetime.max.replace(tzinfo=UTC)  # an unreadable time: always returned


def _error(status: int, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"errorMessages": [message], "errors": {}}


@dataclass
class JiraServer:
    edition: str = "datacenter"  # or "cloud"
    time_zone: str = "UTC"  # the API user's, in which JQL dates are read
    email: str = "svc@example.com"
    token: str = "jira-Token-1"
    issues: dict[str, dict[str, Any]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # accountId -> user
    request_types: dict[str, str] = field(default_factory=dict)  # issue key -> request type
    comments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    transitions: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {"id": "11", "name": "In Progress", "to": {"name": "In Progress"}},
            {"id": "31", "name": "Resolve", "to": {"name": "Resolved"}},
        ]
    )
    transitioned: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    jql: list[str] = field(default_factory=list)
    searches: list[dict[str, Any]] = field(default_factory=list)  # every search's parameters
    calls: list[str] = field(default_factory=list)  # "GET /path" of every request
    pages: list[dict[str, Any]] = field(default_factory=list)  # search pages to answer as is
    lock: threading.RLock = field(default_factory=threading.RLock)
    connections: set[socket.socket] = field(default_factory=set)
    base_url: str = ""
    _httpd: QuietServer | None = None

    @property
    def cloud(self) -> bool:
        return self.edition == "cloud"

    def add(self, item: dict[str, Any]) -> None:
        self.issues[item["key"]] = item

    def add_user(self, account_id: str, name: str, email: str | None) -> dict[str, Any]:
        """A Cloud user; ``email=None`` is a person whose privacy settings hide it."""
        user = {
            "self": f"{self.base_url}/rest/api/3/user?accountId={account_id}",
            "accountId": account_id, "accountType": "atlassian", "displayName": name,
            "active": True, "timeZone": "Europe/Berlin",
        }  # fmt: skip
        if email is not None:
            user["emailAddress"] = email
        self.users[account_id] = user
        return {"accountId": account_id, "displayName": name}

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

    # -- answers ---------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, str], body: Any, auth: str) -> Any:
        expected = "Basic " + base64.b64encode(f"{self.email}:{self.token}".encode()).decode()
        if auth != expected:
            return _error(401, "You are not authenticated.")
        self.calls.append(f"{method} {path}")
        if path == "/rest/api/2/serverInfo":
            kind = "Cloud" if self.cloud else "Server"
            return 200, {"baseUrl": self.base_url, "version": "9.12.0", "deploymentType": kind}
        if path.startswith("/rest/api/3/") and not self.cloud:
            return _error(404, "Not found")
        if path in ("/rest/api/2/myself", "/rest/api/3/myself"):
            return 200, {"accountId": "svc", "displayName": "Gateway", "active": True,
                         "timeZone": self.time_zone}  # fmt: skip
        if _OLD_SEARCH.match(path):
            if self.cloud:
                return _error(410, "This search was removed; use /rest/api/3/search/jql.")
            return self._search_datacenter(query)
        if path == "/rest/api/3/search/jql" and method == "POST":
            return self._search_cloud(body or {})
        if path == "/rest/api/3/user":
            user = self.users.get(query.get("accountId", ""))
            return (200, user) if user else _error(404, "The user does not exist.")
        if path.startswith("/rest/servicedeskapi/request/"):
            return self._customer_request(unquote(path.rsplit("/", 1)[1]), query)
        found = _ISSUE.match(path)
        if found is None:
            return _error(404, "Not found")
        version, key, tail = found.group(1), unquote(found.group(2)), found.group(3)
        if key not in self.issues:
            return _error(404, "Issue does not exist or you do not have permission to see it.")
        if tail == "comment" and method == "POST":
            if not _comment_body_fits(version, (body or {}).get("body")):
                wanted = "a string" if version == "2" else "an Atlassian Document Format document"
                return 400, {"errorMessages": [], "errors": {"comment": f"body must be {wanted}"}}
            self.comments.setdefault(key, []).append(body)
            return 201, {"id": str(len(self.comments[key])), "body": body.get("body")}
        if tail == "transitions" and method == "GET":
            return 200, {"transitions": self.transitions}
        if tail == "transitions" and method == "POST":
            self.transitioned.append((key, body))
            return 204, {}
        return 200, self._render(self.issues[key], version, None)

    def _render(self, item: dict[str, Any], version: str, fields: list[str] | None) -> Any:
        if fields is not None and not fields:
            return {name: item.get(name) for name in _ID_KEY_SELF}
        rendered = json.loads(json.dumps(item))
        values = rendered["fields"]
        description = values.get("description")
        if version == "3" and isinstance(description, str):
            values["description"] = adf(description) if description else None
        reporter = values.get("reporter")
        if self.cloud and isinstance(reporter, dict):
            values["reporter"] = {k: v for k, v in reporter.items() if k != "emailAddress"}
        return rendered

    def _matching(self, jql: str) -> list[dict[str, Any]]:
        found = sorted(self.issues.values(), key=lambda i: (_updated(i), i["key"]))
        since = _SINCE.search(jql)
        if since is not None:
            local = datetime.strptime(since.group(1), "%Y/%m/%d %H:%M")
            moment = local.replace(tzinfo=ZoneInfo(self.time_zone))
            found = [i for i in found if _updated(i) >= moment]
        return found

    def _search_datacenter(self, query: dict[str, str]) -> Any:
        jql = query.get("jql", "")
        self.jql.append(jql)
        self.searches.append(dict(query))
        if self.pages:
            return 200, self.pages.pop(0)
        found = self._matching(jql)
        start = int(query.get("startAt", "0"))
        size = int(query.get("maxResults", "50"))
        page = [self._render(i, "2", None) for i in found[start : start + size]]
        return 200, {"startAt": start, "maxResults": size, "total": len(found), "issues": page}

    def _search_cloud(self, body: dict[str, Any]) -> Any:
        jql = str(body.get("jql") or "")
        self.searches.append(body)
        if not jql.strip() or jql.strip().upper().startswith("ORDER BY"):
            return _error(400, "Unbounded JQL queries are not allowed here.")
        self.jql.append(jql)
        if self.pages:
            return 200, self.pages.pop(0)
        found = self._matching(jql)
        token = body.get("nextPageToken")
        start = int(base64.b64decode(token).decode()) if token else 0
        size = int(body.get("maxResults", 50))
        fields = body.get("fields")
        page = [self._render(i, "3", fields or []) for i in found[start : start + size]]
        answer: dict[str, Any] = {"issues": page, "isLast": start + size >= len(found)}
        if not answer["isLast"]:
            answer["nextPageToken"] = base64.b64encode(str(start + size).encode()).decode()
        return 200, answer

    def _customer_request(self, key: str, query: dict[str, str]) -> Any:
        item = self.issues.get(key) or next(
            (i for i in self.issues.values() if i.get("id") == key), None
        )
        if item is None or item["key"] not in self.request_types:
            return _error(404, "The request does not exist or you cannot see it.")
        name = self.request_types[item["key"]]
        type_id = str(10 + sorted(set(self.request_types.values())).index(name))
        answer: dict[str, Any] = {
            "issueId": item["id"], "issueKey": item["key"], "requestTypeId": type_id,
            "serviceDeskId": "1", "_expands": ["requestType", "participant", "sla"],
        }  # fmt: skip
        if "requestType" in query.get("expand", ""):
            answer["requestType"] = {"id": type_id, "name": name, "serviceDeskId": "1",
                                     "issueTypeId": "10004"}  # fmt: skip
        return 200, answer


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
