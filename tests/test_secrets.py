"""Secrets of connector settings: given directly by Python callers, or named in the file and
read from the environment when the connector is built; never shown in an error."""

from __future__ import annotations

import pytest
from pydantic import Field, SecretStr, ValidationError

from gateway.errors import ConfigError
from gateway.identity.okta_settings import OktaSettings
from gateway.notify.settings import SmtpSettings
from gateway.secrets import FILE_CONTEXT, EnvSecret, EnvSecrets

URL = "https://example.okta.com"


class Vault(EnvSecrets):
    """Settings with one required and one optional secret."""

    key: EnvSecret = None
    key_env: str | None = None
    pin: EnvSecret = None
    pin_env: str | None = None
    label: str = Field(default="vault", min_length=1)
    required_secrets = ("key",)


def test_python_callers_may_give_a_secret_directly() -> None:
    settings = OktaSettings(base_url=URL, token=SecretStr("00-token"))

    assert settings.secret("token").get_secret_value() == "00-token"
    assert settings.with_secrets("identity.okta") is settings
    assert "00-token" not in repr(settings)


def test_a_named_secret_is_read_from_its_variable_when_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VAULT_KEY", "k-1")
    named = Vault.model_validate({"key_env": "VAULT_KEY"}, context=FILE_CONTEXT)

    settings = named.with_secrets("vault")

    assert named.key is None
    assert settings.secret("key").get_secret_value() == "k-1"
    assert (settings.pin, settings.key_env, settings.label) == (None, "VAULT_KEY", "vault")


@pytest.mark.parametrize("value", [None, ""], ids=["not set", "empty"])
def test_an_unset_variable_is_named_with_its_setting(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("VAULT_PIN", raising=False)
    else:
        monkeypatch.setenv("VAULT_PIN", value)
    settings = Vault(key=SecretStr("k"), pin_env="VAULT_PIN")

    with pytest.raises(ConfigError) as caught:
        settings.with_secrets("tools.vault")

    assert str(caught.value) == "tools.vault.pin_env: environment variable VAULT_PIN is not set"


def test_a_secret_the_settings_refuse_is_named_but_never_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OKTA_TOKEN", "two words")
    settings = OktaSettings(base_url=URL, token_env="OKTA_TOKEN")

    with pytest.raises(ConfigError) as caught:
        settings.with_secrets("identity.okta")

    assert str(caught.value) == (
        "invalid identity.okta settings: identity.okta.token: Value error, the API token must "
        "not contain spaces or control characters"
    )
    assert "two words" not in str(caught.value)


def test_a_secret_only_named_is_not_there_until_read() -> None:
    settings = Vault(key_env="VAULT_KEY")

    with pytest.raises(ConfigError) as caught:
        settings.secret("key")

    assert str(caught.value) == "key: not read from the environment variable named in key_env"


def test_a_required_secret_must_be_given_or_named() -> None:
    with pytest.raises(ValidationError, match="key_env: name the environment variable holding key"):
        Vault()


def test_a_secret_in_the_configuration_file_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        SmtpSettings.model_validate(
            {"host": "h", "sender": "s@example.com", "password": "pw-in-file"},
            context=FILE_CONTEXT,
        )

    [error] = caught.value.errors(include_url=False)
    assert (error["loc"], error["msg"]) == (
        ("password",),
        "Value error, secrets never go in the configuration file; put it in an environment "
        "variable and name it in password_env",
    )


def test_an_optional_secret_may_be_left_out() -> None:
    settings = SmtpSettings(host="h", sender="s@example.com")

    assert settings.with_secrets("notifications.smtp") is settings
    assert settings.password is None
