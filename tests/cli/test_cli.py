"""The ``gateway`` command as a user runs it: output, JSON and exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import cli

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory holding a copy of the shipped bundle and automations, as after
    a checkout."""
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    shutil.copytree(REPO / "automations", tmp_path / "automations")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="gateway")
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    "command",
    [[], ["policy"], ["policy", "check"], ["policy", "test"], ["authorize"], ["demo"]],
    ids=lambda command: " ".join(["gateway", *command, "--help"]),
)
def test_every_command_has_help(command: list[str]) -> None:
    code, out, _ = invoke(*command, "--help")

    assert code == 0
    assert "Usage: gateway" in out


def test_policy_check_summarises_a_valid_bundle(workdir: Path) -> None:
    code, out, _ = invoke("policy", "check")

    assert code == 0
    assert "policy bundle policies is valid" in out
    assert "(compiled checks)" in out


def test_policy_check_json(workdir: Path) -> None:
    code, out, _ = invoke("policy", "check", "--json")

    report = json.loads(out)
    assert code == 0
    assert report["valid"] is True
    assert report["digest"].startswith("sha256:")
    shipped = sum(
        text.count("@id(")
        for text in (p.read_text() for p in Path("policies/cedar").glob("*.cedar"))
    )
    assert report["cedar_policies"] == shipped > 20


def test_policy_check_names_file_and_line_of_a_broken_policy(workdir: Path) -> None:
    broken = workdir / "policies" / "cedar" / "support.cedar"
    original = broken.read_text()
    broken.write_text(original + '\n@id("oops")\npermit (principal, action, resource\n')
    line = len(original.splitlines()) + 2

    code, _, err = invoke("policy", "check", "--policies", "policies")

    assert code == 1
    assert "policy bundle is invalid:" in err
    assert f"policies/cedar/support.cedar:{line}: policy does not parse: unexpected end" in err


def test_policy_check_json_lists_problems(workdir: Path) -> None:
    (workdir / "policies" / "casbin" / "roles.csv").write_text("g, a\n")

    code, out, _ = invoke("policy", "check", "--json")

    assert code == 1
    assert json.loads(out) == {
        "valid": False,
        "problems": [
            {
                "file": "policies/casbin/roles.csv",
                "line": 1,
                "message": "rule 'g' expects 2 values, found 1",
            }
        ],
    }


def test_policy_test_passes_on_the_shipped_bundle(workdir: Path) -> None:
    code, out, _ = invoke("policy", "test")

    assert code == 0
    assert "policy cases passed, 0 failed" in out.splitlines()[-1]


def test_policy_test_fails_with_the_difference(workdir: Path) -> None:
    suite = workdir / "policies" / "tests" / "support.yaml"
    suite.write_text(
        suite.read_text().replace(
            "kb.publish\n    resource: article:vpn-reset\n    expect: {decision: deny}",
            "kb.publish\n    resource: article:vpn-reset\n    expect: {decision: allow}",
        )
    )

    code, out, _ = invoke("policy", "test")

    assert code == 1
    assert "FAIL an employee cannot publish to the knowledge base" in out
    assert "decision: expected allow, found deny" in out


def test_policy_test_json(workdir: Path) -> None:
    code, out, _ = invoke("policy", "test", "--json")

    report = json.loads(out)
    assert code == 0
    assert report["passed"] is True
    assert all(case["passed"] for case in report["cases"])


def test_policy_test_without_tests_fails(workdir: Path) -> None:
    shutil.rmtree(workdir / "policies" / "tests")

    code, out, err = invoke("policy", "test")

    assert code == 1
    assert "0 policy cases passed, 0 failed" in out
    assert "no policy tests found" in err


def test_policy_test_on_a_broken_bundle_fails_with_json(workdir: Path) -> None:
    (workdir / "policies" / "casbin" / "model.conf").write_text("[request_definition]\n")

    code, out, _ = invoke("policy", "test", "--json")

    assert code == 1
    assert json.loads(out)["valid"] is False


def test_authorize_prints_one_json_object(workdir: Path) -> None:
    code, out, _ = invoke(
        "authorize",
        "--actor",
        "tom",
        "--action",
        "password.reset",
        "--resource",
        "account:tom",
        "--context",
        "channel=self_service",
        "--json",
    )

    decision = json.loads(out)
    assert code == 0
    assert decision["decision"] == "allow"
    assert decision["obligations"][0]["type"] == "step_up"
    assert decision["request"]["context"] == {
        "channel": "self_service",
        "change_freeze": False,
        "change_window": False,
    }
    assert {"reasons", "policy_digest", "decision_id"} <= decision.keys()


def test_authorize_deny_exits_3_and_explains(workdir: Path) -> None:
    code, out, _ = invoke(
        "authorize", "--actor", "tom", "--action", "diagnostics.run", "--resource", "host:pc1"
    )

    assert code == 3
    assert out.startswith("DENY  tom diagnostics.run host:pc1")
    assert "fix:  hold role role:technician" in out


def test_authorize_keeps_json_types_in_context(workdir: Path) -> None:
    code, out, _ = invoke(
        "authorize",
        "--actor",
        "omar",
        "--action",
        "access.grant",
        "--resource",
        "account:tom",
        "--context",
        "system=payroll",
        "--context",
        "duration_hours=8",
        "--json",
    )

    context = json.loads(out)["request"]["context"]
    assert code == 0
    assert context == {
        "system": "payroll",
        "duration_hours": 8,
        "change_freeze": False,
        "change_window": False,
    }


def test_authorize_shows_obligations_in_text(workdir: Path) -> None:
    code, out, _ = invoke(
        "authorize", "--actor", "elena", "--action", "password.reset", "--resource", "account:sam"
    )

    assert code == 0
    assert "must: step-up (totp) within 300s [password-reset-privileged-account]" in out
    assert "must: approval: 1 of [group:security-team] [password-reset-privileged-account]" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--action", "password.reset", "--resource", "account"],
            "error: --resource: Value error, expected TYPE:ID, found 'account'",
        ),
        (
            ["--action", "Reset Password!", "--resource", "account:tom"],
            "error: --action: String should match pattern",
        ),
    ],
    ids=["a resource without a type", "an action with spaces"],
)
def test_authorize_rejects_bad_input_naming_the_option(
    workdir: Path, args: list[str], message: str
) -> None:
    code, _, err = invoke("authorize", "--actor", "tom", *args)

    assert code == 4
    assert err.startswith(message)


@pytest.mark.parametrize("pair", ["x", "=1", "two words=1", "9lives=1"])
def test_a_context_entry_that_is_not_a_named_pair_is_a_usage_error(
    workdir: Path, pair: str
) -> None:
    args = ["--action", "password.reset", "--resource", "account:tom", "--context", pair]

    code, _, err = invoke("authorize", "--actor", "tom", *args)

    assert code == 2
    assert f"Invalid value for '--context': expected KEY=VALUE, found {pair!r}" in err


def test_context_values_that_are_json_keep_their_type(workdir: Path) -> None:
    args = ["--action", "kb.publish", "--resource", "article:x", "--context", "n=42"]

    code, out, _ = invoke("authorize", "--actor", "elena", *args, "--context", "s=text", "--json")

    assert code == 3  # the schema declares neither: Cedar refuses the request
    context = json.loads(out)["request"]["context"]
    assert (context["n"], context["s"]) == (42, "text")


def test_an_invalid_configuration_file_is_named(workdir: Path) -> None:
    (workdir / "gateway.toml").write_text("[policy]\ndir = 42\n")

    code, _, err = invoke("policy", "check")

    assert code == 4
    assert "gateway.toml:2: invalid configuration: policy.dir:" in err


def test_demo_decides_every_scenario(workdir: Path) -> None:
    code, out, _ = invoke("demo")

    assert code == 0
    assert "12 decisions: 7 allowed, 5 denied" in out
    assert (
        "4 workflows: password-reset succeeded, access-grant succeeded, "
        "software-install succeeded, software-install failed"
    ) in out
    assert "Tom reads his temporary password once (20 characters)" in out
    assert "audit log verified: " in out
    assert (workdir / "keys" / "audit-signing.key").exists()


def test_the_demo_runs_again_in_the_same_place(workdir: Path) -> None:
    invoke("demo")
    code, out, _ = invoke("demo")

    assert code == 0
    assert "4 workflows: password-reset succeeded" in out


def test_the_demo_without_workflows_decides_and_says_where_they_are(workdir: Path) -> None:
    shutil.rmtree(workdir / "automations")

    code, out, _ = invoke("demo")

    assert code == 0
    assert "12 decisions: 7 allowed, 5 denied" in out
    assert "no workflows in " in out


def test_demo_json(workdir: Path) -> None:
    code, out, _ = invoke("demo", "--json")

    decisions = json.loads(out)
    assert code == 0
    assert [d["decision"] for d in decisions].count("allow") == 7


def test_the_console_entry_point_runs_the_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from gateway.cli import main

    monkeypatch.setattr("sys.argv", ["gateway", "--help"])
    with pytest.raises(SystemExit) as caught:
        main()

    assert caught.value.code == 0
    assert "Usage: gateway" in capsys.readouterr().out


def test_python_dash_m_gateway_runs_the_command() -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "gateway", "policy", "--help"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )

    assert result.returncode == 0
    assert "Usage: gateway policy" in result.stdout


def test_demo_fails_when_the_audit_log_does_not_verify(workdir: Path) -> None:
    assert invoke("demo")[0] == 0
    log = workdir / "var" / "audit.log"
    log.write_bytes(log.read_bytes().replace(b'"tom"', b'"tim"', 1))

    code, _, err = invoke("demo")

    assert code == 1
    assert "audit log does not verify with keys/audit-signing.pub: record 0: bad signature" in err


def test_policy_test_warns_about_policies_no_case_exercises(workdir: Path) -> None:
    extra = workdir / "policies" / "cedar" / "extra.cedar"
    extra.write_text(
        '@id("kb-publish-anyone")\n'
        'permit (principal, action == Action::"kb.publish", resource is Article)\n'
        'when { principal.department == "Docs" };\n'
    )

    code, _, err = invoke("policy", "test")

    assert code == 0
    assert "warning: no case is decided by kb-publish-anyone" in err
    assert json.loads(invoke("policy", "test", "--json")[1])["untested_policies"] == [
        "kb-publish-anyone"
    ]


def test_demo_without_an_audit_log(workdir: Path) -> None:
    (workdir / "gateway.toml").write_text("[audit]\nunsafe_no_audit = true\n")

    code, out, _ = invoke("demo")

    assert code == 0
    assert "audit log verified" not in out
    assert not (workdir / "var" / "audit.log").exists()
