"""Policy tests: YAML cases that pin down what the bundle decides, like ``opa test``.

A test file (``policies/tests/*.yaml``)::

    directory: directory.yaml        # identity facts for the cases, relative to this file
    cases:
      - name: a user resets her own password after a step-up
        actor: alice
        action: password.reset
        resource: account:alice
        context: {channel: self_service}
        expect:
          decision: allow
          obligations: [step_up]       # types, or mappings of fields to match
          policies: [password-reset-own-account]
          reason: step-up              # text some reason must contain

See ``docs/policy-authoring.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from gateway.definitions import (
    DefinitionKind,
    Loaded,
    definition_files,
    load_definition,
    load_definition_files,
)
from gateway.errors import SourceProblem, UnknownActorError
from gateway.identity.static import StaticDirectory
from gateway.policy.decision import Decision
from gateway.policy.decision_point import PolicyDecisionPoint
from gateway.policy.request import AccessRequest
from gateway.yaml_source import YamlDocument

__all__ = [
    "CaseResult",
    "PolicyTestFile",
    "discover_test_files",
    "run_policy_tests",
    "untested_policies",
]


class Expectation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    decision: Literal["allow", "deny"]
    obligations: list[str | dict[str, JsonValue]] | None = None
    policies: list[str] = []
    reason: str | None = None


class PolicyTestCase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    actor: str
    action: str
    resource: str
    context: dict[str, JsonValue] = {}
    expect: Expectation


class PolicyTestFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    directory: str
    cases: list[PolicyTestCase] = Field(min_length=1)


@dataclass(frozen=True)
class CaseResult:
    """The outcome of one case; ``differences`` is empty when it passed."""

    name: str
    file: str
    line: int
    differences: tuple[str, ...]
    decision: Decision | None

    @property
    def passed(self) -> bool:
        return not self.differences


def discover_test_files(root: Path) -> list[Path]:
    """The policy test files of a bundle, in name order."""
    return [path for path in definition_files(root / "tests") if path.name != "directory.yaml"]


def _obligation_differences(
    expected: list[str | dict[str, JsonValue]], decision: Decision
) -> list[str]:
    found = [item.model_dump(mode="json") for item in decision.obligations]
    wanted = [{"type": item} if isinstance(item, str) else item for item in expected]
    unmatched = list(found)
    missing = []
    for want in wanted:
        match = next(
            (got for got in unmatched if all(got.get(key) == value for key, value in want.items())),
            None,
        )
        if match is None:
            missing.append(want)
        else:
            unmatched.remove(match)
    differences = [f"obligations: expected {want}, not found" for want in missing]
    differences.extend(
        f"obligations: unexpected {got['type']} from {got['policy']}" for got in unmatched
    )
    return differences


def _differences(expect: Expectation, decision: Decision) -> list[str]:
    differences = []
    if decision.decision != expect.decision:
        reasons = "; ".join(reason.message for reason in decision.reasons)
        differences.append(
            f"decision: expected {expect.decision}, found {decision.decision} ({reasons})"
        )
    if expect.obligations is not None:
        differences.extend(_obligation_differences(expect.obligations, decision))
    determining = {
        reason.policy for reason in decision.reasons if reason.engine == "cedar" and reason.policy
    }
    differences.extend(
        f"policies: expected {policy_id} among the reasons, found {sorted(determining)}"
        for policy_id in expect.policies
        if policy_id not in determining
    )
    if expect.reason is not None and not any(expect.reason in r.message for r in decision.reasons):
        differences.append(f"reason: expected a reason containing {expect.reason!r}")
    return differences


def _run_case(
    pdp: PolicyDecisionPoint, directory: StaticDirectory, case: PolicyTestCase, file: str, line: int
) -> CaseResult:
    try:
        request = AccessRequest(
            actor=case.actor, action=case.action, resource=case.resource, context=case.context
        )
    except ValidationError as exc:
        detail = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in detail["loc"])
        return CaseResult(case.name, file, line, (f"request: {field}: {detail['msg']}",), None)
    try:
        actor = directory.get_user(request.actor)
    except UnknownActorError:
        actor = None
    resource = directory.get_resource(request.resource.type, request.resource.id)
    decision = pdp.decide(request, actor, resource)
    return CaseResult(case.name, file, line, tuple(_differences(case.expect, decision)), decision)


_KIND = DefinitionKind("policy test file", "policy test files")


def _directory_problems(suite: PolicyTestFile, document: YamlDocument) -> list[SourceProblem]:
    if (document.path.parent / suite.directory).is_file():
        return []
    line = document.line_of(("directory",))
    return [SourceProblem(str(document.path), line, f"directory: no such file {suite.directory!r}")]


def _load(path: Path) -> Loaded[tuple[PolicyTestFile, StaticDirectory]]:
    suite, document = load_definition(path, PolicyTestFile, _KIND, _directory_problems)
    return Loaded((suite, StaticDirectory.load(path.parent / suite.directory)), document)


def run_policy_tests(pdp: PolicyDecisionPoint, files: list[Path]) -> list[CaseResult]:
    """Run every case of ``files``; raise ``SourceError`` naming every problem of every
    file when one is invalid, before any case runs."""
    results = []
    for loaded in load_definition_files(files, _load, _KIND):
        suite, directory = loaded.value
        for index, case in enumerate(suite.cases):
            line = loaded.document.line_of(("cases", index))
            results.append(_run_case(pdp, directory, case, loaded.source, line))
    return results


def untested_policies(policy_ids: list[str], results: list[CaseResult]) -> list[str]:
    """Policies that decided no case: a change to them would go unnoticed by the tests."""
    exercised = {
        reason.policy
        for result in results
        if result.decision is not None
        for reason in result.decision.reasons
        if reason.engine == "cedar"
    }
    return [policy_id for policy_id in policy_ids if policy_id not in exercised]
