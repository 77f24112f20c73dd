"""The gateway as a Python caller uses it: decisions are audited before they are returned."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gateway import AccessRequest, Gateway
from gateway.audit.keys import load_public_key
from gateway.audit.log import read_lines
from gateway.audit.records import parse_record
from gateway.audit.verify import verify_records
from gateway.config import AuditConfig, GatewayConfig, PolicyConfig
from gateway.errors import AuditKeyError, AuditWriteError
from gateway.policy.decision_point import PolicyDecisionPoint
from tests.identity.directories import Directory

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def config(tmp_path: Path) -> GatewayConfig:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    return GatewayConfig(
        policy=PolicyConfig(dir=tmp_path / "policies"),
        audit=AuditConfig(
            log=tmp_path / "var" / "audit.log", signing_key=tmp_path / "keys" / "audit-signing.key"
        ),
    )


def test_every_decision_is_in_the_audit_log_when_it_is_returned(config: GatewayConfig) -> None:
    gateway = Gateway.from_config(config)
    request = AccessRequest(actor="elena", action="password.reset", resource="account:tom")

    decision = gateway.authorize(request)

    (line,) = read_lines(config.audit.log)
    record = parse_record(line, 0)
    assert (record.type, record.actor, record.action, record.resource) == (
        "decision", "elena", "password.reset", "account:tom",
    )  # fmt: skip
    assert record.decision_id == decision.decision_id
    assert record.policy_digest == decision.policy_digest
    assert record.payload["decision"] == "allow"
    public = load_public_key(config.audit.signing_key.with_name("audit-signing.pub"))
    assert verify_records(read_lines(config.audit.log), public).records == 1
    gateway.close()


def test_no_decision_is_given_when_it_cannot_be_audited(config: GatewayConfig) -> None:
    gateway = Gateway.from_config(config)
    config.audit.log.write_bytes(b"not a record\n")  # the log's end can no longer be read

    with pytest.raises(AuditWriteError, match="last record is unreadable"):
        gateway.authorize(AccessRequest(actor="elena", action="kb.publish", resource="article:x"))
    gateway.close()


def test_a_missing_key_is_an_error_when_creating_keys_is_off(config: GatewayConfig) -> None:
    strict = config.model_copy(
        update={"audit": config.audit.model_copy(update={"create_key": False})}
    )

    with pytest.raises(AuditKeyError, match="cannot read private key"):
        Gateway.from_config(strict)


def test_auditing_turned_off_by_its_unsafe_name_warns_on_every_decision(
    config: GatewayConfig, caplog: pytest.LogCaptureFixture
) -> None:
    unsafe = config.audit.model_copy(update={"unsafe_no_audit": True})
    gateway = Gateway.from_config(config.model_copy(update={"audit": unsafe}))
    opened = [r.getMessage() for r in caplog.records if r.name == "gateway.audit.unsafe"]
    caplog.clear()

    for _ in range(3):
        gateway.authorize(AccessRequest(actor="elena", action="kb.publish", resource="article:x"))
    gateway.close()

    assert gateway.audit is None
    assert not config.audit.log.exists()
    assert opened == [
        "UNSAFE: no audit log ([audit] unsafe_no_audit = true): decisions and actions are "
        "not audited"
    ]
    warnings = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert len(warnings) == 3
    assert set(warnings) == {
        (
            "WARNING",
            "UNSAFE: decision kb.publish on article:x by elena was not audited "
            "([audit] unsafe_no_audit = true)",
        )
    }


def outage_gateway(config: GatewayConfig, **stale: object) -> tuple[Gateway, Directory]:
    from gateway.app import open_audit_log
    from gateway.identity.resolver import IdentityResolver, ResolverSettings
    from gateway.policy.store import PolicyStore

    ldap = Directory(
        "ldap",
        {"elena": {"groups": ["helpdesk"]}, "tom": {"groups": ["staff"], "department": "Finance"}},
    )
    okta = Directory("okta", {"elena": {"groups": ["helpdesk"]}, "tom": {"department": "Sales"}})
    gateway = Gateway(PolicyStore(config.policy.dir), ldap, open_audit_log(config.audit))
    gateway.directory = IdentityResolver(
        sources=[ldap, okta],
        settings=ResolverSettings(ttl_seconds=0, max_stale_seconds=3600),
        on_conflict=gateway.record_conflict,
    )
    gateway.decision_point = PolicyDecisionPoint(
        lambda: gateway.policies.engine,
        **stale,  # type: ignore[arg-type]
    )
    return gateway, ldap


def test_a_directory_outage_without_cached_facts_is_a_deny_that_says_so(
    config: GatewayConfig,
) -> None:
    gateway, ldap = outage_gateway(config)
    ldap.down = True

    decision = gateway.authorize(
        AccessRequest(actor="elena", action="kb.publish", resource="article:x")
    )

    assert not decision.allowed
    assert decision.reasons[0].message.startswith(
        "directory unavailable for 'elena': ldap: connection refused"
    )
    (line,) = read_lines(config.audit.log)
    assert parse_record(line, 0).payload["decision"] == "deny"
    gateway.close()


def test_on_stale_facts_only_stale_tolerant_actions_are_decided(config: GatewayConfig) -> None:
    gateway, ldap = outage_gateway(config, stale_tolerant_actions=frozenset({"kb.publish"}))
    fresh = gateway.authorize(
        AccessRequest(actor="elena", action="password.reset", resource="account:tom")
    )
    ldap.down = True

    tolerated = gateway.authorize(
        AccessRequest(actor="elena", action="kb.publish", resource="article:x")
    )
    refused = gateway.authorize(
        AccessRequest(actor="elena", action="password.reset", resource="account:tom")
    )

    assert fresh.allowed
    assert tolerated.allowed
    assert not refused.allowed
    assert "password.reset needs fresh facts" in refused.reasons[0].message
    gateway.close()


def test_disagreeing_sources_are_recorded_in_the_audit_log(config: GatewayConfig) -> None:
    gateway, _ = outage_gateway(config)

    gateway.authorize(AccessRequest(actor="tom", action="kb.publish", resource="article:x"))

    records = [parse_record(line, index) for index, line in enumerate(read_lines(config.audit.log))]
    conflict = next(record for record in records if record.type == "identity.conflict")
    assert conflict.actor == "tom"
    assert conflict.payload == {
        "fact": "department",
        "values": {"ldap": "Finance", "okta": "Sales"},
        "chosen": "Finance",
    }
    gateway.close()


def test_conflicts_are_not_recorded_without_an_audit_log(config: GatewayConfig) -> None:
    gateway, _ = outage_gateway(config)
    gateway.audit = None

    decision = gateway.authorize(
        AccessRequest(actor="tom", action="kb.publish", resource="article:x")
    )

    assert not decision.allowed
    assert not config.audit.log.exists() or config.audit.log.read_bytes() == b""


def test_confirming_needs_approvals_to_be_enabled(config: GatewayConfig) -> None:
    from gateway.config import ApprovalsConfig
    from gateway.errors import ConfigError

    gateway = Gateway.from_config(
        config.model_copy(update={"approvals": ApprovalsConfig(enabled=False)})
    )

    with pytest.raises(ConfigError, match="approvals are disabled"):
        gateway.confirm_approved("anything")
    gateway.close()
