"""Settings of Alertmanager webhooks as a trigger source (``[tickets.alertmanager]``), in a
module that imports pydantic only, so that loading the configuration stays light."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AlertmanagerSettings"]


class AlertmanagerSettings(BaseModel):
    """``actor`` is the directory account alerts act as: the requester of the workflows
    they start, decided by policy like anyone.  A storm is bounded by the intake limits of
    ``[tickets]`` (``unauthenticated_per_minute``, ``unauthenticated_burst``), counted per
    alert; the alerts over them go to the dead letters."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    actor: str = Field(default="svc-gateway", min_length=1, max_length=128)
