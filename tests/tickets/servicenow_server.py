"""A local HTTP server speaking the ServiceNow Table API shapes the gateway uses.

``GET /api/now/table/incident`` with ``sysparm_query`` (``field=value``,
``sys_updated_on>=YYYY-MM-DD HH:MM:SS``, ``ORDERBYfield`` joined by ``^``),
``sysparm_limit``/``sysparm_offset`` paging and ``X-Total-Count``; ``GET`` and ``PATCH``
``/api/now/table/incident/<sys_id>``; every answer wrapped in ``result``; errors as
``{"error": {"message", "detail"}, "status": "failure"}``; basic authentication.
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

TABLE = "/api/now/table/incident"


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
        if path.startswith(TABLE + "/"):
            sys_id = path[len(TABLE) + 1 :]
            record = self.records.get(sys_id)
            if record is None:
                return 404, {"error": {"message": "No Record found", "detail": "not found"}}, {}
            if method == "PATCH":
                record.update(body or {})
            return 200, {"result": record}, {}
        return 400, {"error": {"message": "Invalid table", "detail": path}}, {}

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
        page = found[offset : offset + limit]
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
