"""Coverage of a bundle with nothing to cover is complete, never a division by zero."""

from __future__ import annotations

from gateway.policy.reports import Coverage, RuleCoverage


def test_an_engine_with_no_rules_counts_as_fully_covered() -> None:
    coverage = Coverage((RuleCoverage("cedar", "p1", "a.cedar:1", exercised=False),))

    data = coverage.as_json()

    assert (data["percent"], data["cedar_percent"], data["casbin_percent"]) == (0.0, 0.0, 100.0)
