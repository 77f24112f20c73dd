"""ServiceNow Knowledge: articles as ``kb_knowledge`` records through the Table API.

A record carries ``short_description`` (the title), ``text`` (the article as HTML),
``kb_knowledge_base`` (the sys_id of the knowledge base), ``workflow_state``
(``published`` by default, or ``draft`` for review there) and ``meta`` (the keywords and
``gateway-article:<id>``, by which a record this gateway made is found again).  A first
publication looks the marker up before creating, so a publication that is run again after
a crash updates the record instead of making a second one; later ones ``PATCH`` the
record whose sys_id the article keeps.
"""

from __future__ import annotations

from typing import Any

import httpx

from gateway.http import open_client
from gateway.knowledge.article import ArticleMeta, PublishedCopy
from gateway.knowledge.connectors.html import article_html
from gateway.knowledge.connectors.http import call_json, knowledge_http
from gateway.knowledge.connectors.settings import ServiceNowKnowledgeSettings
from gateway.knowledge.errors import PublishError

__all__ = ["ServiceNowKnowledge", "ServiceNowKnowledgeSettings"]

TABLE = "/api/now/table/kb_knowledge"
SYSTEM = "servicenow knowledge"


def _marker(article: ArticleMeta) -> str:
    return f"gateway-article:{article.id}"


class ServiceNowKnowledge:
    """Publishes articles to one ServiceNow knowledge base."""

    name = "servicenow"

    def __init__(
        self, settings: ServiceNowKnowledgeSettings, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.settings = settings
        self._base = str(settings.instance_url).rstrip("/")
        basic = None
        if settings.token is None:  # then the settings hold a username and password
            basic = (str(settings.username), settings.secret("password"))
        client = open_client(
            base_url=self._base,
            token=settings.token,
            basic=basic,
            timeout=settings.timeout_seconds,
            transport=transport,
        )
        self._http = knowledge_http(SYSTEM, client)

    def _fields(self, article: ArticleMeta) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "short_description": article.title,
            "text": article_html(article),
            "kb_knowledge_base": self.settings.knowledge_base,
            "workflow_state": self.settings.workflow_state,
            "meta": " ".join([*article.keywords, _marker(article)]),
        }
        if self.settings.category is not None:
            fields["kb_category"] = self.settings.category
        return fields

    def _find(self, article: ArticleMeta) -> str | None:
        query = f"kb_knowledge_base={self.settings.knowledge_base}^metaLIKE{_marker(article)}"
        body = call_json(
            self._http,
            "GET",
            TABLE,
            params={"sysparm_query": query, "sysparm_limit": "1", "sysparm_fields": "sys_id"},
        )
        found = body.get("result")
        if isinstance(found, list) and found and isinstance(found[0], dict):
            return str(found[0].get("sys_id") or "") or None
        return None

    def publish(self, article: ArticleMeta) -> PublishedCopy:
        earlier = article.published.get(self.name)
        sys_id = earlier.id if earlier is not None else self._find(article)
        fields = self._fields(article)
        if sys_id is None:
            body = call_json(self._http, "POST", TABLE, json=fields)
        else:
            body = call_json(self._http, "PATCH", f"{TABLE}/{sys_id}", json=fields)
        record = body.get("result")
        if not isinstance(record, dict) or not record.get("sys_id"):
            raise PublishError(f"{SYSTEM}: the answer has no result.sys_id")
        number = str(record.get("number") or "")
        url = f"{self._base}/kb_view.do?sysparm_article={number}" if number else None
        return PublishedCopy(id=str(record["sys_id"]), version=article.version, url=url)

    def close(self) -> None:
        self._http.close()
