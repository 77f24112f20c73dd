"""Settings of the HTTP API (``[api]`` in ``gateway.toml``): where it listens, its limits,
and how callers authenticate; in a module that imports pydantic only."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["ApiConfig"]


class ApiConfig(BaseModel):
    """The HTTP API (``docs/api.md``): where it listens, its limits, and how callers
    authenticate.  ``token_issuer`` unset means the gateway issues its own bearer tokens
    (signed with ``token_signing_key``); set it, with ``jwks_url`` and ``audience``, to
    accept the identity provider's tokens instead."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    request_timeout_seconds: float = Field(default=30.0, gt=0)
    api_keys: Path = Path("var/api-keys.db")
    token_signing_key: Path = Path("keys/api-tokens.key")
    token_issuer: str | None = None
    jwks_url: str | None = None
    audience: str = Field(default="it-support-gateway", min_length=1)
    token_lifetime_seconds: int = Field(default=3600, ge=60, le=86_400)
    clock_skew_seconds: int = Field(default=60, ge=0, le=600)

    @model_validator(mode="after")
    def _check_issuer(self) -> ApiConfig:
        if (self.token_issuer is None) != (self.jwks_url is None):
            raise ValueError("token_issuer and jwks_url go together: set both or neither")
        return self
