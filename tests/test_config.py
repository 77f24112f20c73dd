"""The configuration file: embedded defaults, discovery, path resolution and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import EMBEDDED_DIRECTORY, GatewayConfig, load_config
from gateway.errors import ConfigError, ExitCode


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_without_a_file_the_embedded_defaults_apply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    config = load_config()

    assert config == GatewayConfig()
    assert config.policy.dir == Path("policies")
    assert config.policy.watch_interval_seconds == 2.0
    assert config.identity.sources == ["static"]
    assert config.identity.static_file == EMBEDDED_DIRECTORY
    assert EMBEDDED_DIRECTORY.is_file()


def test_gateway_toml_in_the_working_directory_is_picked_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "gateway.toml", '[policy]\ndir = "bundle"\nwatch_interval_seconds = 0.5\n')
    monkeypatch.chdir(tmp_path)

    config = load_config()

    assert config.policy.dir == tmp_path / "bundle"
    assert config.policy.watch_interval_seconds == 0.5
    assert config.identity.static_file == EMBEDDED_DIRECTORY


def test_a_gateway_toml_folder_in_the_working_directory_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "gateway.toml").mkdir()
    monkeypatch.chdir(tmp_path)

    assert load_config() == GatewayConfig()


def test_relative_paths_are_resolved_against_the_folder_of_an_explicit_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config_dir = tmp_path / "etc"
    config_dir.mkdir()
    path = write(
        config_dir / "custom.toml",
        '[policy]\ndir = "../srv/policies"\n\n[identity]\nstatic_file = "people.yaml"\n',
    )

    config = load_config(path)

    assert config.policy.dir == config_dir / "../srv/policies"
    assert config.identity.static_file == config_dir / "people.yaml"


def test_absolute_paths_are_kept(tmp_path: Path) -> None:
    bundle = tmp_path / "srv" / "policies"
    path = write(tmp_path / "gateway.toml", f'[policy]\ndir = "{bundle.as_posix()}"\n')

    assert load_config(path).policy.dir == bundle


def test_an_empty_file_gives_the_defaults_with_the_embedded_directory(tmp_path: Path) -> None:
    config = load_config(write(tmp_path / "gateway.toml", ""))

    assert config.policy.dir == tmp_path / "policies"
    assert config.identity.static_file == EMBEDDED_DIRECTORY


def test_a_missing_explicit_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "missing.toml"

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert str(caught.value) == f"{path}: cannot read configuration: No such file or directory"
    assert caught.value.exit_code is ExitCode.INVALID_INPUT


def test_a_folder_given_as_the_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)

    assert str(caught.value) == f"{tmp_path}: cannot read configuration: Is a directory"


def test_invalid_toml_names_the_file_and_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "gateway.toml", '[policy]\ndir = "policies\n')

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert str(caught.value) == (
        f"{path}: invalid TOML: Illegal character '\\n' (at line 2, column 16)"
    )


def test_a_file_that_is_not_utf8_is_invalid_toml(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_bytes(b'[policy]\ndir = "p\xe9"\n')

    with pytest.raises(ConfigError, match=r"invalid TOML: 'utf-8' codec can't decode byte 0xe9"):
        load_config(path)


@pytest.mark.parametrize(
    ("text", "details"),
    [
        ("[polcy]\n", "{path}:1: invalid configuration: polcy: Extra inputs are not permitted"),
        (
            "[policy]\nfolder = 'x'\n",
            "{path}:2: invalid configuration: policy.folder: Extra inputs are not permitted",
        ),
        (
            "[policy]\nwatch_interval_seconds = 'often'\n",
            "{path}:2: invalid configuration: policy.watch_interval_seconds: Input should be a "
            "valid number, unable to parse string as a number",
        ),
        (
            "# the policy\n\n[policy]\nwatch_interval_seconds = 0\n",
            "{path}:4: invalid configuration: policy.watch_interval_seconds: Input should be "
            "greater than 0",
        ),
        (
            "[identity]\nsources = ['ad']\n",
            "{path}:2: invalid configuration: identity.sources.0: Input should be 'static', "
            "'ldap' or 'okta'",
        ),
        (
            "[identity]\nsources = ['ad']\nstatic_file = 3\n",
            "{path}:2: invalid configuration: identity.sources.0: Input should be 'static', "
            "'ldap' or 'okta'; {path}:3: identity.static_file: Input is not a valid path for "
            "<class 'pathlib.Path'>",
        ),
        (
            "[identity]\nsources = [\n  'static',\n]\nttl_seconds = -1\n",
            "{path}:5: invalid configuration: identity.ttl_seconds: Input should be greater "
            "than or equal to 0",
        ),
    ],
    ids=[
        "a misspelt section is named",
        "an unknown key is named with its section",
        "a value of the wrong type is named",
        "a watch interval of zero is refused",
        "an unsupported identity source is refused",
        "every invalid field is named with its line",
        "a line after a multi-line array is counted",
    ],
)
def test_an_invalid_setting_is_a_config_error_naming_the_file_line_and_field(
    tmp_path: Path, text: str, details: str
) -> None:
    path = write(tmp_path / "gateway.toml", text)

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert str(caught.value) == details.format(path=path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[identity]\nsources = ['static', 'static']\n",
            "identity: Value error, sources must not repeat, found ['static', 'static']",
        ),
        (
            "[identity]\nauthoritative = 'okta'\n",
            "identity: Value error, authoritative source 'okta' is not in sources",
        ),
        (
            "[identity]\nsources = ['ldap']\n",
            "identity: Value error, source 'ldap' needs an [identity.ldap] table",
        ),
        (
            "[identity]\nsources = ['okta']\n[identity.okta]\nbase_url = 'https://x.okta.com'\n"
            "token = 'abc'\n",
            "gateway.toml:5: invalid configuration: identity.okta.token: Value error, secrets "
            "never go in the configuration file; put it in an environment variable and name "
            "it in token_env",
        ),
    ],
    ids=[
        "a source listed twice",
        "an authoritative source that is not used",
        "a source without its settings",
        "a secret written into the file",
    ],
)
def test_identity_sources_are_checked(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(text)

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert message in str(caught.value)
    assert "abc" not in str(caught.value)


@pytest.mark.parametrize("value", ["false", "true"])
def test_the_removed_audit_switch_is_refused_naming_the_unsafe_one(
    tmp_path: Path, value: str
) -> None:
    path = write(tmp_path / "gateway.toml", f"[audit]\nenabled = {value}\n")

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert str(caught.value) == (
        f"{path}:1: invalid configuration: audit: Value error, audit.enabled is no longer a "
        "setting; to run without an audit log (unsafe: nothing is audited) set "
        "audit.unsafe_no_audit = true"
    )
    assert caught.value.exit_code == ExitCode.INVALID_INPUT


def test_auditing_is_on_unless_turned_off_by_its_unsafe_name(tmp_path: Path) -> None:
    on = load_config(write(tmp_path / "on.toml", ""))
    off = load_config(write(tmp_path / "off.toml", "[audit]\nunsafe_no_audit = true\n"))

    assert (on.audit.unsafe_no_audit, on.audit.enabled) == (False, True)
    assert (off.audit.unsafe_no_audit, off.audit.enabled) == (True, False)


@pytest.mark.parametrize(
    "line", ['token_issuer = "https://idp.example.com"', 'jwks_url = "https://idp.example.com/k"']
)
def test_an_outside_token_issuer_needs_both_its_name_and_its_keys(
    tmp_path: Path, line: str
) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(f"[api]\n{line}\n")

    with pytest.raises(ConfigError, match="token_issuer and jwks_url go together"):
        load_config(path)
