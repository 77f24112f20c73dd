"""The runtime's settings: who acts for the gateway, how often and how long to retry.

The same fields are the ``[runtime]`` table of ``gateway.toml`` (``gateway.config``'s
``RuntimeConfig`` adds where the runtime keeps its files); this module imports pydantic
only.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["RuntimeSettings"]


class RuntimeSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    system_actor: str = Field(default="svc-gateway", min_length=1)  # runs automatic revocations
    max_attempts: int = Field(default=5, ge=1)  # per step, for a target system that is down
    backoff_seconds: float = Field(default=2.0, gt=0)  # first wait; doubles per attempt
    max_backoff_seconds: float = Field(default=300.0, gt=0)
    workers: int = Field(default=8, ge=1)  # steps run at the same time
