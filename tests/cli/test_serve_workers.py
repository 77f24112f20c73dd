"""``gateway serve --workers N``: several processes on one port, one state, one audit log."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from gateway.callers.api_keys import ApiKeyStore
from gateway.cli import cli

REPO = Path(__file__).resolve().parents[2]
DECISIONS = [
    {"actor": "elena", "action": "password.reset", "resource": "account:tom"},
    {"actor": "tom", "action": "access.grant", "resource": "account:tom"},
    {"actor": "elena", "action": "diagnostics.run", "resource": "host:printer-3f"},
]
INSTALL = {
    "workflow": "software-install",
    "parameters": {"title": "7zip", "device": "tom-pc"},
    "actor": "tom",
}


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def wait_until_healthy(url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{url}/readyz", timeout=5).raise_for_status()
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str, subprocess.Popen[str]]]:
    """``gateway serve --workers 2`` in a fresh folder, with a service's API key."""
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    shutil.copytree(REPO / "automations", tmp_path / "automations")
    store = ApiKeyStore(tmp_path / "var" / "api-keys.db")
    scopes = ["decisions:write", "executions:write"]
    key = store.create("tests", scopes).secret.get_secret_value()
    store.close()
    server = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--port", "0", "--workers", "2"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        if not first.startswith("gateway API on http://127.0.0.1:"):
            assert server.stderr is not None
            server.wait(timeout=60)
            pytest.fail(
                f"gateway serve did not start ({server.returncode}): {server.stderr.read()}"
            )
        url = first.split()[3]
        wait_until_healthy(url)
        yield url, key, server
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
        server.communicate(timeout=60)


def test_two_workers_answer_and_every_decision_is_audited_once_in_one_chain(
    served: tuple[str, str, subprocess.Popen[str]], tmp_path: Path
) -> None:
    url, key, server = served
    workers = children(server.pid)

    def decide(index: int) -> str:
        body = DECISIONS[index % len(DECISIONS)]
        headers = {"X-API-Key": key, "Connection": "close"}  # a new connection each
        response = httpx.post(f"{url}/v1/decisions", json=body, headers=headers, timeout=60)
        response.raise_for_status()
        return str(response.json()["decision_id"])

    with ThreadPoolExecutor(8) as pool:
        answered = list(pool.map(decide, range(120)))
    server.send_signal(signal.SIGTERM)
    _, err = server.communicate(timeout=60)

    assert len(workers) == 2
    assert server.returncode == 0
    assert err.count("Finished server process") == 2
    records = [
        json.loads(line)
        for line in (tmp_path / "var" / "audit.log").read_text().split("\n")
        if line
    ]
    decided = [record["decision_id"] for record in records if record["type"] == "decision"]
    assert sorted(decided) == sorted(answered)  # each answer audited, none twice
    assert [record["seq"] for record in records] == list(range(len(records)))
    verified = CliRunner().invoke(
        cli,
        ["audit", "verify", "--log", str(tmp_path / "var" / "audit.log"),
         "--key", str(tmp_path / "keys" / "audit-signing.pub")],
        prog_name="gateway",
    )  # fmt: skip
    assert verified.exit_code == 0, verified.output


def test_the_same_idempotency_key_on_both_workers_starts_one_execution(
    served: tuple[str, str, subprocess.Popen[str]], tmp_path: Path
) -> None:
    url, key, server = served

    def start(_: int) -> tuple[int, str]:
        headers = {"X-API-Key": key, "Idempotency-Key": "order-17", "Connection": "close"}
        response = httpx.post(f"{url}/v1/executions", json=INSTALL, headers=headers, timeout=60)
        return response.status_code, str(response.json().get("id"))

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(start, range(24)))
    server.send_signal(signal.SIGTERM)
    server.communicate(timeout=60)

    assert {status for status, _ in answers} == {202}
    assert len({execution for _, execution in answers}) == 1
    records = [
        json.loads(line)
        for line in (tmp_path / "var" / "audit.log").read_text().split("\n")
        if line
    ]
    started = [record for record in records if record["type"] == "execution.started"]
    assert len(started) == 1


def test_a_worker_killed_mid_burst_is_replaced_and_every_answer_was_audited(
    served: tuple[str, str, subprocess.Popen[str]], tmp_path: Path
) -> None:
    url, key, server = served
    time.sleep(5.5)  # past the first seconds, when a dying worker stops the server instead
    victim = children(server.pid)[1]

    def decide(index: int) -> str | None:
        if index == 40:
            os.kill(victim, signal.SIGKILL)
        headers = {"X-API-Key": key, "Connection": "close"}
        try:
            response = httpx.post(
                f"{url}/v1/decisions", json=DECISIONS[0], headers=headers, timeout=60
            )
        except httpx.TransportError:
            return None  # the killed worker's connection: no answer, so nothing to keep
        return str(response.json()["decision_id"]) if response.status_code == 200 else None

    with ThreadPoolExecutor(4) as pool:
        answered = [found for found in pool.map(decide, range(120)) if found is not None]
    deadline = time.monotonic() + 30
    while len(children(server.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    replaced = children(server.pid)
    server.send_signal(signal.SIGTERM)
    server.communicate(timeout=60)

    assert len(replaced) == 2
    assert victim not in replaced
    assert len(answered) >= 100
    records = [
        json.loads(line)
        for line in (tmp_path / "var" / "audit.log").read_text().split("\n")
        if line
    ]
    decided = {record["decision_id"] for record in records if record["type"] == "decision"}
    assert set(answered) <= decided
    verified = CliRunner().invoke(
        cli,
        ["audit", "verify", "--log", str(tmp_path / "var" / "audit.log"),
         "--key", str(tmp_path / "keys" / "audit-signing.pub")],
        prog_name="gateway",
    )  # fmt: skip
    assert verified.exit_code == 0, verified.output
