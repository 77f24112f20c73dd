"""Settings of the ServiceNow and Jira connectors, from ``[tickets.servicenow]`` and
``[tickets.jira]``.  Secrets (the ServiceNow password, the Jira API token, the Jira
webhook secret) come from the environment variables their ``*_env`` keys name; a secret
written in the file itself is refused.
"""

from __future__ import annotations

import os
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from gateway.errors import ConfigError

__all__ = ["JiraSettings", "ServiceNowSettings", "load_settings"]

Settings = TypeVar("Settings", bound=BaseModel)


class ServiceNowSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    instance_url: str = Field(pattern=r"^https?://[^\s/]+(:\d+)?/?$")
    username: str = Field(min_length=1)
    password: SecretStr
    table: str = Field(default="incident", pattern=r"^[a-z][a-z0-9_]{0,79}$")
    query: str = "active=true"  # an encoded query; the watermark clause is added to it
    page_size: int = Field(default=100, ge=1, le=10_000)
    max_records: int = Field(default=1000, ge=1)  # per polling round
    timeout_seconds: float = Field(default=10.0, gt=0)
    max_retries: int = Field(default=3, ge=0, le=10)
    max_wait_seconds: float = Field(default=30.0, ge=0)
    resolved_state: str = "6"
    close_code: str = "Solution provided"
    verify_tls: bool = True


class JiraSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = Field(pattern=r"^https?://[^\s/]+(:\d+)?(/[^\s]*)?$")
    email: str = Field(min_length=1)  # the account the API token belongs to
    api_token: SecretStr
    webhook_secret: SecretStr | None = None
    jql: str = "project = IT"
    page_size: int = Field(default=50, ge=1, le=100)
    max_records: int = Field(default=1000, ge=1)
    timeout_seconds: float = Field(default=10.0, gt=0)
    max_retries: int = Field(default=3, ge=0, le=10)
    max_wait_seconds: float = Field(default=30.0, ge=0)
    resolve_transitions: list[str] = ["Resolve", "Resolve this issue", "Done"]
    resolution: str = "Done"
    internal_notes: bool = True  # work notes as internal comments (Service Management)
    verify_tls: bool = True


_SECRETS = {"servicenow": ("password",), "jira": ("api_token", "webhook_secret")}
_REQUIRED = {"password", "api_token"}


def load_settings(kind: str, model: type[Settings], table: dict[str, Any]) -> Settings:
    """``model`` from a configuration table, its secrets read from the environment."""
    values = dict(table)
    for secret in _SECRETS[kind]:
        if secret in values:
            raise ConfigError(
                f"tickets.{kind}.{secret}: secrets never go in the configuration file; put "
                f"it in an environment variable and name it in {secret}_env"
            )
        variable = values.pop(f"{secret}_env", None)
        if variable is None:
            if secret in _REQUIRED:
                raise ConfigError(
                    f"tickets.{kind}.{secret}_env: name the environment variable holding it"
                )
            continue
        value = os.environ.get(str(variable))
        if not value:
            raise ConfigError(
                f"tickets.{kind}.{secret}_env: environment variable {variable} is not set"
            )
        values[secret] = value
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        details = "; ".join(
            f"tickets.{kind}.{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
            for error in exc.errors(include_url=False, include_input=False)
        )
        raise ConfigError(f"invalid tickets settings: {details}") from exc
