"""Decision records keep the facts the engines decided on, so that a decision can be
replayed on exactly those facts later."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway import AccessRequest, Gateway
from gateway.audit.log import read_lines
from gateway.audit.records import AuditRecord, parse_record
from gateway.config import AuditConfig, GatewayConfig, PolicyConfig
from gateway.policy.recorded_facts import read_recorded_facts
from gateway.privacy.settings import PrivacySettings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    config = GatewayConfig(
        policy=PolicyConfig(dir=tmp_path / "policies"),
        audit=AuditConfig(
            log=tmp_path / "var" / "audit.log", signing_key=tmp_path / "keys" / "audit-signing.key"
        ),
        privacy=PrivacySettings(seal=False),  # the facts in the clear, as replay reads them
    )
    gateway = Gateway.from_config(config)
    yield gateway
    gateway.close()


def records(gateway: Gateway) -> list[AuditRecord]:
    log = gateway.audit.path if gateway.audit is not None else Path("-")
    return [parse_record(line, index) for index, line in enumerate(read_lines(log))]


def test_a_decision_record_keeps_the_actor_and_resource_facts_the_engines_saw(
    gateway: Gateway,
) -> None:
    gateway.authorize(AccessRequest(actor="elena", action="password.reset", resource="account:tom"))

    (record,) = records(gateway)
    facts = record.payload["facts"]
    elena = gateway.directory.get_user("elena")
    tom = gateway.directory.get_resource("account", "tom")
    assert facts["actor"]["id"] == "elena"
    assert facts["actor"]["groups"] == sorted(elena.groups)
    assert "status" not in facts["actor"]  # a fact at its default is not repeated
    assert facts["resource"] == tom.attributes
    replayed = read_recorded_facts(facts, "account", "tom")
    assert replayed is not None
    actor, resource = replayed
    assert (actor.groups, actor.department, actor.mfa_enrolled) == (
        elena.groups, elena.department, elena.mfa_enrolled)  # fmt: skip
    assert resource is not None
    assert resource.attributes == tom.attributes


def test_a_decision_the_policies_did_not_make_keeps_no_facts(gateway: Gateway) -> None:
    gateway.authorize(
        AccessRequest(actor="nobody", action="password.reset", resource="account:tom")
    )
    forged = {"step_up_age_seconds": 1}
    gateway.authorize(
        AccessRequest(actor="elena", action="kb.publish", resource="article:x", context=forged)
    )

    assert ["facts" in record.payload for record in records(gateway)] == [False, False]
