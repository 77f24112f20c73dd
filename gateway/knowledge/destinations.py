"""The knowledge bases ``[knowledge.servicenow]`` and ``[knowledge.confluence]`` configure.

Secrets come from environment variables named in the file (``password_env`` or
``token_env``), never from the file itself; a variable that is not set is a
``ConfigError`` naming the variable, not its value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from gateway.config import KnowledgeConfig
from gateway.errors import ConfigError
from gateway.knowledge.base import KnowledgeBase
from gateway.knowledge.connectors import KnowledgeDestination
from gateway.knowledge.connectors.confluence import ConfluenceSettings, ConfluenceSpace
from gateway.knowledge.connectors.http import secret_from_env
from gateway.knowledge.connectors.servicenow import (
    ServiceNowKnowledge,
    ServiceNowKnowledgeSettings,
)

__all__ = ["open_destinations", "open_knowledge"]

Settings = TypeVar("Settings", bound=BaseModel)


def _settings(model: type[Settings], section: str, table: dict[str, Any]) -> Settings:
    values = table
    for secret in ("password", "token"):
        values = secret_from_env(section, values, secret)
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        details = "; ".join(
            f"{section}.{'.'.join(str(p) for p in error['loc']) or '(table)'}: {error['msg']}"
            for error in exc.errors(include_url=False, include_input=False)
        )
        raise ConfigError(f"invalid knowledge settings: {details}") from exc


def open_destinations(config: KnowledgeConfig) -> dict[str, KnowledgeDestination]:
    """The configured outside knowledge bases, by name (``servicenow``, ``confluence``)."""
    makers: list[tuple[str, dict[str, Any] | None, Callable[[dict[str, Any]], Any]]] = [
        (
            "servicenow",
            config.servicenow,
            lambda t: ServiceNowKnowledge(
                _settings(ServiceNowKnowledgeSettings, "knowledge.servicenow", t)
            ),
        ),
        (
            "confluence",
            config.confluence,
            lambda t: ConfluenceSpace(_settings(ConfluenceSettings, "knowledge.confluence", t)),
        ),
    ]
    return {name: make(table) for name, table, make in makers if table is not None}


def open_knowledge(config: KnowledgeConfig) -> KnowledgeBase:
    """The knowledge base ``[knowledge]`` describes, with its outside destinations."""
    return KnowledgeBase.open(config, open_destinations(config))
