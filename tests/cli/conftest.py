"""Fixtures of the command-line tests: an audit signing key and a log written with it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import cli


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    """A folder holding a new audit signing key pair (``gateway keys init``)."""
    result = CliRunner().invoke(cli, ["keys", "init", "--dir", str(tmp_path / "keys"), "--json"])
    assert result.exit_code == 0, result.output
    return tmp_path / "keys"


@pytest.fixture
def log(tmp_path: Path, keys: Path) -> Path:
    """An audit log of three manual actions (elena, omar, grace), signed with ``keys``."""
    path = tmp_path / "audit.log"
    for actor in ("elena", "omar", "grace"):
        record_action(path, keys, actor)
    return path


def record_action(log: Path, keys: Path, actor: str) -> None:
    """``gateway audit record`` of a manual action by ``actor`` in ``log``."""
    event = {"type": "manual.action", "actor": actor, "action": "printer.reboot"}
    result = CliRunner().invoke(
        cli,
        ["audit", "record", "--log", str(log), "--key", str(keys / "audit-signing.key"),
         "--event", json.dumps(event)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
