"""Policy test results for CI: a JUnit XML report and the rules the cases exercised.

Coverage counts a Cedar policy as exercised when it is among the reasons of some case's
decision (it permitted or forbade), and a Casbin ``p`` rule when it is the rule that
granted some case; both are listed by id (``@id``) or rule text with file and line.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from itertools import groupby

from gateway.policy.bundle import PolicyBundle
from gateway.policy.testing import CaseResult

__all__ = ["Coverage", "RuleCoverage", "junit_xml", "policy_coverage"]


@dataclass(frozen=True, slots=True)
class RuleCoverage:
    """One Cedar policy or Casbin rule, and whether a case exercised it."""

    engine: str  # "cedar" or "casbin"
    rule: str  # the Cedar @id, or the Casbin rule text
    location: str  # file:line
    exercised: bool


@dataclass(frozen=True, slots=True)
class Coverage:
    rules: tuple[RuleCoverage, ...]

    def _percent(self, engine: str | None) -> float:
        chosen = [rule for rule in self.rules if engine is None or rule.engine == engine]
        if not chosen:
            return 100.0
        return round(100.0 * sum(rule.exercised for rule in chosen) / len(chosen), 1)

    @property
    def percent(self) -> float:
        return self._percent(None)

    def as_json(self) -> dict[str, object]:
        return {
            "percent": self.percent,
            "cedar_percent": self._percent("cedar"),
            "casbin_percent": self._percent("casbin"),
            "exercised": sum(rule.exercised for rule in self.rules),
            "total": len(self.rules),
            "rules": [
                {
                    "engine": r.engine,
                    "rule": r.rule,
                    "location": r.location,
                    "exercised": r.exercised,
                }
                for r in self.rules
            ],
        }


def policy_coverage(bundle: PolicyBundle, results: list[CaseResult]) -> Coverage:
    """Which of the bundle's Cedar policies and Casbin permissions the cases exercised."""
    cedar: set[str] = set()
    casbin: set[str] = set()
    for result in results:
        for reason in result.decision.reasons if result.decision is not None else ():
            if reason.policy is not None and reason.engine == "cedar":
                cedar.add(reason.policy)
            elif reason.policy is not None and reason.engine == "casbin":
                casbin.add(reason.policy)
    rules = [
        RuleCoverage("cedar", policy.id, policy.location, policy.id in cedar)
        for policy in bundle.policies
    ]
    rules.extend(
        RuleCoverage("casbin", str(rule), f"{rule.file}:{rule.line}", str(rule) in casbin)
        for rule in bundle.casbin.policies
    )
    return Coverage(tuple(rules))


def junit_xml(results: list[CaseResult]) -> bytes:
    """The results as JUnit XML: one ``testsuite`` per test file, one ``testcase`` per case,
    a ``failure`` listing the differences of a failed one."""
    root = ET.Element("testsuites", name="policy tests")
    root.set("tests", str(len(results)))
    root.set("failures", str(sum(not result.passed for result in results)))
    for file, grouped in groupby(results, key=lambda result: result.file):
        cases = list(grouped)
        suite = ET.SubElement(root, "testsuite", name=file)
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(sum(not case.passed for case in cases)))
        suite.set("errors", "0")
        for case in cases:
            element = ET.SubElement(suite, "testcase")
            element.set("classname", file)
            element.set("name", case.name)
            element.set("file", file)
            element.set("line", str(case.line))
            if not case.passed:
                failure = ET.SubElement(element, "failure", message=case.differences[0])
                failure.text = "\n".join(case.differences)
    ET.indent(root)
    text: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return text
