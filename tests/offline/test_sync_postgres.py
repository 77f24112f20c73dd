"""Several central gateways sharing one audit log on PostgreSQL merge a segment once, even
when they sync it at the same moment from different hosts."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from gateway.audit.keys import load_public_key
from gateway.audit.records import AuditEvent, parse_record
from gateway.offline.kit import load_kit
from gateway.offline.segment import SegmentLog
from tests.postgres import PostgresServer, start_together, storage_toml

from .conftest import REPO, invoke
from .test_sync import _now

pytestmark = pytest.mark.postgresql

DSN_VARIABLE = "GATEWAY_TEST_OFFLINE_DSN"


def _host_config(central: Path, host: str, prefix: str) -> Path:
    """The central gateway's configuration on ``host``: the shared database, its own
    quarantine folder (so no file lock is shared between the hosts)."""
    path = central / f"{host}.toml"
    path.write_text(
        (central / "gateway.toml").read_text()
        + storage_toml(prefix, DSN_VARIABLE)
        + f"[offline]\nquarantine = '{central / host / 'quarantine'}'\n",
        encoding="utf-8",
    )
    return path


def _exported(config: Path, folder: Path) -> list[dict[str, Any]]:
    exported = folder / "audit.jsonl"
    code, _, err = invoke("--config", str(config), "audit", "export", "--output", str(exported))
    assert code == 0, err
    return [json.loads(line) for line in exported.read_text().splitlines()]


def test_a_segment_synced_by_two_hosts_at_once_is_merged_once(
    central: Path,
    prefix: str,
    postgres_server: PostgresServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(DSN_VARIABLE, postgres_server.dsn)
    hosts = [_host_config(central, host, prefix) for host in ("host-a", "host-b")]
    code, out, err = invoke(
        "--config", str(hosts[0]), "offline", "prepare", "--technician", "elena",
        "--site", "branch-7", "--json",
    )  # fmt: skip
    assert code == 0, err
    kit = load_kit(
        Path(json.loads(out)["kit"]), load_public_key(central / "keys/audit-signing.pub"), _now()
    )
    segment = central / "visit.segment.log"
    log = SegmentLog(segment, kit.device_signer(), start_prev=kit.body.checkpoint.head_hash)
    log.append_batch(
        [AuditEvent(type="troubleshooting.answered", actor="elena") for _ in range(3000)]
    )  # long enough that both verify it at the same time
    log.close()
    commands = [
        [sys.executable, "-m", "tests.offline.merger", str(config), str(segment)]
        for config in hosts
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    results = []
    for ran in start_together(commands, cwd=central, timeout=120, env=env):
        assert ran["code"] == 0, ran["out"]
        results.append(json.loads(ran["out"]))

    assert sorted(r["status"] for r in results) == ["already merged", "merged"]
    assert {r["record"] for r in results} == {next(r["record"] for r in results)}
    records = _exported(hosts[1], central / "export")
    merges = [r for r in records if r["type"] == "offline.segment_merged"]
    assert [m["payload"]["records"] for m in merges] == [3000]
    embedded = [line for r in records if r["type"] == "offline.record"
                for line in r["payload"]["lines"]]  # fmt: skip
    assert [parse_record(line.encode(), n).seq for n, line in enumerate(embedded)] == list(
        range(3000)
    )
    code, out, err = invoke(
        "audit", "verify", "--log", str(central / "export/audit.jsonl"),
        "--key", str(central / "keys/audit-signing.pub"),
    )  # fmt: skip
    assert code == 0, out + err
