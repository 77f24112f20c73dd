"""``gateway callers``: keys are printed once and listed without secrets; tokens name a
directory user."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jwt
import pytest
from click.testing import CliRunner

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
