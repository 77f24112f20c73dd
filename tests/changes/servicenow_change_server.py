"""A local HTTP server answering ServiceNow's change tables as ServiceNow documents them.

Follows ServiceNow's "Table API" reference (``c_TableAPI.md`` in ServiceNow/ServiceNowDocs:
``GET /api/now/table/{tableName}`` with ``sysparm_query``, ``sysparm_fields``,
``sysparm_limit``/``sysparm_offset``; ``PATCH /api/now/table/{tableName}/{sys_id}``; every
answer wrapped in ``result``; errors as ``{"error": {"message", "detail"}, "status":
"failure"}``; basic authentication), "Define a schedule" and "Schedule fields"
(``cmn_schedule``: ``name``, ``type``, ``time_zone``; ``cmn_schedule_span``: ``schedule``,
``start_date_time``/``end_date_time`` as ``YYYYMMDDTHHMMSS``, ``repeat_type``,
``days_of_week``, ``repeat_count``, ``repeat_until``), "Create blackout and maintenance
schedules in Change Management" (schedule types ``blackout`` and ``maintenance``), and the
``change_request`` table (``number``, ``state`` ``-1`` = Implement, ``approval``,
``start_date``/``end_date`` as UTC ``YYYY-MM-DD HH:MM:SS``, ``work_notes`` journal field
written by ``PATCH``).

Encoded queries understood: ``field=value`` and ``fieldINa,b`` joined by ``^``.
``fail(n, status)`` answers the next ``n`` requests with an error; ``stop()`` makes it down.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.integration.quiet_http import QuietHandler, QuietServer

TABLES = "/api/now/table/"
USER, PASSWORD = "svc-changes", "sn-Change-Secret-1"
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


class ServiceNowChangeServer:
    def __init__(self) -> None:
        self.tables: dict[str, dict[str, dict[str, Any]]] = {
            "cmn_schedule": {}, "cmn_schedule_span": {}, "change_request": {},
        }  # fmt: skip
        self.requests: list[Recorded] = []
        self.canned: list[tuple[int, dict[str, Any]]] = []
        self.lock = threading.RLock()
        self._httpd: QuietServer | None = None
        self.base_url = ""

    def add(self, table: str, record: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.tables[table][record["sys_id"]] = record
        return record

    def schedule(self, sys_id: str, name: str, kind: str, time_zone: str = "") -> str:
        self.add("cmn_schedule", {"sys_id": sys_id, "name": name, "type": kind,
                                  "time_zone": time_zone})  # fmt: skip
        return sys_id

    def span(self, sys_id: str, schedule: str, start: str, end: str, **fields: str) -> None:
        reference = {"link": f"{self.base_url}{TABLES}cmn_schedule/{schedule}", "value": schedule}
        record = {"sys_id": sys_id, "name": "", "schedule": reference, "start_date_time": start,
                  "end_date_time": end, "repeat_type": "", "repeat_count": "1",
                  "days_of_week": "", "repeat_until": "", "all_day": "false"}  # fmt: skip
        record.update(fields)
        self.add("cmn_schedule_span", record)

    def change(self, number: str, **fields: str) -> dict[str, Any]:
        record = {"sys_id": f"{abs(hash(number)):032x}"[:32], "number": number,
                  "short_description": "", "type": "normal", "state": "-1",
                  "approval": "approved", "start_date": "", "end_date": "",
                  "work_notes": ""}  # fmt: skip
        record.update(fields)
        return self.add("change_request", record)

    def fail(self, count: int, status: int = 500) -> None:
        error = {"error": {"message": "Internal error", "detail": "try later"}, "status": "failure"}
        self.canned.extend([(status, error)] * count)

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

    def handle(self, method: str, path: str, query: dict[str, str], body: Any, auth: str) -> Any:
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if auth != expected:
            return 401, {"error": {"message": "User Not Authenticated", "detail": "Required"}}
        if self.canned:
            return self.canned.pop(0)
        table, _, sys_id = path[len(TABLES) :].partition("/")
        if not path.startswith(TABLES) or table not in self.tables:
            return 400, {"error": {"message": f"Invalid table {table}", "detail": ""}}
        rows = self.tables[table]
        if sys_id:
            record = rows.get(sys_id)
            if record is None:
                return 404, NOT_FOUND
            if method == "PATCH":
                note = (body or {}).get("work_notes")
                record.update({k: v for k, v in (body or {}).items() if k != "work_notes"})
                if note:  # a journal field: each write is a new entry
                    record.setdefault("journal", []).append(note)
            return 200, {"result": self._shaped(record, query)}
        found = list(rows.values())
        for clause in filter(None, query.get("sysparm_query", "").split("^")):
            if "IN" in clause and "=" not in clause:
                name, _, values = clause.partition("IN")
                found = [r for r in found if self._plain(r.get(name)) in values.split(",")]
            else:
                name, _, value = clause.partition("=")
                found = [r for r in found if self._plain(r.get(name)) == value]
        offset = int(query.get("sysparm_offset", "0"))
        limit = int(query.get("sysparm_limit", "10000"))
        return 200, {"result": [self._shaped(r, query) for r in found[offset : offset + limit]]}

    @staticmethod
    def _plain(value: Any) -> str:
        return str(value.get("value", "")) if isinstance(value, dict) else str(value or "")

    def _shaped(self, record: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
        names = [n for n in query.get("sysparm_fields", "").split(",") if n] or list(record)
        shaped = {n: record[n] for n in names if n in record and n != "journal"}
        if query.get("sysparm_exclude_reference_link") == "true":
            shaped = {k: self._plain(v) if isinstance(v, dict) else v for k, v in shaped.items()}
        return shaped


class _Handler(QuietHandler):
    desk: ServiceNowChangeServer

    def _serve(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.loads(raw) if raw else None
        with self.desk.lock:
            self.desk.requests.append(Recorded(method, parts.path, query, body))
            status, answer = self.desk.handle(
                method, parts.path, query, body, self.headers.get("Authorization", "")
            )
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_PATCH(self) -> None:
        self._serve("PATCH")
