"""The privacy scenario of ``gateway demo``: after Tom's resolution is documented he is
erased; the log still verifies, the auditor's view says "erased", and the knowledge base
no longer names him."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.app import Gateway, open_runtime
from gateway.cli.demo_knowledge import run_knowledge_scenario
from gateway.cli.demo_privacy import run_privacy_scenario
from gateway.config import AuditConfig
from gateway.policy.request import AccessRequest
from tests.tickets.conftest import write_config


def test_the_demo_erases_tom_after_his_resolution_and_the_log_still_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    config = write_config(tmp_path, "")
    gateway = Gateway.from_config(config)
    executor = open_runtime(config, gateway)
    try:
        gateway.authorize(
            AccessRequest(actor="tom", action="password.reset", resource="account:tom")
        )
        run_knowledge_scenario(config, gateway, executor)
        result = run_privacy_scenario(config, gateway, executor)
    finally:
        executor.close()
        gateway.close()
    assert result is not None
    assert result.sealed_before > 0
    assert result.erased_after >= 1  # his own facts; the officer's stay readable
    assert result.erasure.data_keys > 0
    assert result.articles_naming_him == 0
    out = capsys.readouterr().out
    assert "audit verify with the public key alone: ok" in out
    assert "every earlier byte unchanged" in out
    assert "the auditor's view of record" in out
    assert "the knowledge base names tom 0 times now" in out
    articles = "".join(p.read_text() for p in config.knowledge.articles.rglob("*.md"))
    assert "Tom Becker" not in articles


def test_without_an_audit_log_there_is_nothing_to_erase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    config = write_config(tmp_path, "")
    config = config.model_copy(update={"audit": AuditConfig(unsafe_no_audit=True)})
    gateway = Gateway.from_config(config)
    try:
        assert run_privacy_scenario(config, gateway, None) is None  # type: ignore[arg-type]
    finally:
        gateway.close()
    assert "no audit log" in capsys.readouterr().out
