"""An article as XHTML, for knowledge bases that store HTML (ServiceNow ``text``,
Confluence storage format).  Every value is HTML-escaped; nothing from the article is
markup."""

from __future__ import annotations

from html import escape

from gateway.knowledge.article import ArticleMeta

__all__ = ["article_html"]


def _list(items: list[str], tag: str = "ul") -> str:
    return f"<{tag}>" + "".join(f"<li>{escape(item)}</li>" for item in items) + f"</{tag}>"


def article_html(article: ArticleMeta) -> str:
    parts = [f"<p>{escape(article.summary)}</p>"]
    if article.symptoms:
        parts.append("<h2>Symptoms</h2>" + _list(article.symptoms))
    parts.append("<h2>Resolution</h2>")
    if article.resolution:
        parts.append(f"<p>{escape(article.resolution)}</p>")
    if article.steps:
        parts.append(_list(article.steps, "ol"))
    if article.did_not_work:
        parts.append("<h2>What did not work</h2>" + _list(article.did_not_work))
    if article.follow_ups:
        parts.append("<h2>Follow-ups</h2>" + _list(article.follow_ups))
    record = [f"Article {article.id}, version {article.version}"]
    if article.tickets:
        record.append("Tickets: " + ", ".join(article.tickets))
    parts.append("<h2>Record</h2>" + _list(record))
    return "".join(parts)
