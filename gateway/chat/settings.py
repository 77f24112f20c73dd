"""Settings of the chat entries (``[chat.slack]``, ``[chat.teams]``), pydantic only.

Slack's signing secret and bot token are read from the environment variables their
``*_env`` settings name (``gateway.secrets``); they never go in the file.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gateway.secrets import EnvSecret, EnvSecrets

__all__ = ["ChatSettings", "SlackChatSettings", "TeamsChatSettings"]

BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
BOT_FRAMEWORK_JWKS = "https://login.botframework.com/v1/.well-known/keys"
_OBJECT_ID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")


class SlackChatSettings(EnvSecrets):
    """A Slack app: its signing secret verifies every request; its bot token reads
    ``users.info`` (the verified e-mail of a user), updates messages (``chat.update``) and
    opens modals (``views.open``).  ``users`` maps Slack user ids to directory people and
    is asked first; ``email_lookup`` maps the others by their verified e-mail."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    required_secrets = ("signing_secret",)

    signing_secret: EnvSecret = None
    signing_secret_env: str | None = Field(default=None, min_length=1)
    token: EnvSecret = None
    token_env: str | None = Field(default=None, min_length=1)
    api_url: str = "https://slack.com/api"
    users: dict[str, str] = Field(default_factory=dict)
    email_lookup: bool = True
    command: str = Field(default="/it", pattern=r"^/[a-z0-9_-]{1,31}$")
    max_age_seconds: int = Field(default=300, ge=1, le=300)
    timeout_seconds: float = Field(default=5.0, gt=0)


class TeamsChatSettings(BaseModel):
    """A Teams bot: activities carry a Bot Framework token whose issuer, audience (the
    bot's ``app_id``) and signing key (from ``jwks_url``, kept ``jwks_cache_seconds``) are
    checked.  ``users`` maps AAD (Microsoft Entra) object ids to directory people: an
    activity names its sender by ``from.aadObjectId`` (with the Teams user id and display
    name, never the UPN or e-mail), so a key that is not an object id is refused; case is
    ignored.  A sender not in ``users`` is refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    app_id: str = Field(min_length=1)
    jwks_url: str = BOT_FRAMEWORK_JWKS
    issuer: str = BOT_FRAMEWORK_ISSUER
    users: dict[str, str] = Field(default_factory=dict)
    jwks_cache_seconds: int = Field(default=3600, ge=0)
    leeway_seconds: int = Field(default=300, ge=0, le=300)
    timeout_seconds: float = Field(default=5.0, gt=0)

    @field_validator("users")
    @classmethod
    def _object_ids(cls, users: dict[str, str]) -> dict[str, str]:
        mapped: dict[str, str] = {}
        for key, person in users.items():
            if not _OBJECT_ID.fullmatch(key):
                raise ValueError(
                    f"{key[:64]!r} is not an AAD object id: Teams names the sender by "
                    "from.aadObjectId (a GUID), not by UPN, e-mail or Teams user id"
                )
            mapped[key.lower()] = person
        return mapped


class ChatSettings(BaseModel):
    """Which chat platforms the gateway answers; neither by default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    slack: SlackChatSettings | None = None
    teams: TeamsChatSettings | None = None
