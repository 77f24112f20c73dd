"""Policy tests in CI: a JUnit report, coverage of the rules the cases exercise with a
threshold, and Cedar's formatter as a check."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import cli

REPO = Path(__file__).resolve().parents[2]
UNFORMATTED = '@id("p1")\npermit (principal,action == Action::"kb.publish",resource)   ;\n'
FAILING_CASE = """
directory: directory.yaml
cases:
  - name: tom publishes an article
    actor: tom
    action: kb.publish
    resource: article:x
    expect: {decision: allow}
"""


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(REPO / "policies", target, ignore=shutil.ignore_patterns("signatures"))
    return target


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="gateway")
    return result.exit_code, result.stdout, result.stderr


def test_a_junit_report_lists_every_case_and_its_failure(bundle: Path, tmp_path: Path) -> None:
    (bundle / "tests" / "zz_failing.yaml").write_text(FAILING_CASE)
    report = tmp_path / "reports" / "policy.xml"
    report.parent.mkdir()

    code, out, _ = invoke("policy", "test", "--policies", str(bundle), "--junit", str(report))

    assert code == 1
    root = ET.parse(report).getroot()
    assert root.tag == "testsuites"
    cases = root.findall("testsuite/testcase")
    passed = out.count("ok  ")
    assert int(root.get("tests", "")) == len(cases) == passed + 1
    assert root.get("failures") == "1"
    (failure,) = root.findall("testsuite/testcase/failure")
    (failed,) = [case for case in cases if case.find("failure") is not None]
    assert failed.get("name") == "tom publishes an article"
    assert failed.get("classname", "").endswith("zz_failing.yaml")
    assert "decision: expected allow, found deny" in (failure.get("message") or "")


def test_coverage_counts_the_cedar_policies_and_casbin_rules_the_cases_exercise(
    bundle: Path,
) -> None:
    code, out, _ = invoke("policy", "test", "--policies", str(bundle), "--coverage", "--json")

    assert code == 0
    coverage = json.loads(out)["coverage"]
    rules = coverage["rules"]
    cedar = [r for r in rules if r["engine"] == "cedar"]
    casbin = [r for r in rules if r["engine"] == "casbin"]
    assert coverage["total"] == len(rules) == len(cedar) + len(casbin)
    assert coverage["exercised"] == sum(r["exercised"] for r in rules)
    assert 0 < coverage["exercised"] < coverage["total"]
    assert coverage["percent"] == round(100 * coverage["exercised"] / coverage["total"], 1)
    by_rule = {r["rule"]: r["exercised"] for r in rules}
    assert by_rule["password-reset-own-account"] is True
    assert by_rule["p, role:employee, account, password.reset"] is True
    assert all(":" in r["location"] for r in rules)


def test_coverage_under_the_threshold_fails(bundle: Path) -> None:
    code, out, err = invoke("policy", "test", "--policies", str(bundle), "--fail-under", "100")
    low_code, _, _ = invoke("policy", "test", "--policies", str(bundle), "--fail-under", "1")

    assert code == 1
    assert "not exercised: " in out
    assert "is under 100.0%" in err
    assert low_code == 0


def test_fmt_check_names_unformatted_files_and_fmt_formats_them(bundle: Path) -> None:
    for path in (bundle / "cedar").glob("*.cedar"):
        path.unlink()
    (bundle / "cedar" / "one.cedar").write_text(UNFORMATTED)

    code, out, _ = invoke("policy", "fmt", "--policies", str(bundle), "--check")
    unchanged = (bundle / "cedar" / "one.cedar").read_text()
    fixed = invoke("policy", "fmt", "--policies", str(bundle), "--json")
    again = invoke("policy", "fmt", "--policies", str(bundle), "--check")

    assert code == 1
    assert f"would reformat {bundle / 'cedar' / 'one.cedar'}" in out
    assert unchanged == UNFORMATTED
    assert fixed[0] == 0
    assert json.loads(fixed[1])["unformatted"] == [str(bundle / "cedar" / "one.cedar")]
    assert (bundle / "cedar" / "one.cedar").read_text() != UNFORMATTED
    assert again[0] == 0
    assert "1 files checked, 0 would reformat" in again[1]


def test_fmt_refuses_a_file_cedar_cannot_parse_and_writes_nothing(bundle: Path) -> None:
    (bundle / "cedar" / "a.cedar").write_text(UNFORMATTED)
    (bundle / "cedar" / "broken.cedar").write_text("permit (principal, action, resource) when {")

    code, _, err = invoke("policy", "fmt", "--policies", str(bundle))

    assert code == 4
    assert "broken.cedar" in err
    assert "cannot format" in err
    assert (bundle / "cedar" / "a.cedar").read_text() == UNFORMATTED
