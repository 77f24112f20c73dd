"""Every file the gateway makes under ``var/`` is readable by its owner only (0600), from
a fresh folder, with a umask that would allow more."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from gateway.cli import cli
from tests.cli.test_serve_cli import DECISION, REPO, service_key, wait_until_healthy


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loose_umask: None) -> Path:
    """A checkout's policies and automations, and nothing the gateway made yet."""
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    shutil.copytree(REPO / "automations", tmp_path / "automations")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def modes_under(folder: Path) -> dict[str, str]:
    """Every file below ``folder`` (hidden ones too) with its mode, as ``ls -l`` shows it."""
    return {
        str(path.relative_to(folder)): stat.filemode(path.stat().st_mode)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_the_demo_leaves_only_private_files_under_var(fresh: Path) -> None:
    result = CliRunner().invoke(cli, ["demo"], prog_name="gateway")

    assert result.exit_code == 0, result.output
    found = modes_under(fresh / "var")
    assert {"audit.log", "notifications.jsonl", "notify-outbox.sqlite3", "runtime.db"} <= set(found)
    assert any(name.startswith("knowledge/") for name in found)
    assert {name: mode for name, mode in found.items() if mode != "-rw-------"} == {}


def test_a_serving_gateway_keeps_its_files_and_their_journals_private(fresh: Path) -> None:
    key = service_key(fresh)
    server = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--port", "0", "--no-access-log"],
        cwd=fresh,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().split()[3]
        wait_until_healthy(url)
        decision = httpx.post(
            f"{url}/v1/decisions", json=DECISION, headers={"X-API-Key": key}, timeout=30
        )
        while_serving = modes_under(fresh / "var")
    finally:
        server.terminate()
        server.communicate(timeout=30)
    after = modes_under(fresh / "var")

    assert decision.json()["allow"] is True
    assert any(name.endswith("-wal") for name in while_serving)
    assert {"audit.log", "api-keys.db", "runtime.db"} <= set(while_serving)
    for found in (while_serving, after):
        assert {name: mode for name, mode in found.items() if mode != "-rw-------"} == {}
