"""Settings of the ServiceNow and Jira connectors, from ``[tickets.servicenow]`` and
``[tickets.jira]``.  Secrets (the ServiceNow password, the Jira API token, the Jira
webhook secret) come from the environment variables their ``*_env`` keys name, read when
the connector is built (``gateway.secrets``); a secret written in the file is refused.
This module imports pydantic only, so that loading the configuration stays light.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from gateway.secrets import EnvSecret, EnvSecrets

__all__ = ["JiraSettings", "ServiceNowSettings"]


class ServiceNowSettings(EnvSecrets):
    """``[tickets.servicenow]``: the Table API, as ``username`` with the password named by
    ``password_env``."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    required_secrets = ("password",)

    instance_url: str = Field(pattern=r"^https?://[^\s/]+(:\d+)?/?$")
    username: str = Field(min_length=1)
    password: EnvSecret = None
    password_env: str | None = Field(default=None, min_length=1)
    table: str = Field(default="incident", pattern=r"^[a-z][a-z0-9_]{0,79}$")
    query: str = "active=true"  # an encoded query; the watermark clause is added to it
    page_size: int = Field(default=100, ge=1, le=10_000)
    max_records: int = Field(default=1000, ge=1)  # per polling round
    timeout_seconds: float = Field(default=10.0, gt=0)
    max_retries: int = Field(default=3, ge=0, le=10)
    max_wait_seconds: float = Field(default=30.0, ge=0)
    # references (caller, groups, configuration items) read by sys_id are kept this long,
    # "none found" too; at most reference_cache_size of them
    reference_ttl_seconds: float = Field(default=300.0, ge=0, le=86_400)
    reference_cache_size: int = Field(default=10_000, ge=1, le=1_000_000)
    resolved_state: str = "6"
    close_code: str = "Solution provided"
    verify_tls: bool = True


class JiraSettings(EnvSecrets):
    """``[tickets.jira]``: Jira Service Management, as ``email`` with the API token named by
    ``api_token_env``; ``webhook_secret_env`` names the secret that signs webhooks."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    required_secrets = ("api_token",)

    base_url: str = Field(pattern=r"^https?://[^\s/]+(:\d+)?(/[^\s]*)?$")
    email: str = Field(min_length=1)  # the account the API token belongs to
    api_token: EnvSecret = None
    api_token_env: str | None = Field(default=None, min_length=1)
    webhook_secret: EnvSecret = None
    webhook_secret_env: str | None = Field(default=None, min_length=1)
    # "cloud" (enhanced JQL search, REST v3), "datacenter" (REST v2 search) or "auto"
    # (read from /rest/api/2/serverInfo deploymentType on first use)
    edition: Literal["cloud", "datacenter", "auto"] = "auto"
    jql: str = Field(default="project = IT", min_length=1)  # bounded: never empty
    overlap_minutes: int = Field(default=5, ge=0, le=1440)  # each round looks back this far
    request_types: bool = True  # read each issue's Service Management request type
    page_size: int = Field(default=50, ge=1, le=100)
    max_records: int = Field(default=1000, ge=1)
    timeout_seconds: float = Field(default=10.0, gt=0)
    max_retries: int = Field(default=3, ge=0, le=10)
    max_wait_seconds: float = Field(default=30.0, ge=0)
    resolve_transitions: list[str] = Field(default=["Resolve", "Resolve this issue", "Done"])
    resolution: str = "Done"
    internal_notes: bool = True  # work notes as internal comments (Service Management)
    verify_tls: bool = True
