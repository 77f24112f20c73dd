"""Reloading the bundle is the gateway's own administration: every reload and every refused
bundle is in the audit log, with the digests of the bundle in force and of the new one,
written before the new bundle is put in force."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from gateway.app import Gateway
from gateway.audit.log import read_lines
from gateway.audit.records import AuditEvent, parse_record
from gateway.config import AuditConfig, GatewayConfig, PolicyConfig
from gateway.errors import AuditWriteError
from gateway.policy.store import PolicyStore

REPO = Path(__file__).resolve().parents[2]
NEW_POLICY = """
@id("kb-publish-technicians")
permit (principal in Group::"field-technicians", action == Action::"kb.publish", resource);
"""
BROKEN_POLICY = '@id("x")\npermit (principal, action, resource) when { principal.nope };\n'


class Log:
    """An audit sink that keeps what it is given, noting the bundle in force at that time;
    ``broken`` makes it fail as an unwritable log does."""

    def __init__(self) -> None:
        self.store: PolicyStore | None = None
        self.events: list[AuditEvent] = []
        self.in_force_when_written: list[str] = []
        self.broken = False

    def __call__(self, event: AuditEvent) -> None:
        if self.broken:
            raise AuditWriteError("audit.log: append failed: disk full")
        self.events.append(event)
        if self.store is not None:
            self.in_force_when_written.append(self.store.engine.digest)


@pytest.fixture
def log() -> Log:
    return Log()


def watched(bundle: Path, log: Log) -> PolicyStore:
    store = PolicyStore(bundle, audit=log)
    log.store = store
    return store


def test_a_reload_is_audited_with_both_digests_before_it_takes_effect(
    bundle_copy: Path, log: Log
) -> None:
    store = watched(bundle_copy, log)
    before = store.engine.digest

    (bundle_copy / "cedar" / "extra.cedar").write_text(NEW_POLICY)
    outcome = store.reload_if_changed()

    (event,) = log.events
    assert event.type == "policy.reloaded"
    assert event.payload["old_digest"] == before
    assert event.payload["new_digest"] == outcome.digest == store.engine.digest != before
    assert event.policy_digest == outcome.digest
    assert log.in_force_when_written == [before]


def test_a_reload_the_audit_log_cannot_record_leaves_the_old_bundle_in_force(
    bundle_copy: Path, log: Log
) -> None:
    store = watched(bundle_copy, log)
    before = store.engine
    (bundle_copy / "cedar" / "extra.cedar").write_text(NEW_POLICY)
    log.broken = True

    with pytest.raises(AuditWriteError, match="disk full"):
        store.reload_if_changed()

    assert store.engine is before
    log.broken = False
    assert store.reload_if_changed().changed  # tried again once the log can be written
    assert [event.type for event in log.events] == ["policy.reloaded"]


def test_a_refused_bundle_is_audited_once_with_its_problems(bundle_copy: Path, log: Log) -> None:
    store = watched(bundle_copy, log)
    before = store.engine.digest
    (bundle_copy / "cedar" / "broken.cedar").write_text(BROKEN_POLICY)

    first = store.reload_if_changed()
    store.reload_if_changed()  # the same refused files: not loaded, nor recorded, again

    (event,) = log.events
    assert event.type == "policy.reload_refused"
    assert event.policy_digest == before
    assert event.payload["old_digest"] == before
    assert event.payload["new_digest"] not in (None, before)
    assert first.error is not None
    assert event.payload["problems"] == [str(problem) for problem in first.error.problems]
    assert store.engine.digest == before


def test_a_bundle_that_is_gone_is_refused_with_no_new_digest(
    bundle_copy: Path, log: Log, tmp_path: Path
) -> None:
    store = watched(bundle_copy, log)
    bundle_copy.rename(tmp_path / "moved")

    outcome = store.reload()

    (event,) = log.events
    assert event.type == "policy.reload_refused"
    assert event.payload["new_digest"] is None
    assert "policy bundle not found" in event.payload["summary"]
    assert outcome.error is not None


def test_the_watcher_keeps_the_old_bundle_while_the_log_is_unwritable(
    bundle_copy: Path, log: Log
) -> None:
    store = watched(bundle_copy, log)
    before = store.engine.digest
    log.broken = True
    store.start_watching(interval_seconds=0.02)
    try:
        (bundle_copy / "cedar" / "extra.cedar").write_text(NEW_POLICY)
        time.sleep(0.3)
        assert store.engine.digest == before
        log.broken = False
        deadline = time.monotonic() + 30
        while store.engine.digest == before and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        store.stop_watching()
    assert "kb-publish-technicians" in store.engine.cedar.policies
    assert [event.type for event in log.events] == ["policy.reloaded"]


def test_the_gateway_records_its_reloads_in_its_audit_log(tmp_path: Path) -> None:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    config = GatewayConfig(
        policy=PolicyConfig(dir=tmp_path / "policies"),
        audit=AuditConfig(
            log=tmp_path / "var" / "audit.log", signing_key=tmp_path / "keys" / "audit-signing.key"
        ),
    )
    gateway = Gateway.from_config(config)
    before = gateway.policies.engine.digest

    (tmp_path / "policies" / "cedar" / "extra.cedar").write_text(NEW_POLICY)
    outcome = gateway.policies.reload_if_changed()
    gateway.close()

    records = [parse_record(line, i) for i, line in enumerate(read_lines(config.audit.log))]
    (record,) = [record for record in records if record.type == "policy.reloaded"]
    assert (record.payload["old_digest"], record.payload["new_digest"]) == (before, outcome.digest)
