"""Replaying logged decisions against a candidate: every kind of change, what cannot be
replayed, and the Markdown report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.audit.records import AuditRecord
from gateway.identity.facts import AccountStatus
from gateway.identity.static import StaticDirectory
from gateway.policy.bundle import load_bundle
from gateway.policy.engine import PolicyEngine
from gateway.policy.impact import Expectations, analyse_impact, markdown
from gateway.policy.recorded_facts import recorded_facts

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
    facts: object = None,
) -> AuditRecord:
    actor, action, resource = who
    payload = {"decision": decision, "context": {}, "obligations": obligations or [],
               "reasons": [{"engine": "cedar", "policy": "old-policy"}]}  # fmt: skip
    if facts is not None:
        payload["facts"] = facts
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
    other = ("alice", "password.reset", "account:mona")

    assert kinds([record(1, "deny", other)], engine, directory) == {}


def test_an_actor_gone_from_the_directory_is_not_replayed_on_guessed_facts(
    engine: PolicyEngine, directory: StaticDirectory
) -> None:
    ghost = ("ghost", "password.reset", "account:alice")  # gone from the directory since

    report = analyse_impact([record(1, "allow", ghost)], engine, directory)

    assert (report.replayed, report.groups) == (0, [])
    assert report.not_replayable_why == {"actor no longer in the directory": 1}


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
    assert report.not_replayable_why == {"fields erased": 1, "malformed request": 1}


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


def facts_of(directory: StaticDirectory, actor: str, resource: str, **changed: Any) -> object:
    """The facts a decision record keeps, as the directory says now, with ``changed``."""
    kind, _, ident = resource.partition(":")
    user = directory.get_user(actor).model_copy(update=changed)
    return recorded_facts(user, directory.get_resource(kind, ident))


def test_records_keeping_their_facts_are_replayed_on_them_not_on_current_ones(
    engine: PolicyEngine, directory: StaticDirectory
) -> None:
    # alice was disabled when she was refused; she is active now
    disabled = facts_of(directory, "alice", "account:alice", status=AccountStatus.DISABLED)
    as_now = facts_of(directory, "alice", "account:alice")

    report = analyse_impact(
        [record(1, "deny", facts=disabled), record(2, "deny", facts=as_now), record(3, "deny")],
        engine,
        directory,
    )

    (group,) = report.groups
    assert (group.change, [e["seq"] for e in group.examples]) == ("deny_to_allow", [2, 3])
    assert [e["facts"] for e in group.examples] == ["recorded", "current"]
    assert (report.on_recorded_facts, report.on_current_facts, report.facts) == (2, 1, "mixed")
    assert report.distinct_requests == 3
    text = markdown(report, "candidate")
    assert "1 older ones replayed against current facts" in text
    assert (
        "#3 alice on account:alice (2026-12-01T10:00:00.000000Z, replayed against current" in text
    )


@pytest.mark.parametrize(
    "facts",
    [
        pytest.param("[erased]", id="facts erased"),
        pytest.param({"sealed": "b64..."}, id="facts sealed and not readable"),
        pytest.param({"v": 2, "actor": {}, "resource": None}, id="facts of another version"),
    ],
)
def test_records_whose_facts_cannot_be_read_are_not_replayable_never_guessed(
    engine: PolicyEngine, directory: StaticDirectory, facts: object
) -> None:
    report = analyse_impact([record(1, "deny", facts=facts)], engine, directory)

    assert (report.replayed, report.groups) == (0, [])
    assert report.not_replayable_why == {"facts unreadable or erased": 1}
    assert "not replayable (facts unreadable or erased: 1)" in markdown(report, "candidate")


def test_another_version_of_readable_facts_is_not_replayed(
    engine: PolicyEngine, directory: StaticDirectory
) -> None:
    later = {**facts_of(directory, "alice", "account:alice"), "v": 2}  # type: ignore[dict-item]

    report = analyse_impact([record(1, "deny", facts=later)], engine, directory)

    assert report.not_replayable_why == {"facts unreadable or erased": 1}


def test_a_report_on_recorded_facts_only_says_so(
    engine: PolicyEngine, directory: StaticDirectory
) -> None:
    facts = facts_of(directory, "alice", "account:alice")

    report = analyse_impact([record(1, "deny", facts=facts)], engine, directory)

    assert report.facts == "recorded"
    assert "on the facts each record keeps" in markdown(report, "candidate")
    assert report.as_json()["facts"] == "recorded"


def test_an_older_record_on_facts_the_gateway_built_is_not_replayed_on_the_directory(
    engine: PolicyEngine, directory: StaticDirectory
) -> None:
    auto = ("alice", "approval.auto", "approval:0a1b")  # facts from the approval request

    report = analyse_impact([record(1, "allow", auto)], engine, directory)

    assert (report.replayed, report.groups) == (0, [])
    assert report.not_replayable_why == {"facts not kept, and not the directory's": 1}
