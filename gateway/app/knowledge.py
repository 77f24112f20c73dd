"""The knowledge bases ``[knowledge.servicenow]`` and ``[knowledge.confluence]`` configure.

Secrets come from environment variables named in the file (``password_env`` or
``token_env``), read here, never from the file itself; a variable that is not set is a
``ConfigError`` naming the variable, not its value.
"""

from __future__ import annotations

from gateway.config import KnowledgeConfig
from gateway.knowledge.base import KnowledgeBase
from gateway.knowledge.connectors import KnowledgeDestination
from gateway.knowledge.connectors.confluence import ConfluenceSpace
from gateway.knowledge.connectors.servicenow import ServiceNowKnowledge

__all__ = ["open_destinations", "open_knowledge"]


def open_destinations(config: KnowledgeConfig) -> dict[str, KnowledgeDestination]:
    """The configured outside knowledge bases, by name (``servicenow``, ``confluence``)."""
    destinations: dict[str, KnowledgeDestination] = {}
    if config.servicenow is not None:
        settings = config.servicenow.with_secrets("knowledge.servicenow")
        destinations["servicenow"] = ServiceNowKnowledge(settings)
    if config.confluence is not None:
        space = config.confluence.with_secrets("knowledge.confluence")
        destinations["confluence"] = ConfluenceSpace(space)
    return destinations


def open_knowledge(config: KnowledgeConfig) -> KnowledgeBase:
    """The knowledge base ``[knowledge]`` describes, with its outside destinations."""
    return KnowledgeBase.open(config, open_destinations(config))
