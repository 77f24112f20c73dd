"""Local HTTP servers speaking the ServiceNow Table API (``kb_knowledge``) and the
Confluence REST content API, keeping what they were sent."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.integration.quiet_http import QuietHandler, QuietServer


@dataclass
class KnowledgeServer:
    """What the fake system holds and how it should misbehave."""

    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, Any] | None]] = field(default_factory=list)
    fail_with: int | None = None  # answer every request with this status
    fail_times: int = 0  # ... only this many times (0: always while fail_with is set)
    reply: bytes | None = None  # answer with these bytes instead
    url: str = ""

    def failing(self) -> int | None:
        if self.fail_with is None:
            return None
        if self.fail_times:
            self.fail_times -= 1
            status = self.fail_with
            if not self.fail_times:
                self.fail_with = None
            return status
        return self.fail_with


def _handler(state: KnowledgeServer, flavour: str) -> type[QuietHandler]:
    class Handler(QuietHandler):
        def _send(self, status: int, body: Any) -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict[str, Any] | None:
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length)) if length else None

        def _handle(self) -> None:
            body = self._body()
            parts = urlsplit(self.path)
            state.requests.append((self.command, self.path, body))
            status = state.failing()
            if status is not None:
                self._send(status, {"error": {"message": "the system says no", "detail": ""}})
                return
            if state.reply is not None:
                self._send(200, state.reply)
                return
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if flavour == "servicenow":
                self._servicenow(parts.path, query, body)
            else:
                self._confluence(parts.path, query, body)

        def _servicenow(self, path: str, query: dict[str, str], body: Any) -> None:
            table = "/api/now/table/kb_knowledge"
            if self.command == "GET" and path == table:
                marker = query.get("sysparm_query", "").split("metaLIKE", 1)[-1]
                found = [
                    {"sys_id": sys_id}
                    for sys_id, record in state.records.items()
                    if marker in record.get("meta", "")
                ]
                self._send(200, {"result": found[:1]})
            elif self.command == "POST" and path == table:
                sys_id = f"{len(state.records) + 1:032x}"
                number = f"KB{len(state.records) + 10001:07d}"
                state.records[sys_id] = {**body, "sys_id": sys_id, "number": number}
                self._send(201, {"result": state.records[sys_id]})
            elif self.command == "PATCH" and path.startswith(table + "/"):
                sys_id = path.rsplit("/", 1)[1]
                if sys_id not in state.records:
                    self._send(404, {"error": {"message": "No Record found"}})
                    return
                state.records[sys_id].update(body)
                self._send(200, {"result": state.records[sys_id]})
            else:
                self._send(400, {"error": {"message": "bad request"}})

        def _confluence(self, path: str, query: dict[str, str], body: Any) -> None:
            content = "/rest/api/content"
            links = {"base": state.url, "webui": ""}
            if self.command == "GET" and path == content:
                found = [
                    page
                    for page in state.records.values()
                    if page["title"] == query.get("title")
                    and page["space"]["key"] == query.get("spaceKey")
                ]
                self._send(200, {"results": found, "size": len(found)})
            elif self.command == "GET" and path.startswith(content + "/"):
                page = state.records.get(path.rsplit("/", 1)[1])
                if page is None:
                    self._send(404, {"message": "No content found"})
                else:
                    self._send(200, page)
            elif self.command == "POST" and path == content:
                page_id = str(len(state.records) + 1001)
                links["webui"] = f"/spaces/{body['space']['key']}/pages/{page_id}"
                state.records[page_id] = {
                    **body,
                    "id": page_id,
                    "version": {"number": 1},
                    "_links": links,
                }
                self._send(200, state.records[page_id])
            elif self.command == "PUT" and path.startswith(content + "/"):
                page_id = path.rsplit("/", 1)[1]
                page = state.records[page_id]
                if body["version"]["number"] != page["version"]["number"] + 1:
                    self._send(409, {"message": "Version must be incremented on update"})
                    return
                page.update(body)
                self._send(200, page)
            else:
                self._send(400, {"message": "bad request"})

        do_GET = _handle
        do_POST = _handle
        do_PATCH = _handle
        do_PUT = _handle

    return Handler


@contextmanager
def knowledge_server(flavour: str) -> Iterator[KnowledgeServer]:
    state = KnowledgeServer()
    server = QuietServer(("127.0.0.1", 0), _handler(state, flavour))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
