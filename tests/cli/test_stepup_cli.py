"""``gateway stepup``: enrolment, codes and what policies then see."""

from __future__ import annotations

import json
import shutil
import urllib.parse
from pathlib import Path
from typing import Any

import pyotp
import pytest
from click.testing import CliRunner

from gateway.cli import cli

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "gateway.toml").write_text("[stepup]\nmax_failures = 2\n")
    return tmp_path


def invoke(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="gateway", input=stdin)
    return result.exit_code, result.stdout, result.stderr


def enrol(user: str) -> tuple[pyotp.TOTP, list[str]]:
    code, out, err = invoke("stepup", "enrol", "--user", user, "--json")
    assert code == 0, err
    result = json.loads(out)
    query = urllib.parse.parse_qs(urllib.parse.urlparse(result["provisioning_uri"]).query)
    assert query["issuer"] == ["IT Support Gateway"]
    return pyotp.TOTP(query["secret"][0]), result["recovery_codes"]


def test_an_enrolled_user_steps_up_once_per_code(workdir: Path) -> None:
    totp, _ = enrol("elena")
    code = totp.now()

    first = invoke("stepup", "verify", "--user", "elena", "--code", code)
    again = invoke("stepup", "verify", "--user", "elena", "--code", code)

    assert first[:2] == (0, "step-up accepted for elena\n")
    assert again[0] == 3
    assert "already used" in again[2]
    assert code not in again[2]


def test_the_code_is_prompted_without_echo_when_not_given(workdir: Path) -> None:
    totp, _ = enrol("elena")

    code, out, _ = invoke("stepup", "verify", "--user", "elena", stdin=totp.now() + "\n")

    assert code == 0
    assert "step-up accepted" in out


def test_a_recovery_code_works_once(workdir: Path) -> None:
    _, recovery = enrol("elena")

    assert (
        invoke("stepup", "verify", "--user", "elena", "--recovery", "--code", recovery[0])[0] == 0
    )
    assert (
        invoke("stepup", "verify", "--user", "elena", "--recovery", "--code", recovery[0])[0] == 3
    )


def test_wrong_codes_lock_step_up_out(workdir: Path) -> None:
    totp, _ = enrol("elena")
    wrong = f"{(int(totp.now()) + 500_000) % 1_000_000:06d}"

    for _ in range(2):
        assert invoke("stepup", "verify", "--user", "elena", "--code", wrong)[0] == 3
    locked = invoke("stepup", "verify", "--user", "elena", "--code", totp.now())
    status = json.loads(invoke("stepup", "status", "--user", "elena", "--json")[1])

    assert locked[0] == 3
    assert status["enrolled"] is True
    assert status["locked_until"] is not None


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--user", "elena", "--code", "12ab56"], 4, "exactly 6 ASCII digits"),
        (["--user", "nobody", "--code", "123456"], 4, "not enrolled"),
    ],
    ids=["a malformed code", "a user who never enrolled"],
)
def test_bad_codes_are_refused_clearly(
    workdir: Path, args: list[str], code: int, message: str
) -> None:
    enrol("elena")

    result = invoke("stepup", "verify", *args)

    assert result[0] == code
    assert message in result[2]


def test_status_of_a_user_before_and_after_a_step_up(workdir: Path) -> None:
    code, out, _ = invoke("stepup", "status", "--user", "elena")
    assert code == 0
    assert "enrolled: False" in out
    assert "last_step_up: -" in out

    totp, _ = enrol("elena")
    invoke("stepup", "verify", "--user", "elena", "--code", totp.now())

    assert "last_step_up: -" not in invoke("stepup", "status", "--user", "elena")[1]


def test_enrolment_text_shows_the_uri_and_codes_once(workdir: Path) -> None:
    code, out, _ = invoke("stepup", "enrol", "--user", "tom")
    again = invoke("stepup", "enrol", "--user", "tom", "--by", "elena")[1]

    assert code == 0
    assert "add to an authenticator app: otpauth://totp/" in out
    assert out.count("-") >= 30, "ten recovery codes are listed"
    assert "earlier enrolment replaced" in again


def test_policies_see_how_long_ago_the_actor_stepped_up(workdir: Path) -> None:
    totp, _ = enrol("elena")
    invoke("stepup", "verify", "--user", "elena", "--code", totp.now())

    code, out, _ = invoke(
        "authorize",
        "--actor",
        "elena",
        "--action",
        "kb.publish",
        "--resource",
        "article:x",
        "--json",
    )

    context = json.loads(out)["request"]["context"]
    assert code == 0
    assert 0 <= context["step_up_age_seconds"] < 60


def test_a_caller_cannot_claim_a_step_up(workdir: Path) -> None:
    code, out, _ = invoke(
        "authorize", "--actor", "elena", "--action", "kb.publish", "--resource", "article:x",
        "--context", "step_up_age_seconds=1", "--json",
    )  # fmt: skip

    decision = json.loads(out)
    assert code == 3
    assert decision["reasons"][0]["message"] == (
        "context step_up_age_seconds is set by the gateway, not by the caller"
    )


def test_every_stepup_command_has_help() -> None:
    for command in ("enrol", "verify", "status"):
        code, out, _ = invoke("stepup", command, "--help")
        assert code == 0
        assert f"Usage: gateway stepup {command}" in out


# -- enrolment and reset are decided by policy and audited first ------------------------


def audit_records(workdir: Path) -> list[dict[str, Any]]:
    log = workdir / "var" / "audit.log"
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def audited(workdir: Path, kind: str) -> list[dict[str, Any]]:
    return [record for record in audit_records(workdir) if record["type"] == kind]


def test_a_person_enrols_themselves_and_it_is_audited_without_secrets(workdir: Path) -> None:
    code, out, err = invoke("stepup", "enrol", "--user", "tom", "--json")

    assert code == 0, err
    shown = json.loads(out)
    (decision,) = [r for r in audited(workdir, "decision") if r["action"] == "stepup.enrol"]
    (record,) = audited(workdir, "stepup.enrolled")
    assert decision["payload"]["decision"] == "allow"
    assert (record["actor"], record["resource"]) == ("tom", "account:tom")
    assert record["decision_id"] == decision["decision_id"]
    assert record["payload"]["user"] == "tom"
    assert record["payload"]["replaced"] is False
    log = (workdir / "var" / "audit.log").read_text()
    seed = pyotp.parse_uri(shown["provisioning_uri"]).secret
    for secret in (seed, *shown["recovery_codes"]):
        assert secret not in log


def test_a_person_cannot_replace_their_own_factor_and_the_old_one_stays(workdir: Path) -> None:
    totp, _ = enrol("tom")

    code, _, err = invoke("stepup", "enrol", "--user", "tom")

    assert code == 3
    assert "stepup.reset on account:tom denied" in err
    assert audited(workdir, "stepup.reset") == []
    assert invoke("stepup", "verify", "--user", "tom", "--code", totp.now())[0] == 0


def test_the_helpdesk_resets_a_persons_factor_and_the_reset_is_audited(workdir: Path) -> None:
    old, _ = enrol("tom")

    code, out, err = invoke("stepup", "enrol", "--user", "tom", "--by", "elena", "--json")

    assert code == 0, err
    new = pyotp.TOTP(pyotp.parse_uri(json.loads(out)["provisioning_uri"]).secret)
    (record,) = audited(workdir, "stepup.reset")
    assert (record["actor"], record["resource"]) == ("elena", "account:tom")
    assert record["payload"]["user"] == "tom"
    assert record["payload"]["replaced"] is True
    assert record["payload"]["recovery_invalidated"] == 10
    if old.now() != new.now():
        assert invoke("stepup", "verify", "--user", "tom", "--code", old.now())[0] == 3
    assert invoke("stepup", "verify", "--user", "tom", "--code", new.now())[0] == 0


@pytest.mark.parametrize(
    ("user", "by", "enrolled", "message"),
    [
        ("elena", "tom", False, "stepup.enrol on account:elena denied"),
        ("sam", "elena", True, "stepup.reset on account:sam denied"),
        ("elena", "elena", True, "stepup.reset on account:elena denied"),
        ("lena", "lena", False, "stepup.enrol on account:lena denied"),
        ("tom", "mallory", True, "stepup.reset on account:tom denied"),
    ],
    ids=[
        "an employee cannot enrol someone else",
        "the helpdesk cannot reset a privileged person's factor",
        "the helpdesk cannot reset its own factor",
        "a disabled person cannot enrol",
        "an unknown person cannot reset anyone's factor",
    ],
)
def test_an_enrolment_the_policy_refuses_changes_nothing(
    workdir: Path, user: str, by: str, enrolled: bool, message: str
) -> None:
    if enrolled:
        enrol(user)
    before = (workdir / "var" / "stepup.db").read_bytes() if enrolled else None

    code, out, err = invoke("stepup", "enrol", "--user", user, "--by", by, "--json")

    assert code == 3
    assert message in err
    assert json.loads(out)["error"]["kind"] == "denied"  # the refusal only: no URI, no codes
    assert "otpauth" not in out
    assert audited(workdir, "stepup.reset") == []
    if before is None:
        assert (
            json.loads(invoke("stepup", "status", "--user", user, "--json")[1])["enrolled"] is False
        )


def test_the_security_team_resets_a_privileged_persons_factor(workdir: Path) -> None:
    enrol("sam")

    code, _, err = invoke("stepup", "enrol", "--user", "sam", "--by", "grace")

    assert code == 0, err
    (record,) = audited(workdir, "stepup.reset")
    assert (record["actor"], record["resource"]) == ("grace", "account:sam")


def test_a_reset_that_cannot_be_audited_fails_and_the_old_seed_stays(workdir: Path) -> None:
    totp, _ = enrol("tom")
    (workdir / "not-a-folder").write_text("")
    broken = workdir / "broken.toml"
    broken.write_text('[audit]\nlog = "not-a-folder/audit.log"\n')

    code, out, err = invoke(
        "--config", str(broken), "stepup", "enrol", "--user", "tom", "--by", "elena"
    )

    assert code == 5
    assert "not-a-folder" in err
    assert "otpauth" not in out
    assert invoke("stepup", "verify", "--user", "tom", "--code", totp.now())[0] == 0


def test_step_ups_made_before_a_reset_no_longer_count(workdir: Path) -> None:
    totp, _ = enrol("tom")
    assert invoke("stepup", "verify", "--user", "tom", "--code", totp.now())[0] == 0

    assert invoke("stepup", "enrol", "--user", "tom", "--by", "elena")[0] == 0

    status = json.loads(invoke("stepup", "status", "--user", "tom", "--json")[1])
    assert status["last_step_up"] is None
    (record,) = audited(workdir, "stepup.reset")
    assert record["payload"]["step_ups_revoked"] == 1


# -- a step-up bound to a request is used by one execution ------------------------------


@pytest.fixture
def workflows(workdir: Path) -> Path:
    shutil.copytree(REPO / "automations" / "workflows", workdir / "automations" / "workflows")
    return workdir


def start_own_reset() -> tuple[int, str, str]:
    """``gateway run password-reset`` of tom's password by tom: exit code, id, digest."""
    code, out, err = invoke("run", "password-reset", "-p", "user=tom", "--actor", "tom", "--json")
    assert out, err
    shown = json.loads(out)
    return code, shown["id"], str((shown.get("waiting") or {}).get("digest"))


def test_a_step_up_bound_to_a_reset_lets_that_one_run_go_on_and_no_other(
    workflows: Path,
) -> None:
    totp, _ = enrol("tom")
    code, first, digest = start_own_reset()
    assert code == 6
    verified = invoke(
        "stepup", "verify", "--user", "tom", "--code", totp.now(), "--bound-to", digest
    )
    assert verified[0] == 0, verified[2]
    resumed = invoke("executions", "resume", first, "--json")
    assert (resumed[0], json.loads(resumed[1])["state"]) == (0, "succeeded")

    again, second, same_digest = start_own_reset()

    assert again == 6, "the step-up was used by the first run"
    assert same_digest == digest, "the same request"
    shown = json.loads(invoke("executions", "show", second, "--json")[1])
    assert shown["state"] == "awaiting_step_up"
    resets = [r for r in audited(workflows, "action.started") if r["payload"]["step"] == "reset"]
    assert [r["payload"]["execution"] for r in resets] == [first]


def test_a_bound_step_up_made_before_a_reset_no_longer_lets_a_waiting_run_go_on(
    workflows: Path,
) -> None:
    totp, _ = enrol("tom")
    code, execution, digest = start_own_reset()
    assert code == 6
    assert (
        invoke("stepup", "verify", "--user", "tom", "--code", totp.now(), "--bound-to", digest)[0]
        == 0
    )

    assert invoke("stepup", "enrol", "--user", "tom", "--by", "elena")[0] == 0
    resumed = invoke("executions", "resume", execution, "--json")

    assert (resumed[0], json.loads(resumed[1])["state"]) == (6, "awaiting_step_up")
