"""Confluence: articles as pages through the REST content API.

A new page is ``POST /rest/api/content`` with ``type: page``, the space key, the title
and the article as ``body.storage`` (XHTML).  An update reads the page's current version
(``GET /rest/api/content/{id}?expand=version``) and ``PUT``s the page with the version
number one higher, as Confluence requires.  Before creating, a page with the same title
in the space is looked up, so a publication run again after a crash updates it instead of
failing on the duplicate title.
"""

from __future__ import annotations

from typing import Any

import httpx

from gateway.http import open_client
from gateway.knowledge.article import ArticleMeta, PublishedCopy
from gateway.knowledge.connectors.html import article_html
from gateway.knowledge.connectors.http import call_json, knowledge_http
from gateway.knowledge.connectors.settings import ConfluenceSettings
from gateway.knowledge.errors import PublishError

__all__ = ["ConfluenceSettings", "ConfluenceSpace"]

CONTENT = "/rest/api/content"
SYSTEM = "confluence"


def _version(page: dict[str, Any]) -> int:
    version = page.get("version")
    number = version.get("number") if isinstance(version, dict) else None
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        raise PublishError(f"{SYSTEM}: the page has no version number")
    return number


class ConfluenceSpace:
    """Publishes articles as pages of one Confluence space."""

    name = "confluence"

    def __init__(
        self, settings: ConfluenceSettings, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.settings = settings
        client = open_client(
            base_url=str(settings.base_url),
            basic=(settings.username, settings.secret("token")),
            timeout=settings.timeout_seconds,
            transport=transport,
        )
        self._http = knowledge_http(SYSTEM, client)

    def _page(self, article: ArticleMeta, version: int | None) -> dict[str, Any]:
        page: dict[str, Any] = {
            "type": "page",
            "title": article.title,
            "space": {"key": self.settings.space_key},
            "body": {"storage": {"value": article_html(article), "representation": "storage"}},
        }
        if version is not None:
            page["version"] = {"number": version}
        elif self.settings.parent_page is not None:
            page["ancestors"] = [{"id": self.settings.parent_page}]
        return page

    def _find(self, article: ArticleMeta) -> dict[str, Any] | None:
        params = {"spaceKey": self.settings.space_key, "title": article.title, "expand": "version"}
        body = call_json(self._http, "GET", CONTENT, params=params)
        results = body.get("results")
        if isinstance(results, list) and results and isinstance(results[0], dict):
            return results[0]
        return None

    def publish(self, article: ArticleMeta) -> PublishedCopy:
        earlier = article.published.get(self.name)
        if earlier is not None:
            page: dict[str, Any] | None = call_json(
                self._http, "GET", f"{CONTENT}/{earlier.id}", params={"expand": "version"}
            )
        else:
            page = self._find(article)
        if page is None:
            result = call_json(self._http, "POST", CONTENT, json=self._page(article, None))
        else:
            page_id = str(page.get("id") or "")
            if not page_id.isdigit():
                raise PublishError(f"{SYSTEM}: the page has no id")
            body = self._page(article, _version(page) + 1) | {"id": page_id}
            result = call_json(self._http, "PUT", f"{CONTENT}/{page_id}", json=body)
        page_id = str(result.get("id") or "")
        if not page_id:
            raise PublishError(f"{SYSTEM}: the answer has no page id")
        links = result.get("_links")
        url = None
        if isinstance(links, dict) and links.get("base") and links.get("webui"):
            url = f"{links['base']}{links['webui']}"
        return PublishedCopy(
            id=page_id, version=article.version, remote_version=_version(result), url=url
        )

    def close(self) -> None:
        self._http.close()
