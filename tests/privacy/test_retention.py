"""Retention: keys of months past a type's retention are shredded, each rule decided
first; a rule over records under legal hold refuses the sweep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.audit.records import AuditEvent
from gateway.config import load_config
from gateway.errors import ConfigError
from gateway.policy.decision import Decision
from gateway.policy.request import AccessRequest
from gateway.privacy.errors import RetentionRefusedError
from gateway.privacy.keystore import DataKeyStore, KeyState
from gateway.privacy.retention import RetentionSweeper, sweep_job

NOW = datetime(2024, 9, 15, tzinfo=UTC)


class _Policy:
    def __init__(self, held: frozenset[str] = frozenset()) -> None:
        self.held = held
        self.asked: list[str] = []

    def authorize(self, request: AccessRequest) -> Decision:
        self.asked.append(str(request.resource))
        held = str(request.resource).removeprefix("audit_records:") in self.held
        reasons = [
            {"engine": "cedar", "policy": "legal-hold", "effect": "forbid", "message": "legal hold"}
        ]
        return Decision.model_validate(
            {"decision": "deny" if held else "allow", "request": request.model_dump(),
             "decision_id": f"d-{len(self.asked)}", "policy_digest": "sha256:" + "0" * 64,
             "reasons": reasons if held else [], "decided_at": "2024-09-15T00:00:00Z"}
        )  # fmt: skip


@pytest.fixture
def keys(tmp_path: Path) -> DataKeyStore:
    store = DataKeyStore(tmp_path / "keys.sqlite")
    for period in ("2024-05", "2024-06", "2024-07", "2024-08", "2024-09"):
        store.key_for("tom", "decision", period, NOW)
        store.key_for("tom", "approval.approved", period, NOW)
    return store


def test_keys_of_months_past_retention_are_shredded_after_the_record(
    keys: DataKeyStore,
) -> None:
    recorded: list[AuditEvent] = []
    old = keys.key_for("tom", "decision", "2024-05", NOW)[0]
    sweeper = RetentionSweeper(_Policy(), recorded.append, keys, {"decision": 60}, "svc-gateway")
    (swept,) = sweeper.sweep(NOW)
    # 60 days before 15 September is 17 July: May and June are wholly older.
    assert (swept.before_period, swept.data_keys) == ("2024-07", 2)
    assert recorded[0].type == "privacy.swept"
    assert recorded[0].payload == {"retention_days": 60, "before_period": "2024-07", "data_keys": 2}
    assert keys.status(old).state is KeyState.ERASED
    assert keys.count("tom") == 8
    assert sweeper.sweep(NOW)[0].data_keys == 0  # nothing left to shred: nothing recorded
    assert len(recorded) == 1
    keys.close()


def test_a_rule_over_records_under_legal_hold_refuses_the_whole_sweep(
    keys: DataKeyStore,
) -> None:
    policy = _Policy(held=frozenset({"approval.approved"}))
    rules = {"decision": 30, "approval.approved": 30}
    sweeper = RetentionSweeper(policy, lambda event: None, keys, rules, "svc-gateway")
    with pytest.raises(RetentionRefusedError, match=r"approval\.approved refused \(legal hold\)"):
        sweeper.sweep(NOW)
    assert keys.count("tom") == 10  # nothing shredded, not even the decision keys
    keys.close()


def test_the_worker_job_sweeps_at_most_once_per_period(keys: DataKeyStore) -> None:
    moments = iter([NOW, NOW + timedelta(minutes=5), NOW + timedelta(hours=2)])
    policy = _Policy()
    sweeper = RetentionSweeper(
        policy, lambda event: None, keys, {"decision": 60}, "svc", clock=lambda: next(moments)
    )
    job = sweep_job(sweeper)
    job()
    job()
    job()
    assert len(policy.asked) == 2
    keys.close()


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[privacy]\nretention = {decision = 0}\n", "days must be at least 1"),
        ('[privacy]\nretention = {"Not A Type" = 30}\n', "is not an event type"),
        ("[privacy]\nseal = true\nkeep = 1\n", "keep"),
    ],
    ids=["zero days", "not an event type", "unknown setting"],
)
def test_bad_privacy_settings_name_the_file_and_line(
    tmp_path: Path, toml: str, message: str
) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(path)
    assert f"{path}:" in str(caught.value)


def test_retention_is_read_from_the_configuration(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text('[privacy]\nretention = {decision = 365, "ticket.routed" = 90}\n')
    config = load_config(path)
    assert config.privacy.retention == {"decision": 365, "ticket.routed": 90}
    assert config.privacy.key_store == tmp_path / "var/privacy/data-keys.sqlite"
