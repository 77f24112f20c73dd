"""Errors of resolution documentation and the knowledge base.

::

    GatewayError
    └── KnowledgeError             documentation or the knowledge base could not do it
        ├── TrailError             an execution record or session trail is unusable
        ├── TemplateError          a summary template is missing or does not render
        ├── ArticleError           an article file is invalid (names the file and line)
        ├── UnknownArticleError    no article has that id (or that version)
        ├── KnowledgeStoreError    the article folder or the search index cannot be used
        └── PublishError           a knowledge base refused an article

A knowledge base that cannot be reached raises ``gateway.errors.TargetUnavailableError``
instead, so that the runtime queues the publication and tries again later.  No message
holds a secret or a credential.
"""

from __future__ import annotations

from gateway.errors import ExitCode, GatewayError

__all__ = [
    "ArticleError",
    "KnowledgeError",
    "KnowledgeStoreError",
    "PublishError",
    "TemplateError",
    "TrailError",
    "UnknownArticleError",
]


class KnowledgeError(GatewayError):
    """Documentation or the knowledge base could not do what was asked."""


class TrailError(KnowledgeError):
    """An execution record or a session trail cannot be read at all."""

    exit_code = ExitCode.INVALID_INPUT


class TemplateError(KnowledgeError):
    """A summary template is missing, does not parse or does not render."""

    exit_code = ExitCode.INVALID_INPUT


class ArticleError(KnowledgeError):
    """An article file is invalid."""

    exit_code = ExitCode.INVALID_INPUT


class UnknownArticleError(KnowledgeError):
    """No article has this id (or this version)."""

    exit_code = ExitCode.INVALID_INPUT

    def __init__(self, article_id: str, version: int | None = None) -> None:
        self.article_id = article_id
        which = f"article {article_id!r}" + (f" version {version}" if version else "")
        super().__init__(f"unknown {which}")


class KnowledgeStoreError(KnowledgeError):
    """The article folder or the search index cannot be read or written."""

    exit_code = ExitCode.UNAVAILABLE


class PublishError(KnowledgeError):
    """A knowledge base refused the article (a 4xx answer, a malformed reply)."""
