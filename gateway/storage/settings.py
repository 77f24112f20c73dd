"""The ``[storage]`` table: where durable state lives.

``backend = "sqlite"`` (the default) keeps each store in the file its own table names
(``[approvals] database``, ``[runtime] database``, ...).  ``backend = "postgresql"`` puts
every store in one PostgreSQL database, shared by every gateway process and host; the
connection string is a secret, read from the environment variable ``dsn_env`` names.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import ConfigDict, Field, model_validator

from gateway.secrets import EnvSecret, EnvSecrets

__all__ = ["StorageSettings"]


class StorageSettings(EnvSecrets):
    """``backend`` is where the stores keep their state: ``sqlite`` files (each store's own
    ``database`` path) or one ``postgresql`` database, whose connection string is read from
    the environment variable ``dsn_env`` names (required then).  ``pool_size`` connections
    per process; ``schema_prefix`` starts the name of each store's PostgreSQL schema
    (``gateway_approvals``, ``gateway_runtime``, ...); ``timeout_seconds`` bounds connecting,
    waiting for a pooled connection, each statement and each lock wait (unless the
    connection string sets its own ``statement_timeout``); ``lease_seconds`` is how long a
    lease on background work lasts unrenewed (docs/storage.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: Literal["sqlite", "postgresql"] = "sqlite"
    dsn: EnvSecret = Field(default=None, min_length=1)
    dsn_env: str | None = Field(default=None, min_length=1)
    pool_size: Annotated[int, Field(strict=True, ge=1, le=200)] = 10
    schema_prefix: str = Field(default="gateway_", pattern=r"^[a-z_][a-z0-9_]{0,39}$")
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    # How long a process holds a lease on background work without renewing it: another
    # process takes the work over this long after the holder died (docs/storage.md).
    lease_seconds: float = Field(default=30.0, ge=1, le=3600)

    @model_validator(mode="after")
    def _check_dsn(self) -> Self:
        if self.backend == "postgresql" and not self.names_secret("dsn"):
            raise ValueError(
                "dsn_env: name the environment variable holding the PostgreSQL connection "
                "string (backend is postgresql)"
            )
        if self.backend == "sqlite" and self.names_secret("dsn"):
            raise ValueError("dsn_env: only the postgresql backend uses a connection string")
        return self
