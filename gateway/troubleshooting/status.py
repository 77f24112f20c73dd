"""The status file: what the ``monitoring`` and ``asset`` checks answer without a real
monitoring system or asset inventory (``docs/troubleshooting.md``).

The gateway ships one, ``gateway/defaults/status.yaml``; ``[troubleshooting] status_file``
names another.  It is read once when the engine is built: a file that is missing or does not
match ``StatusFile`` stops the start with a ``SourceError`` naming file and line.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from gateway.yaml_source import load_yaml_model

__all__ = ["AssetValue", "MonitoringAnswer", "StatusFile", "load_status"]

AssetValue = StrictStr | StrictBool | StrictInt | StrictFloat
"""One field of an asset record: text, a number, or true/false."""


class MonitoringAnswer(BaseModel):
    """The state of one monitoring query: ``ok`` and a word for it (``up``, ``down``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ok: StrictBool
    value: StrictStr = Field(min_length=1, max_length=200)


class StatusFile(BaseModel):
    """Monitoring answers by query, asset records by tag, host name or user."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    monitoring: dict[str, MonitoringAnswer] = {}
    assets: dict[str, dict[str, AssetValue]] = {}


def load_status(path: Path) -> StatusFile:
    """Parse and check the status file at ``path``; ``SourceError`` with file and line."""
    status, _ = load_yaml_model(path, StatusFile, "invalid status file")
    return status
