"""The policy lifecycle scenario of ``gateway demo``: the bundle signed, an unsigned change
refused with the last good bundle kept, and the impact of a candidate tightening password
resets listing the past decisions it changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.app import Gateway
from gateway.cli.demo_policy import run_policy_scenario
from gateway.policy.request import AccessRequest
from tests.cli.demo_setup import audit_records, demo_config, run_scenario


def test_the_demo_signs_refuses_an_unsigned_change_and_lists_what_a_candidate_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = demo_config(tmp_path, monkeypatch)

    def two_decisions(gateway: Gateway) -> None:
        for actor, resource in [("tom", "account:tom"), ("elena", "account:tom")]:
            request = AccessRequest(actor=actor, action="password.reset", resource=resource)
            gateway.authorize(request)

    run_scenario(run_policy_scenario, config, before=two_decisions)
    out = capsys.readouterr().out
    assert "signed by security-demo (1/1)" in out
    assert "reload refused: policy bundle is not trusted" in out
    assert "the last good bundle stays in force" in out
    assert "2 past decisions replayed (2 distinct, 2 on the facts their record keeps)" in out
    assert "password.reset: allow to deny x1 (after: password-resets-by-the-helpdesk-only)" in out
    assert "#0 tom on account:tom" in out
    kinds = [record.type for record in audit_records(config)]
    assert kinds[-2:] == ["policy.signed", "policy.refused"]


def test_without_an_audit_log_there_is_nothing_to_replay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = demo_config(tmp_path, monkeypatch, "[audit]\nunsafe_no_audit = true\n")
    run_scenario(run_policy_scenario, config)
    out = capsys.readouterr().out
    assert "the last good bundle stays in force" in out
    assert "no audit log: nothing to replay the candidate against" in out
