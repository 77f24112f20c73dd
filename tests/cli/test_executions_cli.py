"""``gateway run`` and ``gateway executions``: what a person at a terminal sees."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pyotp
import pytest
from click.testing import CliRunner

from gateway.cli import cli
from gateway.cli.executions import exit_code
from gateway.errors import ExitCode
from tests.runtime.harness import Clock, Runtime, Ticketing, install_test_workflows, make_config

REPO = Path(__file__).resolve().parents[2]
ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    shutil.copytree(REPO / "automations" / "workflows", tmp_path / "automations" / "workflows")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="gateway")
    return result.exit_code, result.stdout, result.stderr


def run_json(*args: str) -> tuple[int, dict[str, object]]:
    code, out, err = invoke("run", *args, "--json")
    assert out, err
    return code, dict(json.loads(out))


def test_a_reset_runs_and_its_password_is_shown_once_to_the_requester(workdir: Path) -> None:
    code, out, _ = invoke("run", "password-reset", "-p", "user=tom", "--actor", "elena")

    assert code == 0
    lines = out.splitlines()
    execution_id = lines[0].split()[2]
    assert lines[0] == f"SUCCEEDED  password-reset {execution_id}  by elena"
    assert lines[1] == "  status: succeeded"
    assert re.fullmatch(
        r"  succeeded   reset  decision \S+  sealed for elena: temporary_password", lines[3]
    )

    by_other = invoke("executions", "secret", execution_id, "temporary_password", "--actor", "tom")
    shown = invoke("executions", "secret", execution_id, "temporary_password", "--actor", "elena")
    again = invoke("executions", "secret", execution_id, "temporary_password", "--actor", "elena")

    assert by_other[0] == 3
    assert f"only elena may read the secret outputs of execution {execution_id}" in by_other[2]
    assert shown[0] == 0
    password = shown[1].strip()
    assert len(password) == 20
    assert again[0] == 1
    assert "has no unread secret output 'temporary_password'" in again[2]
    assert password not in (workdir / "var" / "audit.log").read_text()
    assert password not in (workdir / "var" / "notifications.jsonl").read_text()


@pytest.mark.parametrize(
    "stranger",
    ["tom", "priya"],
    ids=["the person whose password was reset", "someone with no part in it"],
)
def test_anyone_but_the_requester_is_refused_a_secret_output_with_exit_3(
    workdir: Path, stranger: str
) -> None:
    _, started = run_json("password-reset", "-p", "user=tom", "--actor", "elena")
    execution_id = str(started["id"])

    code, out, err = invoke(
        "executions", "secret", execution_id, "temporary_password", "--actor", stranger
    )
    shown = invoke("executions", "secret", execution_id, "temporary_password", "--actor", "elena")

    assert (code, out) == (3, "")
    assert err == f"error: only elena may read the secret outputs of execution {execution_id}\n"
    assert shown[0] == 0  # the refusal did not use the secret up
    assert len(shown[1].strip()) == 20


def test_a_refused_secret_read_with_json_prints_the_error_as_json(workdir: Path) -> None:
    _, started = run_json("password-reset", "-p", "user=tom", "--actor", "elena")
    execution_id = str(started["id"])

    code, out, err = invoke(
        "executions", "secret", execution_id, "temporary_password", "--actor", "priya", "--json"
    )

    assert code == 3
    assert json.loads(out) == {
        "error": {
            "kind": "denied",
            "exit_code": 3,
            "type": "SecretReaderError",
            "message": f"only elena may read the secret outputs of execution {execution_id}",
        }
    }
    assert err.startswith("error: only elena may read")


def test_a_secret_output_is_printed_as_json_once(workdir: Path) -> None:
    _, started = run_json("password-reset", "-p", "user=tom", "--actor", "elena")
    execution_id = str(started["id"])

    code, out, _ = invoke(
        "executions", "secret", execution_id, "temporary_password", "--actor", "elena", "--json"
    )

    shown = json.loads(out)
    assert code == 0
    assert (shown["execution"], shown["name"]) == (execution_id, "temporary_password")
    assert len(shown["value"]) == 20


def test_a_reset_of_ones_own_password_waits_for_a_step_up_then_resumes(workdir: Path) -> None:
    code, out, _ = invoke("run", "password-reset", "-p", "user=tom", "--actor", "tom")

    assert code == 6
    execution_id = out.split()[2]
    digest = re.search(r"--bound-to (sha256:[0-9a-f]{64})", out)
    assert digest is not None
    assert (
        f"  next: tom steps up with: gateway stepup verify --user tom --bound-to "
        f"{digest.group(1)}; then: gateway executions resume {execution_id}"
    ) in out
    enrolled = json.loads(invoke("stepup", "enrol", "--user", "tom", "--json")[1])
    seed = pyotp.parse_uri(enrolled["provisioning_uri"]).secret
    verified = invoke(
        "stepup", "verify", "--user", "tom", "--code", pyotp.TOTP(seed).now(),
        "--bound-to", digest.group(1),
    )  # fmt: skip
    assert verified[0] == 0, verified[2]

    resumed = invoke("executions", "resume", execution_id, "--json")

    assert resumed[0] == 0
    assert json.loads(resumed[1])["state"] == "succeeded"


def test_a_grant_waits_for_an_approval_and_says_who_to_ask(workdir: Path) -> None:
    code, out, _ = invoke(
        "run", "access-grant", "-p", "user=tom", "-p", "system=payroll", "--actor", "omar"
    )

    assert code == 6
    execution_id = out.split()[2]
    found = re.search(
        r"  next: an approver runs: gateway approvals approve (\S+) --approver NAME "
        r"--digest (sha256:[0-9a-f]{64})",
        out,
    )
    assert found is not None
    approval_id, digest = found.groups()
    approved = invoke(
        "approvals", "approve", approval_id, "--approver", "priya", "--digest", digest
    )
    assert approved[0] == 0, approved[2]

    resumed = invoke("executions", "resume", execution_id)

    assert resumed[0] == 0
    assert resumed[1].startswith(f"SUCCEEDED  access-grant {execution_id}  by omar")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        pytest.param(
            ["software-install", "-p", "title=torrent-client", "-p", "device=e-1"],
            3,
            "step install refused: forbidden by software-install-catalog-only",
            id="a step the policy refuses exits 3",
        ),
        pytest.param(
            ["kb-publish", "-p", "article=nope"],
            1,
            "step publish failed: unknown article 'nope'",
            id="a step that fails exits 1",
        ),
    ],
)
def test_a_run_that_does_not_succeed_says_why_and_exits_with_its_code(
    workdir: Path, args: list[str], code: int, message: str
) -> None:
    found, execution = run_json(*args, "--actor", "elena")

    assert found == code
    assert str(execution["error"]).startswith(message)


@pytest.mark.parametrize("user", ["sam", "nobody"])
def test_a_refused_reset_shows_no_facts_of_the_account_and_exits_3(
    workdir: Path, user: str
) -> None:
    code, execution = run_json("password-reset", "-p", f"user={user}", "--actor", "tom")
    shown = invoke("executions", "show", str(execution["id"]))
    shown_json = invoke("executions", "show", str(execution["id"]), "--json")

    assert code == 3
    assert execution["error"] == (
        f"step lookup refused: tom is not allowed password.reset on account:{user}"
    )
    assert shown[0] == shown_json[0] == 0
    everything = json.dumps(execution) + shown[1] + shown_json[1]
    for fact in ("sam@example.com", "omar", "privileged", "mfa", "not found", "no directory"):
        assert fact not in everything


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        pytest.param(
            ["password-reset", "-p", "user=-x"],
            4,
            "error: invalid parameters for workflow password-reset: user: must match",
            id="an invalid parameter exits 4",
        ),
        pytest.param(
            ["pasword-reset"],
            4,
            "error: unknown workflow 'pasword-reset'; known: access-grant, access-revoke,",
            id="an unknown workflow exits 4",
        ),
        pytest.param(
            ["password-reset", "-p", "user"],
            2,
            "expected KEY=VALUE, found 'user'",
            id="a parameter without a value is a usage error",
        ),
    ],
)
def test_a_run_that_cannot_start_exits_with_its_code(
    workdir: Path, args: list[str], code: int, message: str
) -> None:
    found, out, err = invoke("run", *args, "--actor", "elena")

    assert found == code
    assert out == ""
    assert message in err


def test_a_directory_that_is_down_queues_the_step_and_exits_5(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GW_LDAP_PASSWORD", "not-used")
    (workdir / "gateway.toml").write_text(
        '[identity]\nsources = ["ldap"]\n'
        '[identity.ldap]\nurls = ["ldap://127.0.0.1:1"]\nbind_dn = "cn=gw,dc=example,dc=com"\n'
        'bind_password_env = "GW_LDAP_PASSWORD"\nbase_dn = "dc=example,dc=com"\n'
    )

    code, execution = run_json("password-reset", "-p", "user=tom", "--actor", "elena")

    assert code == 5
    assert execution["state"] == "waiting_for_target"
    assert str(execution["status"]).startswith(
        "directory is unavailable; step lookup is queued, attempt 1 failed, next try at "
    )


def test_the_same_idempotency_key_gives_the_same_execution(workdir: Path) -> None:
    args = ("password-reset", "-p", "user=tom", "--actor", "elena", "--idempotency-key", "k1")
    _, first = run_json(*args)
    _, again = run_json(*args)
    code, _, err = invoke(
        "run", "password-reset", "-p", "user=priya", "--actor", "elena",
        "--idempotency-key", "k1",
    )  # fmt: skip

    assert again["id"] == first["id"]
    assert code == 4
    assert f"idempotency key 'k1' was used for execution {first['id']}" in err


def test_executions_are_listed_shown_cancelled_and_ticked(workdir: Path) -> None:
    _, done = run_json("password-reset", "-p", "user=tom", "--actor", "elena", "--ticket", "T-1")
    _, waiting = run_json("access-grant", "-p", "user=tom", "-p", "system=crm", "--actor", "omar")

    listed = invoke("executions", "list")
    mine = json.loads(invoke("executions", "list", "--actor", "omar", "--json")[1])
    shown = invoke("executions", "show", str(done["id"]))
    shown_json = json.loads(invoke("executions", "show", str(done["id"]), "--json")[1])
    ticked = invoke("executions", "tick")
    cancelled = invoke("executions", "cancel", str(waiting["id"]), "--by", "omar")
    cancelled_json = invoke("executions", "cancel", str(done["id"]), "--by", "omar", "--json")
    after = json.loads(invoke("executions", "show", str(waiting["id"]), "--json")[1])

    lines = listed[1].splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{waiting['id']}  pending_approval   access-grant       omar")
    assert lines[1].startswith(f"{done['id']}  succeeded          password-reset     elena")
    assert [e["id"] for e in mine] == [waiting["id"]]
    assert shown[1].startswith(f"SUCCEEDED  password-reset {done['id']}  by elena")
    assert shown_json["ticket"] == "T-1"
    assert [s["step"] for s in shown_json["steps"]] == ["lookup", "reset", "tell-user"]
    assert ticked == (0, "1 executions looked at\n", "")
    assert cancelled[0] == 0
    assert cancelled[1].startswith(f"CANCELLED  access-grant {waiting['id']}  by omar")
    assert after["state"] == "cancelled"
    assert cancelled_json[0] == 1
    assert f"execution {done['id']} is already succeeded" in cancelled_json[2]


def test_an_unknown_execution_is_named(workdir: Path) -> None:
    code, _, err = invoke("executions", "show", "e-404")

    assert code == 4
    assert err.strip() == "error: unknown execution 'e-404'"


def test_a_refusal_by_an_outside_system_is_a_failure_not_a_policy_refusal(
    tmp_path: Path,
) -> None:
    config = make_config(tmp_path)
    install_test_workflows(config)
    runtime = Runtime(config, Clock(), Ticketing())
    try:
        by_system = runtime.run("assign-then", "elena", ticket="T-1", then="lock")
        by_policy = runtime.run("software-install", "elena", title="torrent-client", device="d")
    finally:
        runtime.close()

    assert by_system.error == "step lock failed: ticketing refused: the ticket is locked"
    assert exit_code(by_system) is ExitCode.FAILED
    assert exit_code(by_policy) is ExitCode.DENIED


def test_a_change_number_for_a_workflow_not_bound_to_changes_exits_4(workdir: Path) -> None:
    code, _, err = invoke(
        "run", "password-reset", "-p", "user=tom", "--actor", "elena", "--change", "CHG0030001"
    )
    assert code == 4
    assert "workflow password-reset is not bound to change requests" in err
