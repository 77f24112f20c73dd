"""``gateway serve``: the API over real HTTP, as a user starts it."""

from __future__ import annotations

import gc
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from gateway.callers.api_keys import ApiKeyStore
from gateway.cli import cli

REPO = Path(__file__).resolve().parents[2]
DECISION = {"actor": "elena", "action": "password.reset", "resource": "account:tom"}


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def service_key(workdir: Path) -> str:
    store = ApiKeyStore(workdir / "var" / "api-keys.db")
    key = store.create("tests", ["decisions:write"]).secret.get_secret_value()
    store.close()
    return key


def wait_until_healthy(url: str) -> httpx.Response:
    deadline = time.monotonic() + 60
    while True:
        try:
            return httpx.get(f"{url}/healthz", timeout=5)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_gateway_serve_answers_over_real_http(workdir: Path) -> None:
    key = service_key(workdir)
    server = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--port", "0", "--no-access-log"],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        assert first.startswith("gateway API on http://127.0.0.1:"), first
        url = first.split()[3]

        health = wait_until_healthy(url)
        decision = httpx.post(
            f"{url}/v1/decisions", json=DECISION, headers={"X-API-Key": key}, timeout=30
        )
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)

    assert health.json() == {"status": "ok"}
    assert decision.status_code == 200
    assert decision.json()["allow"] is True
    assert "Shutting down" in err
    assert (workdir / "var" / "audit.log").read_bytes().count(b"\n") == 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


IDENTITY_PROVIDER = 'token_issuer = "https://idp.example.com"\njwks_url = "http://127.0.0.1:9/"\n'


@pytest.mark.parametrize(
    ("tokens", "hint"),
    [("", True), (IDENTITY_PROVIDER, False)],
    ids=["with the embedded issuer", "with an identity provider"],
)
def test_serve_runs_in_process_until_interrupted(workdir: Path, tokens: str, hint: bool) -> None:
    key = service_key(workdir)
    port = free_port()
    (workdir / "other.toml").write_text(f"[api]\nport = {port}\n{tokens}")
    url = f"http://127.0.0.1:{port}"
    seen: dict[str, httpx.Response] = {}

    def client() -> None:
        try:
            seen["health"] = wait_until_healthy(url)
            seen["decision"] = httpx.post(
                f"{url}/v1/decisions", json=DECISION, headers={"X-API-Key": key}, timeout=30
            )
        finally:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl+C

    calls = threading.Thread(target=client)
    calls.start()
    result = CliRunner().invoke(cli, ["serve", "--config", "other.toml"], prog_name="gateway")
    calls.join()

    assert result.exit_code == 0, result.output
    assert f"gateway API on {url}" in result.stdout
    assert ("gateway callers token --user USER" in result.stdout) is hint
    assert seen["health"].status_code == 200
    assert seen["decision"].json()["allow"] is True


def test_serve_says_when_the_port_is_taken(workdir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = CliRunner().invoke(cli, ["serve", "--port", str(port)], prog_name="gateway")

    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in result.stderr


def test_serve_has_help() -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"], prog_name="gateway")

    assert result.exit_code == 0
    assert "--port" in result.stdout


def test_serve_refuses_to_run_without_an_audit_log(workdir: Path) -> None:
    (workdir / "gateway.toml").write_text("[audit]\nunsafe_no_audit = true\n")

    result = CliRunner().invoke(cli, ["serve", "--port", "0"], prog_name="gateway")

    assert result.exit_code == 4
    assert result.stderr == (
        "error: gateway serve refuses [audit] unsafe_no_audit = true: a serving gateway "
        "audits every decision before acting; remove the setting\n"
    )
    assert not (workdir / "var").exists()


def test_while_serving_what_start_up_built_is_left_out_of_garbage_collection(
    workdir: Path,
) -> None:
    # A full collection walks every tracked object; start-up builds over a hundred
    # thousand (policies, directory, schemas, routes), so serving pauses unless they
    # are frozen while the server runs, and thawed when it stops.  The youngest
    # generation is collected less often while serving, and as before once it stops.
    port = free_port()
    (workdir / "other.toml").write_text(f"[api]\nport = {port}\n")
    url = f"http://127.0.0.1:{port}"
    frozen: list[int] = []
    thresholds: list[tuple[int, int, int]] = []
    before = gc.get_threshold()

    def client() -> None:
        try:
            wait_until_healthy(url)
            frozen.append(gc.get_freeze_count())
            thresholds.append(gc.get_threshold())
        finally:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl+C

    calls = threading.Thread(target=client)
    calls.start()
    result = CliRunner().invoke(cli, ["serve", "--config", "other.toml"], prog_name="gateway")
    calls.join()

    assert result.exit_code == 0, result.output
    (count,) = frozen
    assert count > 10_000
    assert gc.get_freeze_count() == 0
    assert thresholds == [(20_000, *before[1:])]
    assert gc.get_threshold() == before
