"""``gateway callers``: keys are printed once and listed without secrets; tokens name a
directory user."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jwt
import pytest
from click.testing import CliRunner

from gateway.audit.log import read_lines
from gateway.audit.records import AuditRecord, parse_record
from gateway.callers.api_keys import ApiKeyStore
from gateway.callers.scopes import PERSON_DEFAULT_SCOPES
from gateway.cli import cli

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="gateway")
    return result.exit_code, result.stdout, result.stderr


def test_a_key_is_printed_once_and_works(workdir: Path) -> None:
    code, out, err = invoke(
        "callers", "api-key", "create", "--name", "ci-bot",
        "--scope", "decisions:write", "--scope", "audit:read",
    )  # fmt: skip

    assert code == 0, err
    key = out.strip()
    assert key.startswith("gwk_")
    assert "shown only now" in err
    store = ApiKeyStore(workdir / "var" / "api-keys.db")
    assert store.authenticate(key).scopes == {"decisions:write", "audit:read"}
    store.close()
    listed = invoke("callers", "api-key", "list")[1]
    assert "ci-bot" in listed
    assert "active" in listed
    assert key not in listed
    assert key.rsplit("_", 1)[1] not in listed


def test_json_output_shows_the_key_only_when_it_is_made(workdir: Path) -> None:
    made = json.loads(
        invoke("callers", "api-key", "create", "--name", "nightly", "--scope",
               "audit:read", "--expires-days", "30", "--json")[1]
    )  # fmt: skip
    listed = json.loads(invoke("callers", "api-key", "list", "--json")[1])

    assert made["key"].startswith(f"gwk_{made['id']}_")
    assert made["expires_at"] is not None
    assert listed == [{k: v for k, v in made.items() if k != "key"}]


def test_a_revoked_key_stops_working(workdir: Path) -> None:
    key = invoke("callers", "api-key", "create", "--name", "ci-bot", "--scope", "audit:read")[1]

    key_id = key.split("_")[1]
    code, out, _ = invoke("callers", "api-key", "revoke", "ci-bot")
    again = json.loads(invoke("callers", "api-key", "revoke", key_id, "--json")[1])

    assert code == 0
    assert out == f"revoked ci-bot ({key_id})\n"
    assert again["state"] == "revoked"
    listed = invoke("callers", "api-key", "list")[1]
    assert "revoked" in listed
    store = ApiKeyStore(workdir / "var" / "api-keys.db")
    with pytest.raises(Exception, match="is revoked"):
        store.authenticate(key.strip())
    store.close()


def test_an_empty_list_says_so(workdir: Path) -> None:
    assert invoke("callers", "api-key", "list")[1] == "no API keys\n"


def test_an_expiring_key_shows_its_expiry_in_the_list(workdir: Path) -> None:
    invoke(
        "callers", "api-key", "create", "--name", "nightly", "--scope", "audit:read",
        "--expires-days", "7",
    )  # fmt: skip

    assert ", expires 20" in invoke("callers", "api-key", "list")[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "ci-bot", "--scope", "approvals:write"], "is for people only"),
        (["--name", "CI BOT", "--scope", "audit:read"], "API key name must be"),
    ],
    ids=["a person-only scope", "a bad name"],
)
def test_refused_keys_exit_4_saying_why(workdir: Path, args: list[str], message: str) -> None:
    code, _, err = invoke("callers", "api-key", "create", *args)

    assert code == 4
    assert message in err


def test_revoking_an_unknown_key_exits_4(workdir: Path) -> None:
    code, _, err = invoke("callers", "api-key", "revoke", "nobody")

    assert code == 4
    assert "no API key is named or numbered 'nobody'" in err


def test_a_token_for_a_directory_user_verifies_with_the_served_keys(workdir: Path) -> None:
    code, out, err = invoke("callers", "token", "--user", "elena", "--ttl", "600")

    assert code == 0, err
    token = out.strip()
    assert "token for elena, expires " in err
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["sub"], claims["exp"] - claims["iat"]) == ("elena", 600)
    assert claims["scope"] == " ".join(sorted(PERSON_DEFAULT_SCOPES))
    assert (workdir / "keys" / "api-tokens.key").stat().st_mode & 0o777 == 0o600


def test_a_token_json_names_its_scopes(workdir: Path) -> None:
    out = invoke("callers", "token", "--user", "omar", "--scope", "audit:read", "--json")[1]

    result = json.loads(out)
    assert (result["user"], result["scopes"]) == ("omar", ["audit:read"])
    assert result["token"].count(".") == 2


def test_no_token_for_someone_the_directory_does_not_know(workdir: Path) -> None:
    code, out, err = invoke("callers", "token", "--user", "mallory")

    assert code == 4
    assert out == ""
    assert "unknown user 'mallory'" in err


def test_no_embedded_tokens_when_an_identity_provider_issues_them(workdir: Path) -> None:
    (workdir / "gateway.toml").write_text(
        '[api]\ntoken_issuer = "https://idp.example.com"\n'
        'jwks_url = "https://idp.example.com/keys"\n'
    )

    code, _, err = invoke("callers", "token", "--user", "elena")

    assert code == 4
    assert "tokens come from https://idp.example.com" in err


def test_the_scopes_are_listed(workdir: Path) -> None:
    out = invoke("callers", "scopes")[1]

    assert out.splitlines()[0].startswith("decisions:write")
    assert "people only" in out


@pytest.mark.parametrize(
    "command",
    [["callers"], ["callers", "api-key"], ["callers", "api-key", "create"],
     ["callers", "api-key", "list"], ["callers", "api-key", "revoke"], ["callers", "token"],
     ["callers", "scopes"]],
    ids=lambda command: " ".join(command),
)  # fmt: skip
def test_every_command_has_help(command: list[str]) -> None:
    code, out, _ = invoke(*command, "--help")

    assert code == 0
    assert "Usage: gateway" in out


# -- the person's standing and the audit trail of the gateway's own administration ------


def audited(workdir: Path, kind: str) -> list[AuditRecord]:
    log = workdir / "var" / "audit.log"
    lines = read_lines(log) if log.exists() else []
    return [r for r in (parse_record(line, i) for i, line in enumerate(lines)) if r.type == kind]


def audit_text(workdir: Path) -> str:
    log = workdir / "var" / "audit.log"
    return log.read_text(encoding="utf-8") if log.exists() else ""


def break_the_audit_log(workdir: Path) -> None:
    log = workdir / "var" / "audit.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_bytes(b"not a record\n")  # the log's end can no longer be read


def test_no_token_for_a_disabled_person_exits_3_saying_why(workdir: Path) -> None:
    code, out, err = invoke("callers", "token", "--user", "lena")

    assert code == 3
    assert out == ""
    assert "lena is disabled in the directory" in err
    assert audited(workdir, "callers.token_issued") == []


def test_a_token_issued_is_audited_with_its_id_by_whoever_issued_it(workdir: Path) -> None:
    code, out, err = invoke("callers", "token", "--user", "elena", "--by", "omar", "--json")

    assert code == 0, err
    issued = json.loads(out)
    claims = jwt.decode(issued["token"], options={"verify_signature": False})
    (record,) = audited(workdir, "callers.token_issued")
    assert (record.actor, record.resource) == ("omar", "user:elena")
    assert record.payload["jti"] == claims["jti"]
    assert record.payload["subject"] == "elena"
    assert record.payload["scopes"] == issued["scopes"]
    assert record.payload["expires_at"] == issued["expires_at"]
    assert issued["token"] not in audit_text(workdir)
    assert issued["token"].rsplit(".", 1)[1] not in audit_text(workdir)


def test_without_by_the_record_names_the_os_user(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "alice")

    invoke("callers", "api-key", "create", "--name", "ci-bot", "--scope", "audit:read")

    (record,) = audited(workdir, "callers.api_key_created")
    assert record.actor == "os:alice"


def test_without_a_login_name_the_record_names_the_os_user_id(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_login() -> str:
        raise OSError("no login name")

    monkeypatch.setattr("getpass.getuser", no_login)
    monkeypatch.setattr("os.getuid", lambda: 1234)

    invoke("callers", "api-key", "create", "--name", "ci-bot", "--scope", "audit:read")

    (record,) = audited(workdir, "callers.api_key_created")
    assert record.actor == "os:uid-1234"


def test_a_key_made_and_revoked_is_audited_without_its_secret(workdir: Path) -> None:
    made = json.loads(
        invoke("callers", "api-key", "create", "--name", "ci-bot", "--scope", "audit:read",
               "--expires-days", "7", "--by", "sam", "--json")[1]
    )  # fmt: skip
    invoke("callers", "api-key", "revoke", "ci-bot", "--by", "grace")
    invoke("callers", "api-key", "revoke", made["id"], "--by", "grace")  # already revoked

    (created,) = audited(workdir, "callers.api_key_created")
    (revoked,) = audited(workdir, "callers.api_key_revoked")
    assert (created.actor, created.resource) == ("sam", f"api_key:{made['id']}")
    assert created.payload == {
        "key_id": made["id"],
        "name": "ci-bot",
        "scopes": ["audit:read"],
        "expires_at": made["expires_at"],
    }
    assert (revoked.actor, revoked.resource) == ("grace", f"api_key:{made['id']}")
    assert revoked.payload == {"key_id": made["id"], "name": "ci-bot"}
    assert made["key"].rsplit("_", 1)[1] not in audit_text(workdir)


def test_with_the_audit_log_unwritable_no_key_is_made(workdir: Path) -> None:
    break_the_audit_log(workdir)

    code, out, err = invoke("callers", "api-key", "create", "--name", "ci-bot", "--scope",
                            "audit:read")  # fmt: skip

    assert code == 5
    assert out == ""
    assert "last record is unreadable" in err
    assert invoke("callers", "api-key", "list")[1] == "no API keys\n"


def test_with_the_audit_log_unwritable_no_key_is_revoked(workdir: Path) -> None:
    invoke("callers", "api-key", "create", "--name", "ci-bot", "--scope", "audit:read")
    break_the_audit_log(workdir)

    code, _, err = invoke("callers", "api-key", "revoke", "ci-bot")

    assert code == 5
    assert "last record is unreadable" in err
    assert "active" in invoke("callers", "api-key", "list")[1]


def test_with_the_audit_log_unwritable_no_token_is_shown(workdir: Path) -> None:
    break_the_audit_log(workdir)

    code, out, err = invoke("callers", "token", "--user", "elena")

    assert code == 5
    assert out == ""
    assert "last record is unreadable" in err


@pytest.mark.parametrize("name", ["", "two\nlines", "x" * 129], ids=["empty", "a newline", "long"])
def test_a_bad_by_name_is_refused(workdir: Path, name: str) -> None:
    code, out, err = invoke("callers", "token", "--user", "elena", "--by", name)

    assert code == 4
    assert out == ""
    assert "--by must be 1 to 128 printable characters" in err
