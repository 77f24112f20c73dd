"""The settings of ServiceNow as a change calendar source:
``[changes.servicenow]`` in the configuration file (``docs/change-calendar.md``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import ConfigDict, Field

from gateway.secrets import EnvSecret, EnvSecrets

__all__ = ["ServiceNowChangeSettings"]


class ServiceNowChangeSettings(EnvSecrets):
    """ServiceNow's blackout and maintenance schedules (``cmn_schedule``, entries in
    ``cmn_schedule_span``), merged with the calendar file."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    required_secrets: ClassVar[tuple[str, ...]] = ("password",)

    instance_url: str = Field(pattern=r"^https?://[^\s/]+(:\d+)?/?$")
    username: str = Field(min_length=1)
    password: EnvSecret = None
    password_env: str | None = Field(default=None, pattern=r"^[A-Z_][A-Z0-9_]{0,127}$")
    # cmn_schedule.type values read as freezes and as maintenance windows
    blackout_types: tuple[str, ...] = Field(default=("blackout",), min_length=1)
    maintenance_types: tuple[str, ...] = Field(default=("maintenance",), min_length=1)
    # schedules are read again after this long; a failed read is retried after it too
    cache_seconds: float = Field(default=60.0, ge=0, le=3600)
    timeout_seconds: float = Field(default=10.0, gt=0)
    max_retries: int = Field(default=2, ge=0, le=10)
    max_wait_seconds: float = Field(default=10.0, ge=0)
    verify_tls: bool = True
