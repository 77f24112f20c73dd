"""Impact analysis from the reviewer's side: past decisions of the audit log replayed
against a candidate bundle, the changes grouped, undeclared ones failing the command."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import cli

REPO = Path(__file__).resolve().parents[2]
TIGHTER = """
@id("no-password-reset-for-employees")
@description("password resets go through the helpdesk only")
forbid (principal, action == Action::"password.reset", resource)
unless { principal in Group::"helpdesk" };
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    ignore = shutil.ignore_patterns("signatures")
    shutil.copytree(REPO / "policies", tmp_path / "policies", ignore=ignore)
    shutil.copytree(REPO / "policies", tmp_path / "candidate", ignore=ignore)
    (tmp_path / "candidate" / "cedar" / "tighter.cedar").write_text(TIGHTER)
    monkeypatch.chdir(tmp_path)
    for actor, action, resource in [
        ("tom", "password.reset", "account:tom"),
        ("tom", "password.reset", "account:tom"),
        ("elena", "password.reset", "account:tom"),
        ("elena", "kb.publish", "article:x"),
        ("mallory", "password.reset", "account:tom"),
    ]:
        invoke("authorize", "--actor", actor, "--action", action, "--resource", resource)
    return tmp_path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="gateway")
    return result.exit_code, result.stdout, result.stderr


def test_a_tighter_candidate_lists_the_past_decisions_it_would_deny(workdir: Path) -> None:
    code, out, _ = invoke("policy", "impact", "--candidate", "candidate", "--json")

    assert code == 1  # a change nobody declared
    report = json.loads(out)
    assert (report["replayed"], report["distinct_requests"]) == (4, 3)
    assert report["not_replayable"] == 1  # mallory: refused by the gateway, not the policies
    assert report["facts"] == "current"
    (group,) = report["groups"]
    assert (group["action"], group["change"], group["count"]) == (
        "password.reset", "allow_to_deny", 2)  # fmt: skip
    assert group["after"] == ["no-password-reset-for-employees"]
    assert "password-reset-own-account" in group["before"]
    assert [e["actor"] for e in group["examples"]] == ["tom", "tom"]
    assert report["undeclared"] == 1


def test_a_declared_change_passes_and_the_markdown_fits_a_pull_request(workdir: Path) -> None:
    (workdir / "expect.yaml").write_text(
        "expected:\n  - {action: password.reset, change: allow_to_deny}\n"
    )

    code, out, _ = invoke(
        "policy", "impact", "--candidate", "candidate", "--expect", "expect.yaml", "--markdown"
    )

    assert code == 0
    assert "| `password.reset` | allow to deny | 2 |" in out
    assert "| yes |" in out


def test_the_bundle_in_force_changes_nothing_and_since_filters(workdir: Path) -> None:
    same = invoke("policy", "impact", "--candidate", "policies")
    recent = json.loads(invoke("policy", "impact", "--candidate", "candidate", "--since", "1h",
                               "--json")[1])  # fmt: skip

    assert same[0] == 0
    assert "no decision would change" in same[1]
    assert recent["replayed"] == 4


def test_a_candidate_that_does_not_parse_is_named_with_file_and_line(workdir: Path) -> None:
    (workdir / "candidate" / "cedar" / "tighter.cedar").write_text("forbid (principal, action")

    code, _, err = invoke("policy", "impact", "--candidate", "candidate")

    assert code == 4
    assert "tighter.cedar:1" in err
