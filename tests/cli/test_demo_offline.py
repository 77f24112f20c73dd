"""The branch-office visit of ``gateway demo``: kit, offline work, merge, replay."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.app import Gateway
from gateway.audit.checkpoints import verify_log_file
from gateway.audit.keys import load_public_key
from gateway.cli.demo_offline import run_offline_scenario
from gateway.config import GatewayConfig
from gateway.runtime.executor import Executor
from gateway.storage.settings import StorageSettings
from tests.api.conftest import write_config
from tests.cli.demo_setup import audit_records, run_scenario


def test_the_branch_visit_merges_a_verified_segment_and_replays_the_reset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # the trees and workflows are copied into it
    config = write_config(tmp_path, "")
    run_scenario(run_offline_scenario, config)
    out = capsys.readouterr().out
    assert "troubleshooting network-connectivity on the kit: escalated" in out
    assert "elena runs diagnostics on tom-laptop: allow (offline)" in out
    assert "elena adds the kit's own step-up enrolment to her authenticator" in out
    assert "local admin rights on tom-laptop: refused until she steps up" in out
    assert "she types the code her authenticator shows: accepted, checked on the laptop" in out
    assert "elena takes local admin rights on tom-laptop: allow (offline)" in out
    assert "the same code typed again: refused: step-up code was already used" in out
    assert "otpauth://" not in out
    assert "refused: offline: password.reset needs a central system" in out
    assert "replayed password.reset on account:tom: allow" in out
    assert "workflow succeeded" in out
    assert "a tampered copy is refused: segment record 0: " in out  # the first bad record
    records = audit_records(config)
    types = [record.type for record in records]
    [batch] = [r for r in records if r.type == "offline.record"]
    lines = [json.loads(line) for line in batch.payload["lines"]]
    # 3 troubleshooting, diagnostics, local admin (refused, step-up, allowed, replayed code),
    # the reset refused then queued
    assert len(lines) == 12
    assert [line["type"] for line in lines if line["type"].startswith("stepup.")] == [
        "stepup.verified", "stepup.consumed", "stepup.failed",
    ]  # fmt: skip
    assert "offline.segment_refused" in types
    key = load_public_key(config.audit.signing_key.with_suffix(".pub"))
    assert verify_log_file(config.audit.log, key).report.records == len(types)


@pytest.mark.parametrize("storage_kind", [pytest.param("postgresql", marks=pytest.mark.postgresql)])
def test_the_branch_visit_merges_into_the_shared_log_on_postgresql(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    storage_settings: StorageSettings,
) -> None:
    monkeypatch.chdir(tmp_path)
    config = write_config(tmp_path, "").model_copy(update={"storage": storage_settings})

    def visit(config: GatewayConfig, gateway: Gateway, executor: Executor) -> list[bytes]:
        run_offline_scenario(config, gateway, executor)
        assert gateway.audit is not None
        return [line for line in gateway.audit.lines() if b'"offline.record"' in line]

    merged = run_scenario(visit, config)
    out = capsys.readouterr().out
    assert "replayed password.reset on account:tom: allow" in out
    assert "a tampered copy is refused: segment record 0: " in out
    assert len(merged) == 1  # the segment went into the database's log, once
    assert not config.audit.log.exists()
