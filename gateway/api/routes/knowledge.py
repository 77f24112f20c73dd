"""The knowledge base: search, suggestions for a new ticket, articles and their search
documents.

Read-only, for people and services with ``knowledge:read``.  Publishing is not here: it
is a privileged action, started as the ``kb-publish`` workflow through ``/v1/executions``
like every other one.  Ticket intake posts a new ticket's text to
``/v1/knowledge/suggestions`` and gets the articles that may resolve it, best first.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from gateway.api.openapi import ERRORS_OF_BODIES, ERRORS_OF_CALLERS, problem_responses
from gateway.api.problems import ApiProblem
from gateway.api.security import Requires
from gateway.api.services import ApiServices, get_services
from gateway.callers.caller import Caller
from gateway.callers.scopes import KNOWLEDGE_READ
from gateway.knowledge.article import search_document
from gateway.knowledge.base import KnowledgeBase
from gateway.knowledge.errors import UnknownArticleError

__all__ = ["ArticleView", "SearchHitView", "SuggestionRequest", "router"]

router = APIRouter(tags=["knowledge"])

_ARTICLE_ID = r"^[a-z0-9][a-z0-9-]{0,99}$"


class SearchHitView(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    title: str
    version: int
    score: float  # higher is better
    snippet: str


class SuggestionRequest(BaseModel):
    """A new ticket's text (its subject and description)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str = Field(min_length=1, max_length=20_000)
    limit: int = Field(default=3, ge=1, le=20)


class ArticleView(BaseModel):
    """An article: its search document and its Markdown body."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    document: dict[str, JsonValue]
    markdown: str


def _knowledge(services: ApiServices) -> KnowledgeBase:
    if services.knowledge is None:
        raise ApiProblem(
            404, "knowledge-disabled", "Knowledge base is off", "this gateway has no knowledge base"
        )
    return services.knowledge


_Services = Annotated[ApiServices, Depends(get_services)]
_Reader = Annotated[Caller, Depends(Requires(KNOWLEDGE_READ))]


@router.get("/v1/knowledge/search", responses=problem_responses(*ERRORS_OF_CALLERS, 404, 422))
def search(
    caller: _Reader,
    services: _Services,
    q: Annotated[str, Query(min_length=1, max_length=1000)],
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> list[SearchHitView]:
    """Articles matching any of the words of ``q``, best first."""
    return [
        SearchHitView(id=h.id, title=h.title, version=h.version, score=h.score, snippet=h.snippet)
        for h in _knowledge(services).search(q, limit)
    ]


@router.post(
    "/v1/knowledge/suggestions",
    responses=problem_responses(*ERRORS_OF_CALLERS, *ERRORS_OF_BODIES, 404),
)
def suggestions(
    body: SuggestionRequest, caller: _Reader, services: _Services
) -> list[SearchHitView]:
    """Articles that may resolve a new ticket with this text, best first."""
    return [
        SearchHitView(
            id=s.article, title=s.title, version=s.version, score=s.score, snippet=s.snippet
        )
        for s in _knowledge(services).suggest(body.text, body.limit)
    ]


@router.get(
    "/v1/knowledge/articles/{article_id}", responses=problem_responses(*ERRORS_OF_CALLERS, 404)
)
def article(
    article_id: Annotated[str, Path(pattern=_ARTICLE_ID)],
    caller: _Reader,
    services: _Services,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> ArticleView:
    """One article (the current version, or an earlier ``version``)."""
    try:
        found = _knowledge(services).get(article_id, version)
    except UnknownArticleError as exc:
        raise ApiProblem(404, "article-not-found", "No such article", str(exc)) from exc
    return ArticleView(document=search_document(found.meta), markdown=found.body)
