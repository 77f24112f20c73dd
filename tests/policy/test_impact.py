"""Replaying logged decisions against a candidate: every kind of change, what cannot be
replayed, and the Markdown report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.audit.records import AuditRecord
from gateway.identity.static import StaticDirectory
from gateway.policy.bundle import load_bundle
from gateway.policy.engine import PolicyEngine
from gateway.policy.impact import Expectations, analyse_impact, markdown

from .conftest import SHIPPED_POLICIES, TEST_DIRECTORY

OWN_RESET = ("alice", "password.reset", "account:alice")  # allowed after a step-up


def record(
    seq: int,
    decision: str,
    who: tuple[str | None, str | None, str] = OWN_RESET,
    *,
    obligations: list[dict[str, Any]] | None = None,
    time: str = "2026-12-01T10:00:00.000000Z",
    redacted: tuple[str, ...] = (),
    kind: str = "decision",
) -> AuditRecord:
    actor, action, resource = who
    payload = {"decision": decision, "context": {}, "obligations": obligations or [],
               "reasons": [{"engine": "cedar", "policy": "old-policy"}]}  # fmt: skip
    return AuditRecord(
        seq, time, "0" * 64, kind, actor, action, resource, None, None, payload,
        redacted, "0" * 16, b"", b"",
    )  # fmt: skip


@pytest.fixture(scope="module")
def engine() -> PolicyEngine:
    return PolicyEngine(load_bundle(SHIPPED_POLICIES))


@pytest.fixture(scope="module")
def directory() -> StaticDirectory:
    return StaticDirectory.load(TEST_DIRECTORY)


def kinds(records: list[AuditRecord], engine: PolicyEngine, directory: StaticDirectory,
          **options: Any) -> dict[tuple[str, str], int]:  # fmt: skip
    report = analyse_impact(records, engine, directory, **options)
    return {(group.action, group.change): group.count for group in report.groups}


def test_obligations_added_and_dropped_are_changes_too(
    engine: PolicyEngine, directory: StaticDirectory
) -> None:
    both = [{"type": "step_up"}, {"type": "approval"}]

    assert kinds([record(1, "allow")], engine, directory) == {
        ("password.reset", "obligations_added"): 1
    }
    assert kinds([record(1, "allow", obligations=both)], engine, directory) == {
        ("password.reset", "obligations_dropped"): 1
    }
    assert kinds([record(1, "deny")], engine, directory) == {("password.reset", "deny_to_allow"): 1}


def test_a_deny_that_stays_a_deny_is_no_change(
    engine: PolicyEngine, directory: StaticDirectory
) -> None:
    ghost = ("ghost", "password.reset", "account:alice")  # gone from the directory since

    assert kinds([record(1, "deny", ghost)], engine, directory) == {}
    assert kinds([record(1, "allow", ghost)], engine, directory) == {
        ("password.reset", "allow_to_deny"): 1
    }


def test_erased_malformed_and_older_records_are_not_replayed(
    engine: PolicyEngine, directory: StaticDirectory
) -> None:
    records = [
        record(1, "deny", redacted=("actor",)),
        record(2, "deny", (None, None, "account:alice")),
        record(3, "deny", time="2026-01-01T00:00:00.000000Z"),
        record(4, "deny", kind="policy.reloaded"),
    ]

    report = analyse_impact(records, engine, directory, since="2026-06-01T00:00:00.000000Z")

    assert (report.replayed, report.not_replayable, report.groups) == (0, 2, [])


def test_examples_are_bounded_and_expectations_mark_declared_changes(
    engine: PolicyEngine, directory: StaticDirectory
) -> None:
    expect = Expectations.model_validate(
        {"expected": [{"action": "password.reset", "change": "deny_to_allow"}]}
    )

    report = analyse_impact(
        [record(n, "deny") for n in range(5)], engine, directory, expectations=expect
    )

    (group,) = report.groups
    assert (group.count, len(group.examples), group.declared) == (5, 3, True)
    assert report.distinct_requests == 1
    assert report.undeclared == []
    assert "| yes |" in markdown(report, "candidate")


def test_a_report_without_changes_says_so(
    engine: PolicyEngine, directory: StaticDirectory, tmp_path: Path
) -> None:
    text = markdown(analyse_impact([], engine, directory), "candidate")

    assert text.endswith("No decision would change.\n")
