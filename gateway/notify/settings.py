"""Settings of the notification channels (``[notifications.<channel>]``), in a module that
imports pydantic only, so that loading the configuration does not load the channels.

Each channel's secret (webhook URL, bot token, SMTP password) is read from the environment
variable its ``*_env`` setting names when the channel is built (``gateway.secrets``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from gateway.secrets import EnvSecret, EnvSecrets

__all__ = ["SlackBotSettings", "SlackWebhookSettings", "SmtpSettings", "TeamsSettings"]


class SlackWebhookSettings(EnvSecrets):
    """An incoming webhook; the URL (``https://hooks.slack.com/services/...``) is a secret."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    required_secrets = ("webhook_url",)

    webhook_url: EnvSecret = None
    webhook_url_env: str | None = Field(default=None, min_length=1)
    timeout_seconds: float = Field(default=10.0, gt=0)


class SlackBotSettings(EnvSecrets):
    """A bot token (``xoxb-...``) calling ``chat.postMessage``."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    required_secrets = ("token",)

    token: EnvSecret = None
    token_env: str | None = Field(default=None, min_length=1)
    channel: str | None = None
    api_url: str = "https://slack.com/api"
    timeout_seconds: float = Field(default=10.0, gt=0)


class TeamsSettings(EnvSecrets):
    """A Teams incoming webhook; ``card`` chooses the payload shape."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    required_secrets = ("webhook_url",)

    webhook_url: EnvSecret = None
    webhook_url_env: str | None = Field(default=None, min_length=1)
    card: Literal["adaptive", "message"] = "adaptive"
    timeout_seconds: float = Field(default=10.0, gt=0)


class SmtpSettings(EnvSecrets):
    """Where and how to send e-mail; the password is optional (no login without
    ``username``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str
    port: int = Field(default=587, ge=1, le=65535)
    sender: str
    default_recipients: tuple[str, ...] = ()
    starttls: bool = True
    username: str | None = None
    password: EnvSecret = None
    password_env: str | None = Field(default=None, min_length=1)
    timeout_seconds: float = Field(default=10.0, gt=0)
    subject_prefix: str = "[IT gateway] "
