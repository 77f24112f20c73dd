"""Building the configured identity sources; secrets come from the environment only."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.app import build_directory
from gateway.config import IdentityConfig
from gateway.errors import ConfigError
from gateway.identity.resolver import IdentityResolver
from gateway.identity.static import StaticDirectory

OKTA = {"base_url": "http://127.0.0.1:9", "token_env": "TEST_OKTA_TOKEN"}
LDAP = {
    "urls": ["ldap://127.0.0.1:9"],
    "bind_dn": "cn=admin,dc=example,dc=com",
    "bind_password_env": "TEST_LDAP_PASSWORD",
    "base_dn": "dc=example,dc=com",
}


def test_the_embedded_default_is_the_static_directory() -> None:
    assert isinstance(build_directory(IdentityConfig()), StaticDirectory)


def test_several_sources_are_merged_by_a_resolver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_OKTA_TOKEN", "00abc-token")
    monkeypatch.setenv("TEST_LDAP_PASSWORD", "s3cret")
    config = IdentityConfig(sources=["ldap", "okta"], authoritative="okta", ldap=LDAP, okta=OKTA)

    directory = build_directory(config)

    assert isinstance(directory, IdentityResolver)
    assert [source.name for source in directory.sources] == ["ldap", "okta"]
    assert directory.authoritative == "okta"


def test_a_missing_secret_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_OKTA_TOKEN", raising=False)

    with pytest.raises(
        ConfigError,
        match=r"identity\.okta\.token_env: environment variable TEST_OKTA_TOKEN is not set",
    ):
        build_directory(IdentityConfig(sources=["okta"], okta=OKTA))


def test_the_gateway_audits_conflicts_of_its_configured_sources(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from gateway.app import Gateway
    from gateway.config import AuditConfig, GatewayConfig, PolicyConfig

    monkeypatch.setenv("TEST_OKTA_TOKEN", "00abc-token")
    config = GatewayConfig(
        policy=PolicyConfig(dir=Path(__file__).resolve().parents[1] / "policies"),
        identity=IdentityConfig(sources=["static", "okta"], okta=OKTA),
        audit=AuditConfig(log=tmp_path / "audit.log", signing_key=tmp_path / "audit-signing.key"),
    )

    gateway = Gateway.from_config(config)

    assert isinstance(gateway.directory, IdentityResolver)
    assert gateway.directory.on_conflict == gateway.record_conflict
    gateway.close()


@pytest.mark.parametrize(
    ("channel", "table", "variable"),
    [
        ("slack_webhook", {"webhook_url_env": "TEST_HOOK"}, "TEST_HOOK"),
        ("slack_bot", {"token_env": "TEST_HOOK", "channel": "C123"}, "TEST_HOOK"),
        ("teams", {"webhook_url_env": "TEST_HOOK"}, "TEST_HOOK"),
        (
            "smtp",
            {
                "host": "127.0.0.1",
                "sender": "gw@example.com",
                "password_env": "TEST_HOOK",
                "username": "gw",
            },
            "TEST_HOOK",
        ),
        ("smtp", {"host": "127.0.0.1", "sender": "gw@example.com"}, None),
    ],
    ids=[
        "a Slack webhook",
        "a Slack bot",
        "a Teams webhook",
        "SMTP with a login",
        "SMTP without a login",
    ],
)
def test_each_notification_channel_is_built_with_its_secret_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    channel: str,
    table: dict[str, object],
    variable: str | None,
) -> None:
    from gateway.app import build_notifier
    from gateway.config import NotificationsConfig

    if variable:
        monkeypatch.setenv(variable, "https://hooks.example.com/services/T0/B0/s3cr3t")
    config = NotificationsConfig(channel=channel, outbox=tmp_path / "outbox.db", **{channel: table})  # type: ignore[arg-type]

    notifier = build_notifier(config)

    assert "s3cr3t" not in repr(notifier)
