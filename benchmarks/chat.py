"""Chat approvals on loopback: a Slack button press to the vote recorded and the message
updated, against the gateway served by uvicorn and a local Slack stand-in.

Run with ``python -m benchmarks.chat`` (``--json`` for JSON, ``--help`` for options).  A
fresh gateway in a temporary folder (shipped policies, sample directory, audit log on)
serves the HTTP API on 127.0.0.1; a local HTTP server plays Slack's response URLs.

* **press to update**: ``--presses`` (200) approvals are opened, one at a time; each press
  is a signed ``block_actions`` POST to ``/v1/chat/slack/interactions``; the time runs
  until the stand-in has received the message update (the vote is recorded before the
  answer, the update follows it).  Goal: p99 ≤ 200 ms.
* Baseline: the same vote over the HTTP API (``POST /v1/approvals/{id}/approve`` with a
  person's token), which updates no message; the ratio is what chat adds.

The 100 simultaneous presses that count exactly the quorum are a test
(``tests/chat/test_slack_contention.py``), not a timing.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import uvicorn

from gateway.api import create_app
from gateway.app import Services
from gateway.chat.service import open_chat
from gateway.config import load_config
from gateway.policy.decision import ApprovalObligation
from gateway.policy.request import AccessRequest

REPO = Path(__file__).resolve().parents[1]
GOAL_P99_MS = 200.0
SECRET = "benchmark-signing-secret"


class _Updates(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _UpdateHandler)
        self.seen: dict[str, threading.Event] = {}


class _UpdateHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        data = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        server = self.server
        if isinstance(server, _Updates):
            server.seen.setdefault(self.path, threading.Event()).set()


def _signed(body: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))
    mac = hmac.new(SECRET.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256)
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": "v0=" + mac.hexdigest(),
        "Content-Type": "application/x-www-form-urlencoded",
    }


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def measure(presses: int) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="chat-bench-"))
    updates = _Updates()
    threading.Thread(target=updates.serve_forever, daemon=True).start()
    hooks = f"http://127.0.0.1:{updates.server_address[1]}"
    os.environ["CHAT_BENCH_SIGNING_SECRET"] = SECRET
    try:
        shutil.copytree(REPO / "policies", root / "policies")
        shutil.copytree(REPO / "automations", root / "automations")
        (root / "gateway.toml").write_text(
            f'[chat.slack]\nsigning_secret_env = "CHAT_BENCH_SIGNING_SECRET"\n'
            f'api_url = "{hooks}/api"\nusers = {{ U0PRIYA = "priya" }}\n'
        )
        config = load_config(root / "gateway.toml")
        parts = Services(config)
        app = create_app(parts.gateway, config, notifier=parts.notifier)
        app.state.services.chat = open_chat(config.chat, parts.gateway)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        issuer = app.state.services.callers.issuer
        token = issuer.issue("priya", ("approvals:write",)).token.get_secret_value()
        approvals = parts.gateway.approvals
        if approvals is None:
            raise SystemExit("approvals are disabled")
        obligation = ApprovalObligation(
            name="manager", approvers=("user:priya",), quorum=1, policy="bench"
        )

        def open_one(n: int) -> Any:
            request = AccessRequest(
                actor="omar",
                action="access.grant",
                resource="account:tom",
                context={"system": "payroll", "parameters": {"n": n}},
            )
            decision = parts.gateway.authorize(request)
            return approvals.open(request, decision, [obligation], requester="omar")

        chat_ms: list[float] = []
        api_ms: list[float] = []
        with httpx.Client(base_url=base, timeout=10) as client:
            for n in range(presses):
                item = open_one(n)
                path = f"/actions/T1/{n}/x"
                payload = {
                    "type": "block_actions",
                    "user": {"id": "U0PRIYA"},
                    "trigger_id": f"{n}.1",
                    "response_url": f"{hooks}{path}",
                    "actions": [
                        {"action_id": "approval.approve", "value": f"{item.id} {item.digest}"}
                    ],
                }
                body = urlencode({"payload": json.dumps(payload)}).encode()
                updated = updates.seen.setdefault(path, threading.Event())
                start = time.perf_counter()
                answer = client.post(
                    "/v1/chat/slack/interactions", content=body, headers=_signed(body)
                )
                if answer.status_code != 200 or not updated.wait(5):
                    raise SystemExit(f"press {n}: HTTP {answer.status_code}, no update")
                chat_ms.append((time.perf_counter() - start) * 1000)
                if approvals.get(item.id).state != "approved":
                    raise SystemExit(f"press {n}: the vote was not recorded")
                other = open_one(presses + n)
                start = time.perf_counter()
                voted = client.post(
                    f"/v1/approvals/{other.id}/approve",
                    json={"digest": other.digest},
                    headers={"Authorization": f"Bearer {token}"},
                )
                api_ms.append((time.perf_counter() - start) * 1000)
                if voted.status_code != 200:
                    raise SystemExit(f"API vote {n}: HTTP {voted.status_code}")
        server.should_exit = True
        thread.join(5)
        app.state.services.close()
        parts.close()
    finally:
        updates.shutdown()
        shutil.rmtree(root, ignore_errors=True)
    p99 = _percentile(chat_ms, 0.99)
    return {
        "presses": presses,
        "press_to_update_ms": {"median": statistics.median(chat_ms), "p99": p99},
        "api_vote_ms": {"median": statistics.median(api_ms), "p99": _percentile(api_ms, 0.99)},
        "ratio_median": statistics.median(chat_ms) / statistics.median(api_ms),
        "goals": [
            {"name": "press to update p99 <= 200 ms", "value": p99, "met": p99 <= GOAL_P99_MS}
        ],
    }


def render(report: dict[str, Any]) -> str:
    chat, api = report["press_to_update_ms"], report["api_vote_ms"]
    lines = [
        f"chat approvals on loopback ({report['presses']} presses)",
        f"  press -> vote recorded and message updated: median {chat['median']:.1f} ms, "
        f"p99 {chat['p99']:.1f} ms",
        f"  baseline, vote over the HTTP API (no message): median {api['median']:.1f} ms, "
        f"p99 {api['p99']:.1f} ms",
        f"  ratio (median): {report['ratio_median']:.2f}x",
    ]
    for goal in report["goals"]:
        lines.append(f"  goal {goal['name']}: {'met' if goal['met'] else 'MISSED'}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.chat", description=__doc__)
    parser.add_argument("--presses", type=int, default=200, help="button presses to time")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    report = measure(args.presses)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0 if all(goal["met"] for goal in report["goals"]) else 1


if __name__ == "__main__":
    sys.exit(main())
