"""The knowledge base: summaries, articles that grow by version, search and suggestions.

``record`` turns a (redacted) trail into an article: it drafts one, looks for an article
of the same problem (same signature, similar enough words: ``gateway.knowledge.signature``)
and either writes a new version of that article or creates a new one; recording the same
execution or session again changes nothing.  Everything goes through the redactor first,
so nothing personal or secret reaches a file, the index or another system.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gateway.knowledge.article import ArticleMeta, PublishedCopy, draft_article, merge_article
from gateway.knowledge.article import search_document as make_document
from gateway.knowledge.connectors import KnowledgeDestination
from gateway.knowledge.errors import PublishError
from gateway.knowledge.folder import ArticleFile, ArticleFolder
from gateway.knowledge.index import SearchHit, SearchIndex
from gateway.knowledge.redaction import RedactionOptions, Redactor
from gateway.knowledge.settings import KnowledgeConfig
from gateway.knowledge.signature import DEFAULT_THRESHOLD, similarity
from gateway.knowledge.summary import Audience, SummaryTemplates
from gateway.knowledge.trail import Trail

__all__ = ["FOLDER", "ArticleChange", "KnowledgeBase", "Suggestion", "redaction_options"]

FOLDER = "folder"


@dataclass(frozen=True, slots=True)
class ArticleChange:
    article: ArticleMeta
    change: Literal["created", "updated", "unchanged"]
    path: Path
    similarity: float | None = None  # to the article it updated


@dataclass(frozen=True, slots=True)
class Suggestion:
    """An article that may answer a new ticket."""

    article: str
    title: str
    version: int
    score: float
    snippet: str


def redaction_options(config: KnowledgeConfig) -> RedactionOptions:
    return RedactionOptions(
        emails=config.redact_emails,
        phone_numbers=config.redact_phone_numbers,
        names=config.redact_names,
        ip_addresses=config.redact_ip_addresses,
        known_names=tuple(config.names),
    )


class KnowledgeBase:
    """Articles in a folder, indexed for search, published to the configured places."""

    def __init__(
        self,
        folder: ArticleFolder,
        index: SearchIndex,
        *,
        templates: SummaryTemplates | None = None,
        redactor: Redactor | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        destinations: Mapping[str, KnowledgeDestination] | None = None,
    ) -> None:
        self.folder = folder
        self.index = index
        self.templates = templates or SummaryTemplates()
        self.redactor = redactor or Redactor()
        self.threshold = threshold
        self.destinations = dict(destinations or {})
        self._lock = threading.Lock()
        self._last: tuple[Trail, Trail] | None = None
        if index.count() == 0 and folder.ids():
            self.reindex()

    @classmethod
    def open(
        cls,
        config: KnowledgeConfig,
        destinations: Mapping[str, KnowledgeDestination] | None = None,
    ) -> KnowledgeBase:
        """The knowledge base ``[knowledge]`` describes (destinations: see
        ``gateway.app.open_destinations``)."""
        return cls(
            ArticleFolder(config.articles),
            SearchIndex(config.index),
            templates=SummaryTemplates(config.templates),
            redactor=Redactor(redaction_options(config)),
            threshold=config.similarity_threshold,
            destinations=destinations,
        )

    # -- summaries -------------------------------------------------------------------

    def redact(self, trail: Trail) -> Trail:
        """``trail`` redacted; the trail just summarised is not redacted twice."""
        if self._last is not None and self._last[0] is trail:
            return self._last[1]
        redacted = self.redactor.trail(trail)
        self._last = (trail, redacted)
        return redacted

    def summarize(self, trail: Trail, audience: Audience = Audience.TECHNICIAN) -> str:
        """The redacted Markdown summary of ``trail`` for ``audience``."""
        return self.templates.summary(self.redact(trail), audience)

    def body(self, article: ArticleMeta) -> str:
        """An article's Markdown body, from the ``article.md.j2`` template."""
        return self.templates.render("article.md.j2", {"article": article.model_dump()})

    # -- articles --------------------------------------------------------------------

    def _save(self, article: ArticleMeta) -> Path:
        path = self.folder.save(article, self.body(article))
        self.index.put(make_document(article), article.match_words)
        return path

    def record(self, trail: Trail) -> ArticleChange:
        """Document ``trail`` in the knowledge base: a new article or a new version."""
        draft = draft_article(self.redact(trail))
        with self._lock:
            words = draft.match_words
            ranked = sorted(
                (
                    (similarity(words, found.words), found.id)
                    for found in self.index.with_signature(draft.signature)
                ),
                key=lambda item: (-item[0], item[1]),
            )
            if ranked and ranked[0][0] >= self.threshold:
                score, article_id = ranked[0]
                current = self.folder.load(article_id).meta
                merged = merge_article(current, draft)
                if merged is None:
                    path = self.folder.folder / f"{article_id}.md"
                    return ArticleChange(current, "unchanged", path, score)
                return ArticleChange(merged, "updated", self._save(merged), score)
            unique = draft.id
            suffix = 2
            while self.folder.exists(unique):
                unique = f"{draft.id[:95]}-{suffix}"
                suffix += 1
            created = draft.model_copy(update={"id": unique})
            return ArticleChange(created, "created", self._save(created))

    def get(self, article_id: str, version: int | None = None) -> ArticleFile:
        return self.folder.load(article_id, version)

    def search_document(self, article_id: str) -> dict[str, object]:
        return make_document(self.folder.load(article_id).meta)

    def reindex(self) -> int:
        """Rebuild the index from the folder; the number of articles indexed."""
        self.index.clear()
        count = 0
        for found in self.folder:
            self.index.put(make_document(found.meta), found.meta.match_words)
            count += 1
        return count

    # -- search ----------------------------------------------------------------------

    def search(self, query: str, limit: int = 10) -> list[SearchHit]:
        return self.index.search(query, limit)

    def suggest(self, text: str, limit: int = 3) -> list[Suggestion]:
        """Articles that may resolve a new ticket whose text is ``text``, best first."""
        return [
            Suggestion(hit.id, hit.title, hit.version, hit.score, hit.snippet)
            for hit in self.index.search(self.redactor.text(text), limit)
        ]

    # -- publishing ------------------------------------------------------------------

    def publish(self, article_id: str, destination: str = FOLDER) -> PublishedCopy:
        """Publish the current version of an article (called by the ``kb.publish`` action,
        never directly: publishing is a privileged action)."""
        with self._lock:
            found = self.folder.load(article_id)
            article = found.meta
            if destination == FOLDER:
                path = self.folder.folder / f"{article.id}.md"
                copy = PublishedCopy(
                    id=article.id, version=article.version, url=path.resolve().as_uri()
                )
            elif destination in self.destinations:
                copy = self.destinations[destination].publish(article)
            else:
                known = ", ".join(sorted([FOLDER, *self.destinations]))
                raise PublishError(f"{destination} is not configured (configured: {known})")
            published = {**article.published, destination: copy}
            updated = article.model_copy(update={"status": "published", "published": published})
            self._save(updated)
            return copy

    def close(self) -> None:
        for destination in self.destinations.values():
            destination.close()
        self.index.close()
