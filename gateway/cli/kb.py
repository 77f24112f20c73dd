"""``gateway kb``: resolution summaries, the knowledge base, search and publishing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from gateway.app import open_knowledge, open_services
from gateway.app.audit import audit_log_file
from gateway.cli.executions import exit_code, print_execution, runtime
from gateway.cli.output import emit, json_option
from gateway.config import GatewayConfig
from gateway.knowledge.article import search_document
from gateway.knowledge.audit_trail import AuditIndex, read_audit
from gateway.knowledge.base import KnowledgeBase
from gateway.knowledge.collect import collect_execution, collect_session
from gateway.knowledge.folder import render_article_file
from gateway.knowledge.sessions import session_trail
from gateway.knowledge.summary import Audience
from gateway.knowledge.trail import Trail

__all__ = ["kb"]


@contextmanager
def knowledge(config: GatewayConfig) -> Iterator[KnowledgeBase]:
    base = open_knowledge(config.knowledge)
    try:
        yield base
    finally:
        base.close()


def _trail(config: GatewayConfig, execution_id: str | None, session_id: str | None) -> Trail:
    """The trail of one execution, or of one troubleshooting session with the executions
    its actions started."""
    audit = AuditIndex()
    if config.audit.enabled:
        with audit_log_file(config) as log:  # an export when the log is in PostgreSQL
            audit = read_audit(log, config.privacy.key_store, config.storage)
    if session_id is None:
        if execution_id is None:
            raise click.UsageError("name an EXECUTION_ID or a --session")
        with runtime(config) as executor:
            record = executor.get(execution_id).as_json()
        return collect_execution(record, audit)
    with open_services(config) as parts:
        session, tree = parts.troubleshooting.session_and_tree(session_id)
        trail = session_trail(session, tree)
        records = {e: parts.runtime.get(e).as_json() for e in trail.executions}
    return collect_session(trail, records, audit)


_SESSION = click.option(
    "--session",
    "session_id",
    default=None,
    help="Document a troubleshooting session (and what its actions ran) instead.",
)


@click.group()
def kb() -> None:
    """Resolution summaries and the knowledge base."""


@kb.command()
@click.argument("execution_id", required=False)
@_SESSION
@click.option(
    "--audience",
    type=click.Choice([a.value for a in Audience]),
    default=Audience.TECHNICIAN.value,
    show_default=True,
    help="technician: every step and reason; user: plain language.",
)
@click.pass_obj
def summarize(
    config: GatewayConfig, execution_id: str | None, session_id: str | None, audience: str
) -> None:
    """Print the Markdown summary of an execution or a troubleshooting session (redacted;
    the same input always gives the same bytes)."""
    trail = _trail(config, execution_id, session_id)
    with knowledge(config) as base:
        click.echo(base.summarize(trail, Audience(audience)), nl=False)


@kb.command()
@click.argument("execution_id", required=False)
@_SESSION
@json_option
@click.pass_obj
def record(
    config: GatewayConfig, execution_id: str | None, session_id: str | None, as_json: bool
) -> None:
    """Document an execution or a troubleshooting session in the knowledge base: a new
    article, or a new version of the article for the same problem (--json: the change and
    the article's search document)."""
    trail = _trail(config, execution_id, session_id)
    with knowledge(config) as base:
        change = base.record(trail)
        document = base.search_document(change.article.id)

    def human(_: object) -> None:
        article = change.article
        click.echo(
            f"{change.change} article {article.id} version {article.version}: {article.title}"
        )
        click.echo(f"  file: {change.path}")

    emit({"change": change.change, "article": document}, as_json, human=human)


@kb.command()
@click.argument("article")
@click.option("--actor", required=True, help="Who publishes (a directory user id).")
@click.option(
    "--to",
    "destination",
    type=click.Choice(["folder", "servicenow", "confluence"]),
    default="folder",
    show_default=True,
    help="Where to publish it.",
)
@click.option("--ticket", default=None, help="The help desk ticket this serves.")
@json_option
@click.pass_obj
def publish(
    config: GatewayConfig,
    article: str,
    actor: str,
    destination: str,
    ticket: str | None,
    as_json: bool,
) -> None:
    """Publish ARTICLE through the guarded runtime (workflow kb-publish: permission
    kb.publish on article:ID, audited). Same exit codes as ``gateway run``; 5 when the
    knowledge base is down (the publication is queued)."""
    with runtime(config) as executor:
        started = executor.start(
            "kb-publish",
            {"article": article, "destination": destination},
            actor=actor,
            channel="cli",
            ticket=ticket,
        )
        execution = executor.advance(started.id)
    emit(execution, as_json, human=print_execution)
    raise click.exceptions.Exit(int(exit_code(execution)))


@kb.command()
@click.argument("query")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 100))
@json_option
@click.pass_obj
def search(config: GatewayConfig, query: str, limit: int, as_json: bool) -> None:
    """Search the knowledge base (any of the words; best first). Exit code 1 when
    nothing matches."""
    with knowledge(config) as base:
        hits = base.search(query, limit)
    found = [
        {"id": h.id, "title": h.title, "version": h.version, "score": h.score, "snippet": h.snippet}
        for h in hits
    ]
    emit(found, as_json, human=_print_hits)
    if not hits:
        raise click.exceptions.Exit(1)


def _print_hits(found: list[dict[str, Any]]) -> None:
    for hit in found:
        line = f"{hit['score']:8.3f}  {hit['id']}  v{hit['version']}  {hit['title']}"
        click.echo("\n          ".join(filter(None, [line, hit["snippet"]])))
    if not found:
        click.echo("no article matches", err=True)


@kb.command()
@click.argument("article")
@click.option("--version", type=click.IntRange(1), default=None, help="An earlier version.")
@json_option
@click.pass_obj
def show(config: GatewayConfig, article: str, version: int | None, as_json: bool) -> None:
    """Print an article (front matter and Markdown), or with --json its search document."""
    with knowledge(config) as base:
        found = base.get(article, version)
    emit(
        search_document(found.meta),
        as_json,
        human=lambda _: click.echo(render_article_file(found.meta, found.body), nl=False),
    )


@kb.command()
@json_option
@click.pass_obj
def reindex(config: GatewayConfig, as_json: bool) -> None:
    """Rebuild the search index from the article folder."""
    with knowledge(config) as base:
        count = base.reindex()
    emit({"indexed": count}, as_json, human=lambda _: click.echo(f"indexed {count} article(s)"))
