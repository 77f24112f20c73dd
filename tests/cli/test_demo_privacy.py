"""The privacy scenario of ``gateway demo``: after Tom's resolution is documented he is
erased; the log still verifies, the auditor's view says "erased", and the knowledge base
no longer names him."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.app import Gateway
from gateway.cli.demo_knowledge import run_knowledge_scenario
from gateway.cli.demo_privacy import PrivacyScenario, run_privacy_scenario
from gateway.config import AuditConfig, GatewayConfig
from gateway.policy.request import AccessRequest
from gateway.runtime.executor import Executor
from tests.cli.demo_setup import demo_config, run_scenario


def test_the_demo_erases_tom_after_his_resolution_and_the_log_still_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = demo_config(tmp_path, monkeypatch)

    def documented_then_erased(
        config: GatewayConfig, gateway: Gateway, executor: Executor
    ) -> PrivacyScenario | None:
        gateway.authorize(
            AccessRequest(actor="tom", action="password.reset", resource="account:tom")
        )
        run_knowledge_scenario(config, gateway, executor)
        return run_privacy_scenario(config, gateway, executor)

    result = run_scenario(documented_then_erased, config)
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
    config = demo_config(tmp_path, monkeypatch)
    config = config.model_copy(update={"audit": AuditConfig(unsafe_no_audit=True)})
    gateway = Gateway.from_config(config)
    try:
        assert run_privacy_scenario(config, gateway, None) is None  # type: ignore[arg-type]
    finally:
        gateway.close()
    assert "no audit log" in capsys.readouterr().out
