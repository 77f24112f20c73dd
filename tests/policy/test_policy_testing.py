"""The policy test runner: each failure says what differed, and where the case is."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import cli
from gateway.errors import ExitCode, SourceError
from gateway.policy.bundle import load_bundle
from gateway.policy.decision_point import PolicyDecisionPoint
from gateway.policy.engine import PolicyEngine
from gateway.policy.testing import discover_test_files, run_policy_tests


def run(bundle: Path, text: str) -> list:  # type: ignore[type-arg]
    (bundle / "tests" / "case.yaml").write_text(text)
    engine = PolicyEngine(load_bundle(bundle))
    return run_policy_tests(PolicyDecisionPoint(lambda: engine), [bundle / "tests" / "case.yaml"])


def case(expect: str, resource: str = "account:alice", actor: str = "hank") -> str:
    return (
        "directory: directory.yaml\n"
        "cases:\n"
        "  - name: the case\n"
        f"    actor: {actor}\n"
        "    action: password.reset\n"
        f"    resource: {resource}\n"
        f"    expect: {expect}\n"
    )


def test_the_shipped_policy_tests_all_pass(bundle_copy: Path) -> None:
    engine = PolicyEngine(load_bundle(bundle_copy))
    files = discover_test_files(bundle_copy)

    results = run_policy_tests(PolicyDecisionPoint(lambda: engine), files)

    assert "directory.yaml" not in [path.name for path in files]
    assert len(results) >= 30
    assert [r.name for r in results if not r.passed] == []


@pytest.mark.parametrize(
    ("expect", "difference"),
    [
        (
            "{decision: deny}",
            "decision: expected deny, found allow (role:employee may password.reset on account",
        ),
        ("{decision: allow, obligations: [step_up]}", "obligations: expected {'type': 'step_up'}"),
        (
            "{decision: allow, policies: [password-reset-own-account]}",
            "policies: expected password-reset-own-account among the reasons, "
            "found ['password-reset-helpdesk']",
        ),
        ("{decision: allow, reason: frozen}", "reason: expected a reason containing 'frozen'"),
    ],
    ids=[
        "a wrong decision shows the reasons",
        "a missing obligation is named",
        "a missing policy lists the policies found",
        "a missing reason text is named",
    ],
)
def test_a_failing_case_reports_the_difference(
    bundle_copy: Path, expect: str, difference: str
) -> None:
    (result,) = run(bundle_copy, case(expect))

    assert not result.passed
    assert result.differences[0].startswith(difference)
    assert (result.file, result.line) == (str(bundle_copy / "tests" / "case.yaml"), 3)


def test_an_unexpected_obligation_is_reported(bundle_copy: Path) -> None:
    (result,) = run(bundle_copy, case("{decision: allow, obligations: []}", "account:root"))

    assert result.differences == (
        "obligations: unexpected step_up from password-reset-privileged-account",
        "obligations: unexpected approval from password-reset-privileged-account",
    )


def test_a_malformed_request_in_a_case_fails_that_case(bundle_copy: Path) -> None:
    (result,) = run(bundle_copy, case("{decision: allow}", "no-colon"))

    assert result.decision is None
    assert result.differences == (
        "request: resource: Value error, expected TYPE:ID, found 'no-colon'",
    )


def test_an_invalid_test_file_names_file_and_line(bundle_copy: Path) -> None:
    with pytest.raises(SourceError) as caught:
        run(bundle_copy, case("{decision: maybe}"))

    (problem,) = caught.value.problems
    assert problem.line == 7
    assert problem.message.startswith("cases.0.expect.decision: Input should be 'allow' or 'deny'")


def test_a_missing_directory_file_is_named(bundle_copy: Path) -> None:
    text = case("{decision: allow}").replace("directory.yaml", "nowhere.yaml")

    with pytest.raises(SourceError) as caught:
        run(bundle_copy, text)

    (problem,) = caught.value.problems
    assert (problem.line, problem.message) == (1, "directory: no such file 'nowhere.yaml'")


def test_every_invalid_test_file_is_named_at_once(
    bundle_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tests = bundle_copy / "tests"
    (tests / "a-broken.yaml").write_text(case("{decision: maybe}"))
    missing = case("{decision: allow}").replace("directory.yaml", "nowhere.yaml")
    (tests / "b-broken.yaml").write_text(missing)
    monkeypatch.chdir(bundle_copy.parent)

    result = CliRunner().invoke(cli, ["policy", "test", "--policies", "policies"])

    assert result.exit_code == ExitCode.INVALID_INPUT
    assert result.stderr.splitlines()[:3] == [
        "error: invalid policy test files:",
        "  policies/tests/a-broken.yaml:7: cases.0.expect.decision: "
        "Input should be 'allow' or 'deny'",
        "  policies/tests/b-broken.yaml:1: directory: no such file 'nowhere.yaml'",
    ]
