"""Settings of the outside knowledge bases (``[knowledge.servicenow]``,
``[knowledge.confluence]``), in a module that imports pydantic only, so that loading the
configuration does not load the connectors.

Passwords and tokens are read from the environment variables named by ``password_env`` and
``token_env`` when the connector is built (``gateway.secrets``), never from the file.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, HttpUrl, model_validator

from gateway.secrets import EnvSecret, EnvSecrets

__all__ = ["ConfluenceSettings", "ServiceNowKnowledgeSettings"]


class ServiceNowKnowledgeSettings(EnvSecrets):
    """``[knowledge.servicenow]``: a username with a password, or a token."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    instance_url: HttpUrl
    knowledge_base: str = Field(min_length=1, max_length=64)  # sys_id of kb_knowledge_base
    workflow_state: Literal["draft", "review", "published"] = "published"
    category: str | None = None  # sys_id of kb_category
    username: str | None = None
    password: EnvSecret = None
    password_env: str | None = Field(default=None, min_length=1)
    token: EnvSecret = None
    token_env: str | None = Field(default=None, min_length=1)
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    @model_validator(mode="after")
    def _one_credential(self) -> ServiceNowKnowledgeSettings:
        password, token = self.names_secret("password"), self.names_secret("token")
        if (self.username is None) != (not password):
            raise ValueError("username and password go together")
        if password == token:
            raise ValueError("set either username and password_env, or token_env")
        return self


class ConfluenceSettings(EnvSecrets):
    """``[knowledge.confluence]``: a user and its API token."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    required_secrets = ("token",)

    base_url: HttpUrl  # e.g. https://example.atlassian.net/wiki
    space_key: str = Field(pattern=r"^[A-Za-z0-9~]{1,255}$")
    username: str = Field(min_length=1)
    token: EnvSecret = None
    token_env: str | None = Field(default=None, min_length=1)
    parent_page: str | None = Field(default=None, pattern=r"^[0-9]{1,32}$")
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
