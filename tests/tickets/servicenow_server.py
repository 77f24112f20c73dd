"""A local HTTP server answering as ServiceNow's REST Table API documents it.

Follows ServiceNow's "Table API" reference (``c_TableAPI.md`` in ServiceNow/ServiceNowDocs:
``GET /now/table/{tableName}``, ``GET`` and ``PATCH /now/table/{tableName}/{sys_id}``) and
"Supported REST API headers/response codes" (``c_RESTAPI.md``):

- lists: ``sysparm_query`` (``field=value``, ``sys_updated_on>=YYYY-MM-DD HH:MM:SS``,
  ``ORDERBYfield`` joined by ``^``), ``sysparm_limit``/``sysparm_offset`` paging,
  ``X-Total-Count``; every answer wrapped in ``result`` (a list, or one object for a
  sys_id); an unknown sys_id is 404 ``No Record found`` / ``Record doesn't exist or ACL
  restricts the record retrieval``;
- ``sysparm_fields`` returns only the fields named (unknown ones ignored), dot-walked ones
  (``caller_id.user_name``) read through the reference; ``sysparm_exclude_reference_link``;
- reference fields stored as ``{"link": ".../api/now/table/<table>/<sys_id>", "value":
  sys_id}``; ``sys_user``, ``sys_user_group`` and ``cmdb_ci`` records answer by sys_id;
- errors as ``{"error": {"message", "detail"}, "status": "failure"}``; basic authentication.

Switches: ``rate_limit(n, retry_after)`` (429), ``fail(n, status)``, ``down`` (connection
refused by stopping).  Every request is recorded.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.integration.quiet_http import QuietHandler, QuietServer

TABLES = "/api/now/table/"
TABLE = TABLES + "incident"
REFERENCES = {
    "caller_id": "sys_user",
    "opened_by": "sys_user",
    "assigned_to": "sys_user",
    "assignment_group": "sys_user_group",
    "cmdb_ci": "cmdb_ci",
}
NOT_FOUND = {
    "error": {
        "message": "No Record found",
        "detail": "Record doesn't exist or ACL restricts the record retrieval",
    },
    "status": "failure",
}


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: Any


def incident(seq: int, updated: str, **fields: Any) -> dict[str, Any]:
    """An incident record as the Table API returns it (dot-walked caller fields)."""
    record: dict[str, Any] = {
        "sys_id": f"{seq:032x}",
        "number": f"INC{seq:07d}",
        "short_description": "",
        "description": "",
        "caller_id": f"{seq + 1000:032x}",
        "caller_id.user_name": "",
        "caller_id.email": "",
        "caller_id.name": "",
        "urgency": "3",
        "impact": "3",
        "priority": "5",
        "state": "1",
        "active": "true",
        "category": "inquiry",
        "sys_updated_on": updated,
        "cmdb_ci": "",
        "assignment_group": "",
    }
    record.update(fields)
    return record


class ServiceNowServer:
    def __init__(self, user: str = "svc-gateway", password: str = "sn-Secret-1") -> None:
        self.user = user
        self.password = password
        self.records: dict[str, dict[str, Any]] = {}
        self.tables: dict[str, dict[str, dict[str, Any]]] = {
            "incident": self.records, "sys_user": {}, "sys_user_group": {}, "cmdb_ci": {},
        }  # fmt: skip
        self.requests: list[Recorded] = []
        self.canned: list[tuple[int, dict[str, Any], dict[str, str]]] = []
        self.lock = threading.RLock()
        self.connections: set[socket.socket] = set()
        self._httpd: QuietServer | None = None
        self.base_url = ""
        self.port = 0

    def add(self, record: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.records[record["sys_id"]] = record
        return record

    def reference(self, table: str, sys_id: str) -> dict[str, str]:
        """A reference field's value as the Table API writes it."""
        return {"link": f"{self.base_url}{TABLES}{table}/{sys_id}", "value": sys_id}

    def add_user(self, sys_id: str, user_name: str, email: str = "", name: str = "") -> str:
        """Add a ``sys_user`` record; its sys_id."""
        with self.lock:
            self.tables["sys_user"][sys_id] = {
                "sys_id": sys_id, "user_name": user_name, "email": email, "name": name,
                "active": "true",
            }  # fmt: skip
        return sys_id

    def add_group(self, sys_id: str, name: str) -> str:
        with self.lock:
            self.tables["sys_user_group"][sys_id] = {"sys_id": sys_id, "name": name}
        return sys_id

    def add_ci(self, sys_id: str, name: str, asset_tag: str = "") -> str:
        with self.lock:
            self.tables["cmdb_ci"][sys_id] = {
                "sys_id": sys_id, "name": name, "asset_tag": asset_tag,
                "sys_class_name": "cmdb_ci_computer",
            }  # fmt: skip
        return sys_id

    def lookups(self, table: str) -> list[str]:
        """The sys_ids asked of ``table`` one at a time, in order."""
        prefix = f"{TABLES}{table}/"
        return [r.path[len(prefix) :] for r in self.requests if r.path.startswith(prefix)]

    def start(self) -> None:
        server = self

        class Handler(_Handler):
            desk = server

        self._httpd = QuietServer(("127.0.0.1", self.port), Handler)
        self.port = self._httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
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

    def rate_limit(self, count: int, retry_after: str = "0") -> None:
        error = {"error": {"message": "Too many requests", "detail": "rate limit"}}
        self.canned.extend([(429, error, {"Retry-After": retry_after})] * count)

    def fail(self, count: int, status: int = 500) -> None:
        error = {"error": {"message": "Internal error", "detail": "try later"}}
        self.canned.extend([(status, error, {})] * count)

    def handle(self, method: str, path: str, query: dict[str, str], body: Any, auth: str) -> Any:
        expected = "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        if auth != expected:
            return 401, {"error": {"message": "User Not Authenticated", "detail": "Required"}}, {}
        if self.canned:
            return self.canned.pop(0)
        if path == TABLE and method == "GET":
            return self._list(query)
        table, _, sys_id = path[len(TABLES) :].partition("/")
        if path.startswith(TABLES) and table in self.tables and sys_id:
            record = self.tables[table].get(sys_id)
            if record is None:
                return 404, NOT_FOUND, {}
            if method == "PATCH":
                record.update(body or {})
            return 200, {"result": self._shaped(record, query)}, {}
        return 400, {"error": {"message": f"Invalid table {table}", "detail": ""}}, {}

    def _walk(self, record: dict[str, Any], name: str) -> Any:
        """A dot-walked field: read through the reference, "" when it leads nowhere."""
        if name in record:  # a record stored with the walked value already in it
            return record[name]
        head, _, rest = name.partition(".")
        value = record.get(head)
        sys_id = value.get("value", "") if isinstance(value, dict) else value
        target = self.tables.get(REFERENCES.get(head, ""), {}).get(str(sys_id or ""))
        return "" if target is None else self._walk(target, rest)

    def _shaped(self, record: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
        names = [n for n in query.get("sysparm_fields", "").split(",") if n]
        shaped: dict[str, Any] = {}
        for name in names or list(record):
            if "." in name:
                shaped[name] = self._walk(record, name)
            elif name in record:
                shaped[name] = record[name]
        if query.get("sysparm_exclude_reference_link") == "true":
            shaped = {
                k: v["value"] if isinstance(v, dict) and "link" in v else v
                for k, v in shaped.items()
            }
        return shaped

    def _list(self, query: dict[str, str]) -> Any:
        found = list(self.records.values())
        order: list[str] = []
        for clause in query.get("sysparm_query", "").split("^"):
            if clause.startswith("ORDERBY"):
                order.append(clause[len("ORDERBY") :])
            elif ">=" in clause:
                name, value = clause.split(">=", 1)
                found = [r for r in found if str(r.get(name, "")) >= value]
            elif "=" in clause:
                name, value = clause.split("=", 1)
                found = [r for r in found if str(r.get(name, "")) == value]
        for name in reversed(order):
            found.sort(key=lambda record: str(record.get(name, "")))
        offset = int(query.get("sysparm_offset", "0"))
        limit = int(query.get("sysparm_limit", "10000"))
        page = [self._shaped(record, query) for record in found[offset : offset + limit]]
        return 200, {"result": page}, {"X-Total-Count": str(len(found))}


class _Handler(QuietHandler):
    desk: ServiceNowServer

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
            self.desk.requests.append(Recorded(method, parts.path, query, body))
            status, answer, headers = self.desk.handle(
                method, parts.path, query, body, self.headers.get("Authorization", "")
            )
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_PATCH(self) -> None:
        self._serve("PATCH")
