"""``gateway stepup``: enrolment, codes and what policies then see."""

from __future__ import annotations

import json
import shutil
import urllib.parse
from pathlib import Path

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
    again = invoke("stepup", "enrol", "--user", "tom")[1]

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
