"""Knowledge bases an article is published to, each behind ``KnowledgeDestination``.

The embedded folder is always there (publishing to it marks the article published);
``ServiceNowKnowledge`` writes ``kb_knowledge`` records through the Table API and
``ConfluenceSpace`` writes pages through the REST content API.  A destination that cannot
be reached raises ``TargetUnavailableError`` (the runtime queues the publication); one
that refuses raises ``PublishError``.
"""

from __future__ import annotations

from typing import Protocol

from gateway.knowledge.article import ArticleMeta, PublishedCopy

__all__ = ["KnowledgeDestination"]


class KnowledgeDestination(Protocol):
    """Somewhere articles are published."""

    name: str

    def publish(self, article: ArticleMeta) -> PublishedCopy:
        """Create or update the article there (idempotent: the same version twice is
        one update); the copy says under which id and at which URL it is."""
        ...

    def close(self) -> None: ...
