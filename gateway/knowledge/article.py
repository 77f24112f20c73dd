"""Knowledge base articles: drafted from a trail, merged into a new version, searchable.

An article is one recurring resolution.  Its front matter (``ArticleMeta``) is what the
folder store keeps as YAML above the Markdown body, and what the search document is made
from; see docs/knowledge.md for every field.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.knowledge.signature import keywords, problem_signature, slug, words
from gateway.knowledge.text import one_line
from gateway.knowledge.trail import EventKind, Trail, TrailEvent, merge_text

__all__ = [
    "MAX_ARTICLE_STEPS",
    "ArticleMeta",
    "PublishedCopy",
    "draft_article",
    "merge_article",
    "search_document",
]

MAX_ARTICLE_STEPS = 200
_ID = r"^[a-z0-9][a-z0-9-]{0,99}$"
_LIST = 1000


class PublishedCopy(BaseModel):
    """Where a version of the article was published, and under which id there."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=256)
    version: int = Field(ge=1)  # the article version that was published
    remote_version: int | None = Field(default=None, ge=1)
    url: str | None = Field(default=None, max_length=2000)


class ArticleMeta(BaseModel):
    """An article's front matter."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=_ID)
    title: str = Field(min_length=1, max_length=200)
    version: int = Field(ge=1)
    signature: str = Field(min_length=1, max_length=300)
    status: Literal["draft", "published"] = "draft"
    summary: str = Field(default="", max_length=4000)
    symptoms: list[str] = Field(default_factory=list, max_length=_LIST)
    keywords: list[str] = Field(default_factory=list, max_length=_LIST)
    categories: list[str] = Field(default_factory=list, max_length=_LIST)
    steps: list[str] = Field(default_factory=list, max_length=_LIST)
    did_not_work: list[str] = Field(default_factory=list, max_length=_LIST)
    resolution: str = Field(default="", max_length=4000)
    follow_ups: list[str] = Field(default_factory=list, max_length=_LIST)
    tickets: list[str] = Field(default_factory=list, max_length=10_000)
    executions: list[str] = Field(default_factory=list, max_length=10_000)
    sessions: list[str] = Field(default_factory=list, max_length=10_000)
    occurrences: int = Field(default=1, ge=1)
    created: str | None = None  # when the first documented resolution started
    updated: str | None = None  # when the latest one finished
    published: dict[str, PublishedCopy] = Field(default_factory=dict)

    @property
    def match_words(self) -> set[str]:
        """The words compared to decide whether a resolution is this problem."""
        return set(words([self.title, *self.symptoms, *self.keywords]))


def _step_line(event: TrailEvent) -> str:
    target = dict(event.data).get("target", "")
    if event.kind is EventKind.DIAGNOSTIC:
        on = f" on {target}" if target else ""
        return one_line(f"Check {event.name}{on}: {event.state}. {event.detail}".strip())
    if event.kind is EventKind.QUESTION:
        return one_line(f"Ask: {event.name} (answer: {event.detail or 'none'})")
    if event.kind is EventKind.ESCALATION:
        return one_line(f"Escalate: {event.name}. {event.detail}".strip())
    detail = f": {event.detail}" if event.detail else ""
    return one_line(f"Run {event.name}{detail}")


def _resolution_steps(trail: Trail) -> tuple[list[str], list[str]]:
    useful: list[str] = []
    failed: list[str] = []
    for event in trail.events:
        if event.kind in (EventKind.WAIT, EventKind.NOTE, EventKind.COMPENSATION):
            continue
        if event.failed:
            failed.append(_step_line(event))
        elif event.state not in ("skipped", "pending"):
            useful.append(_step_line(event))
    steps = list(merge_text(tuple(useful)))
    if len(steps) > MAX_ARTICLE_STEPS:
        more = len(steps) - MAX_ARTICLE_STEPS
        steps = [*steps[:MAX_ARTICLE_STEPS], f"... and {more} more steps (see the records)"]
    return steps, list(merge_text(tuple(failed)))[:MAX_ARTICLE_STEPS]


def _summary(trail: Trail) -> str:
    fix = f" Fixed by {trail.fix}." if trail.fix else ""
    outcome = {"resolved": "Resolved", "escalated": "Escalated"}.get(trail.outcome, "Not resolved")
    problem = one_line(trail.problem, 600) or trail.title
    return one_line(f"{problem} {outcome}.{fix}", 2000)


def draft_article(trail: Trail, article_id: str | None = None) -> ArticleMeta:
    """Version 1 of the article for ``trail`` (already redacted)."""
    steps, failed = _resolution_steps(trail)
    symptoms = list(trail.symptoms) or ([one_line(trail.problem, 200)] if trail.problem else [])
    return ArticleMeta(
        id=article_id or (slug(f"{trail.category} {trail.title}")[:100].strip("-") or "article"),
        title=one_line(trail.title, 200) or "Untitled resolution",
        version=1,
        signature=problem_signature(trail.category, trail.fix),
        summary=_summary(trail),
        symptoms=symptoms,
        keywords=keywords([trail.title, trail.problem, *trail.symptoms, trail.fix]),
        categories=[trail.category],
        steps=steps,
        did_not_work=failed,
        resolution=one_line(trail.fix, 2000),
        follow_ups=list(trail.follow_ups),
        tickets=list(trail.tickets),
        executions=list(trail.executions),
        sessions=list(trail.sessions),
        created=trail.started_at,
        updated=trail.finished_at,
    )


def _union(first: Iterable[str], second: Iterable[str], limit: int = _LIST) -> list[str]:
    return list(merge_text(tuple(first), tuple(second)))[:limit]


def merge_article(current: ArticleMeta, new: ArticleMeta) -> ArticleMeta | None:
    """``current`` updated with another resolution of the same problem, as the next
    version; ``None`` when ``new`` documents nothing ``current`` does not already hold
    (the same execution or session recorded again)."""
    sources = set(current.executions) | set(current.sessions)
    if set(new.executions) | set(new.sessions) <= sources and sources:
        return None
    symptoms = _union(current.symptoms, new.symptoms, 100)
    return current.model_copy(
        update={
            "version": current.version + 1,
            "status": "draft",
            "summary": new.summary,
            "symptoms": symptoms,
            "keywords": keywords([current.title, *symptoms, *current.keywords, *new.keywords]),
            "categories": _union(current.categories, new.categories),
            "steps": new.steps,
            "did_not_work": _union(new.did_not_work, current.did_not_work, 100),
            "resolution": new.resolution,
            "follow_ups": new.follow_ups,
            "tickets": _union(current.tickets, new.tickets, 10_000),
            "executions": _union(current.executions, new.executions, 10_000),
            "sessions": _union(current.sessions, new.sessions, 10_000),
            "occurrences": current.occurrences + 1,
            "updated": max(current.updated or "", new.updated or "") or None,
        }
    )


def search_document(article: ArticleMeta) -> dict[str, Any]:
    """The JSON search document of an article (format in docs/knowledge.md)."""
    links = [{"rel": "ticket", "id": ticket} for ticket in article.tickets]
    links += [{"rel": "execution", "id": execution} for execution in article.executions]
    links += [{"rel": "session", "id": session} for session in article.sessions]
    return {
        "id": article.id,
        "version": article.version,
        "title": article.title,
        "summary": article.summary,
        "symptoms": list(article.symptoms),
        "keywords": list(article.keywords),
        "categories": list(article.categories),
        "steps": list(article.steps),
        "resolution": article.resolution,
        "signature": article.signature,
        "status": article.status,
        "updated": article.updated,
        "links": links,
    }
